// The LMA's handover buffer at work (issue 6): an NFQUEUE the node owns, an ip6tables mangle PREROUTING
// rule per buffered home network prefix steering its downlink into that queue, and three threads:
//   receive  reads queued packets, HandoverBuffer decides hold or pass (pass = ACCEPT at once);
//   pacer    every millisecond releases what each flushing node's rate allows, expires old buffers;
//   rules    adds and removes the ip6tables rules (a process run, a few ms: never on the actor or receive path).
// The rules thread is the slow one: ~1,200 handovers/s (the 1 h soak at 4,000 PBUs/s) asked for more rule
// changes than it ran one ip6tables each, and its queue of closures grew by ~600 a second (the LMA's live heap
// 110 -> 360 MB in 20 min). So (1) it takes every change waiting and makes them in one ip6tables-restore run (a
// round's changes touch distinct prefixes; a change to a prefix already in the round waits for the next one, so
// the rules and the continuations happen in the order asked), knowing which rules are there because it alone
// adds and removes them; a failed round is made again change by change with ip6tables' checks; and (2) Begin
// buffers a node only while fewer than MaxPendingRuleWork changes wait; past it the node's downlink is not held
// (it goes where the routes say, as without buffering), counted (SkippedForRuleBacklog).
// Order of a buffering episode: rule added -> packets held -> new binding's route installed -> flush,
// paced, in order -> queue empty -> rule removed -> stragglers released -> done. Rules carry the comment
// "pmip6"; at start every rule a previous run left behind is removed.
using System.Collections.Concurrent;
using System.Diagnostics;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Linux;

public sealed class HandoverBuffering : IVerdicts, IDisposable
{
    private readonly NetfilterQueue _queue;
    private readonly Ip6TablesRules _rules;
    private readonly Action<string> _warn;
    private readonly BlockingCollection<RuleWork> _ruleWork = new();
    private readonly HashSet<Ipv6Prefix> _installed = []; // the rules thread's own: our rules in the table now
    private long _ruleRounds, _ruleRoundFallbacks;
    private long _lastFallbackWarning;

    /// <summary>One change asked of the rules thread: the node's rules added or removed, then <c>After</c>.</summary>
    private sealed record RuleWork(string MobileNodeId, Ipv6Prefix[] Prefixes, bool Add, Action? After)
    {
        /// <summary>As the kernel's rule shows them (host bits cleared), whoever asked.</summary>
        public Ipv6Prefix[] Prefixes { get; } = [.. Prefixes.Select(PrefixLengths.Normalize)];
    }

    /// <summary>Changes asked (a node's prefixes each) one round takes at most.</summary>
    private const int MaxRoundChanges = 1024;
    private readonly Thread _receiver, _pacer, _ruleWorker;
    private volatile bool _stopping;
    private int _disposed;
    private long _verdictErrors, _ruleErrors, _notIpv6, _parkedTotal, _parkedDropped, _skippedForRuleBacklog;
    private readonly int _maxPendingRuleWork;
    private int _pendingRuleWork;

    /// <summary>
    /// Held while an episode starts, ends or is discarded and its rule change is queued, so the rules thread makes the
    /// changes in the order the episodes changed. Without it a node de-registered again just as its flush emptied could
    /// see its new rule added before the old one's removal (the removal then took the new rule away, and the old
    /// completion ended the new episode: that handover's downlink went unbuffered).
    /// </summary>
    private readonly Lock _episodes = new();

    /// <summary>Rule changes that may wait for the rules thread before <see cref="Begin"/> holds no more nodes (a node's rules added or removed).</summary>
    public const int DefaultMaxPendingRuleWork = 256;

    // Downlink that a previous MAG returned (issue 6, closing the window before the de-registration reaches
    // us): parked here until the MN's queue rule is in place, then injected so it joins the queue.
    private const int MaxParked = 4096;
    private static readonly long ParkTicks = Stopwatch.Frequency / 2;
    private readonly Lock _parkLock = new();
    private readonly List<(Ipv6Address Destination, byte[] Packet, long At)> _parked = [];
    private readonly HashSet<Ipv6Prefix> _active = [];
    private Func<byte[], bool>? _inject;

    public HandoverBuffer Buffer { get; }
    public ushort QueueNumber => _queue.QueueNumber;
    public long VerdictErrors => Interlocked.Read(ref _verdictErrors);
    public long RuleErrors => Interlocked.Read(ref _ruleErrors);
    public long ReceiveOverruns => _queue.ReceiveOverruns;
    public long ParkedTotal => Interlocked.Read(ref _parkedTotal);
    public long ParkedDropped => Interlocked.Read(ref _parkedDropped);
    /// <summary>Rule changes queued for the rules thread and not yet done.</summary>
    public int PendingRuleWork => Volatile.Read(ref _pendingRuleWork);
    /// <summary>Nodes whose downlink was not held because too many rule changes were waiting.</summary>
    public long SkippedForRuleBacklog => Interlocked.Read(ref _skippedForRuleBacklog);
    /// <summary>Rounds of rule changes made (at most one ip6tables-restore run each; change by change when it failed).</summary>
    public long RuleRounds => Interlocked.Read(ref _ruleRounds);
    /// <summary>Rounds whose ip6tables-restore run failed and that were made change by change.</summary>
    public long RuleRoundFallbacks => Interlocked.Read(ref _ruleRoundFallbacks);

    /// <summary>How a parked packet re-enters the node (the userspace tunnel's TUN device).</summary>
    public void InjectWith(Func<byte[], bool> inject) => _inject = inject;

    /// <summary>
    /// A previous MAG returned this downlink packet: if its MN is being buffered it joins the queue (injected
    /// now, or parked until the rule is in place); false when it is nobody's to buffer.
    /// </summary>
    public bool OnReturned(ReturnedPacket returned)
    {
        var packet = returned.Packet;
        if (_inject is null || packet.Length < Ipv6Packet.HeaderLength)
            return false;
        var destination = Ipv6Address.Read(packet.Span.Slice(24, Ipv6Address.Length));
        var order = returned.SentAt >= 0 ? returned.SentAt : Stopwatch.GetTimestamp();
        lock (_parkLock)
        {
            if (_active.Any(p => p.Contains(destination)))
                return Inject(packet.ToArray(), order);
            // Parked only while our binding still names the MAG that returned it: its de-registration is on the
            // way and buffering about to start. Once the binding moved on, the kernel forwards it to the new MAG.
            if (!returned.StillBoundToSender)
                return false;
            if (_parked.Count >= MaxParked)
            {
                Interlocked.Increment(ref _parkedDropped);
                return true;
            }
            _parked.Add((destination, packet.ToArray(), order));
            Interlocked.Increment(ref _parkedTotal);
            return true;
        }
    }

    /// <summary>
    /// The node's prefixes are bound to a new MAG without buffering (the Context Reflector's forward mode): what
    /// a MAG returned while they still named it, parked for a buffer that will not start, goes out now, through
    /// the kernel to the new tunnel, in the order it came back. Returns how many.
    /// </summary>
    public int Rebound(Ipv6Prefix[] prefixes)
    {
        var sent = 0;
        lock (_parkLock)
        {
            // Every new binding comes through here (a refresh from the serving MAG does not: it binds nothing new), and
            // nothing parked is the usual case.
            if (_parked.Count == 0 || _active.Any(a => prefixes.Contains(a)))
                return 0; // buffering: the flush releases them
            for (var i = 0; i < _parked.Count; i++)
            {
                var (destination, packet, at) = _parked[i];
                if (!prefixes.Any(p => p.Contains(destination)))
                    continue;
                if (Inject(packet, at))
                    sent++;
                _parked.RemoveAt(i--);
            }
        }
        return sent;
    }

    private void Activated(Ipv6Prefix[] prefixes)
    {
        lock (_parkLock)
        {
            foreach (var prefix in prefixes)
                _active.Add(prefix);
            // They join the queue ahead of what the rule caught, in the order the LMA first sent them (ReturnedOrder).
            for (var i = 0; i < _parked.Count; i++)
            {
                var (destination, packet, _) = _parked[i];
                if (!prefixes.Any(p => p.Contains(destination)))
                    continue;
                Inject(packet, _parked[i].At);
                _parked.RemoveAt(i--);
            }
        }
    }

    // Injected packets reach the queue again with a new id: their fingerprint tells the receive thread to put
    // them where they were in the MN's downlink (when the LMA first sent them), not at the end.
    private readonly ConcurrentDictionary<long, long> _injectedOrder = new();

    private bool Inject(byte[] packet, long order)
    {
        var fingerprint = PacketFingerprint.Of(packet);
        _injectedOrder[fingerprint] = order;
        if (_inject?.Invoke(packet) == true)
            return true;
        _injectedOrder.TryRemove(fingerprint, out _);
        return false;
    }

    private void Deactivated(Ipv6Prefix[] prefixes)
    {
        lock (_parkLock)
            foreach (var prefix in prefixes)
                _active.Remove(prefix);
    }

    private void ExpireParked(long now)
    {
        lock (_parkLock)
        {
            var removed = _parked.RemoveAll(p => now - p.At > ParkTicks);
            if (_injectedOrder.Count > 4 * MaxParked)
                _injectedOrder.Clear(); // orders nobody came back for (packets the kernel dropped)
            if (removed > 0)
                Interlocked.Add(ref _parkedDropped, removed);
        }
    }

    /// <summary>Takes ownership of <paramref name="queue"/>; removes stale rules of a previous run first.</summary>
    public HandoverBuffering(NetfilterQueue queue, Ip6TablesRules rules, HandoverBufferLimits limits, Action<string> warn,
        int maxPendingRuleWork = DefaultMaxPendingRuleWork)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingRuleWork, 1);
        _maxPendingRuleWork = maxPendingRuleWork;
        _queue = queue;
        _rules = rules;
        _warn = warn;
        Buffer = new HandoverBuffer(limits, this);
        if (_rules.TryRemoveAll(out var removed, out var error) && removed > 0)
            _warn($"removed {removed} buffering rules a previous run left behind");
        else if (error.Length > 0)
            _warn($"could not list or remove the buffering rules a previous run left behind: {error}");
        if (error.Length > 0)
            ReadInstalled(); // what is there after all, so a round never inserts a rule twice
        _receiver = new Thread(Receive) { IsBackground = true, Name = "buffer-receive" };
        _pacer = new Thread(Pace) { IsBackground = true, Name = "buffer-pacer" };
        _ruleWorker = new Thread(WorkRules) { IsBackground = true, Name = "buffer-rules" };
    }

    public void Start()
    {
        _receiver.Start();
        _pacer.Start();
        _ruleWorker.Start();
    }

    /// <summary>
    /// The node's de-registration was accepted: hold its downlink until <see cref="Release"/>. False, and nothing
    /// held, while <see cref="PendingRuleWork"/> is at the limit.
    /// </summary>
    public bool Begin(string mobileNodeId, Ipv6Prefix[] prefixes)
    {
        if (PendingRuleWork >= _maxPendingRuleWork)
        {
            Interlocked.Increment(ref _skippedForRuleBacklog);
            return false;
        }
        lock (_episodes)
        {
            Buffer.Start(mobileNodeId, prefixes, Stopwatch.GetTimestamp());
            QueueRuleWork(new RuleWork(mobileNodeId, prefixes, Add: true, () => Activated(prefixes)));
        }
        return true;
    }

    /// <summary>Removals are never refused: each belongs to an episode whose rule was added.</summary>
    private void QueueRuleWork(RuleWork work)
    {
        Interlocked.Increment(ref _pendingRuleWork);
        _ruleWork.Add(work);
    }

    /// <summary>The node's new binding is installed (its route points at the new MAG): release, paced, in order.</summary>
    public bool Release(string mobileNodeId) => Buffer.Flush(mobileNodeId, Stopwatch.GetTimestamp());

    /// <summary>No new binding will come: drop what is held and remove the rules.</summary>
    public void Discard(string mobileNodeId, Ipv6Prefix[] prefixes, string why)
    {
        lock (_episodes)
            if (Buffer.Discard(mobileNodeId, why))
                QueueRuleWork(new RuleWork(mobileNodeId, prefixes, Add: false, After: null));
    }

    void IVerdicts.Accept(uint packetId) => Verdict(packetId, NetfilterVerdict.Accept);

    void IVerdicts.Drop(uint packetId) => Verdict(packetId, NetfilterVerdict.Drop);

    private void Verdict(uint packetId, NetfilterVerdict verdict)
    {
        if (!_queue.TrySetVerdict(packetId, verdict, out _))
            Interlocked.Increment(ref _verdictErrors);
    }

    private void Receive()
    {
        var buffer = new byte[Math.Max(_queue.MinimumReceiveBufferLength, 65536)];
        while (!_stopping)
        {
            var n = _queue.Receive(buffer, out var errno);
            if (n < 0)
            {
                if (NetfilterQueue.IsTransientReceiveError(errno) || _stopping)
                    continue;
                Thread.Sleep(10);
                continue;
            }
            var now = Stopwatch.GetTimestamp();
            foreach (var packet in NetfilterQueue.Packets(buffer.AsSpan(0, n)))
            {
                var payload = packet.Payload;
                if (payload.Length < Ipv6Packet.HeaderLength || payload[0] >> 4 != 6)
                {
                    Interlocked.Increment(ref _notIpv6);
                    Verdict(packet.PacketId, NetfilterVerdict.Accept);
                    continue;
                }
                var destination = Ipv6Address.Read(payload.Slice(24, Ipv6Address.Length));
                var order = !_injectedOrder.IsEmpty && _injectedOrder.TryRemove(PacketFingerprint.Of(payload), out var sentAt) ? HandoverBuffer.ReturnedOrder(sentAt) : now;
                if (!Buffer.TryHold(packet.PacketId, destination, packet.OriginalLength, now, order))
                    Verdict(packet.PacketId, NetfilterVerdict.Accept);
            }
        }
    }

    private void Pace()
    {
        var finished = new List<FinishedNode>();
        while (!_stopping)
        {
            ExpireParked(Stopwatch.GetTimestamp());
            if (!Buffer.AnyActive)
            {
                Thread.Sleep(1);
                continue;
            }
            finished.Clear();
            lock (_episodes)
            {
                // Under the episodes lock: a Begin for one of these nodes queues its rule after this removal, not before.
                Buffer.Tick(Stopwatch.GetTimestamp(), finished);
                foreach (var (mn, prefixes, expired, episode) in finished)
                    QueueRuleWork(new RuleWork(mn, prefixes, Add: false, expired ? null : () => Buffer.Complete(mn, Stopwatch.GetTimestamp(), episode)));
            }
            foreach (var done in finished.Where(f => f.Expired))
                _warn($"{done.MobileNodeId}: no new binding within the buffering limit; held downlink dropped");
            Thread.Sleep(1);
        }
    }

    private void WorkRules()
    {
        var round = new List<RuleWork>();
        var touched = new HashSet<Ipv6Prefix>();
        RuleWork? carried = null;
        while (true)
        {
            var first = carried;
            if (first is null && !_ruleWork.TryTake(out first, Timeout.Infinite))
                return; // CompleteAdding: stopping
            carried = null;
            round.Clear();
            touched.Clear();
            round.Add(first);
            touched.UnionWith(first.Prefixes);
            while (round.Count < MaxRoundChanges && _ruleWork.TryTake(out var next))
            {
                if (next.Prefixes.Any(touched.Contains))
                {
                    carried = next; // the same prefix again: after this round, in order
                    break;
                }
                round.Add(next);
                touched.UnionWith(next.Prefixes);
            }
            try
            {
                MakeRound(round);
            }
            finally
            {
                Interlocked.Add(ref _pendingRuleWork, -round.Count);
            }
        }
    }

    /// <summary>
    /// One round: nodes leaving buffering stop taking returned packets first, then every rule change in one ip6tables-restore
    /// run (change by change, with ip6tables' checks, if that run fails), then what follows each change, in the order asked.
    /// </summary>
    private void MakeRound(List<RuleWork> round)
    {
        foreach (var work in round)
            if (!work.Add)
                Deactivated(work.Prefixes);
        var changes = new List<(Ipv6Prefix Destination, bool Add)>();
        foreach (var work in round)
            foreach (var prefix in work.Prefixes)
                if (work.Add != _installed.Contains(prefix))
                    changes.Add((prefix, work.Add));
        if (changes.Count > 0)
            Interlocked.Increment(ref _ruleRounds); // runs of ip6tables-restore: a round whose rules are all in place already runs none
        if (_rules.TryApply(changes, _queue.QueueNumber, out var batchError))
        {
            foreach (var (prefix, add) in changes)
                if (add)
                    _installed.Add(prefix);
                else
                    _installed.Remove(prefix);
        }
        else
        {
            // The table may not be what we thought (a rule removed or added by someone else): read it, then each change is
            // made with ip6tables' own checks, and the set follows what they did.
            ReadInstalled();
            var fallbacks = Interlocked.Increment(ref _ruleRoundFallbacks);
            if (Stopwatch.GetElapsedTime(_lastFallbackWarning) > TimeSpan.FromMinutes(1) || fallbacks == 1)
            {
                _lastFallbackWarning = Stopwatch.GetTimestamp();
                _warn($"{changes.Count} rule changes in one run failed ({fallbacks} such rounds so far; this warning at most once a minute), " +
                      $"making them one by one: {batchError}");
            }
            foreach (var work in round)
                foreach (var prefix in work.Prefixes)
                    ChangeOne(work, prefix);
        }
        foreach (var work in round)
        {
            try
            {
                work.After?.Invoke();
            }
            catch (Exception e)
            {
                _warn($"{work.MobileNodeId}: after its buffering rule change: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// <see cref="_installed"/> from the kernel's table (our rules for our queue): a batch inserts only what this set lacks, and
    /// an insert of a rule that is there would add a second copy that one delete leaves behind.
    /// </summary>
    private void ReadInstalled()
    {
        if (!_rules.TryListOurs(out var rules, out var error))
        {
            _warn($"could not list the buffering rules: {error}");
            return;
        }
        _installed.Clear();
        foreach (var rule in rules)
            if (Ip6TablesRules.TryParseQueueRule(rule, out var prefix, out var queue) && queue == _queue.QueueNumber)
                _installed.Add(prefix);
    }

    private void ChangeOne(RuleWork work, Ipv6Prefix prefix)
    {
        string error;
        if (work.Add ? _rules.TryAddQueueRule(prefix, _queue.QueueNumber, out error) : _rules.TryRemoveQueueRule(prefix, _queue.QueueNumber, out error))
        {
            if (work.Add)
                _installed.Add(prefix);
            else
                _installed.Remove(prefix);
            return;
        }
        Interlocked.Increment(ref _ruleErrors);
        _warn(work.Add ? $"cannot buffer {prefix} for {work.MobileNodeId}: {error}"
                       : $"cannot remove the buffering rule for {prefix} ({work.MobileNodeId}): {error}");
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        _ruleWork.CompleteAdding();
        foreach (var thread in new[] { _receiver, _pacer, _ruleWorker })
            if (thread.IsAlive)
                thread.Join(TimeSpan.FromSeconds(5));
        // Our rules go first, so nothing more is queued; what is still held dies with the queue.
        _rules.TryRemoveAll(out _, out _);
        _queue.Dispose();
    }
}
