// The binding entity, bucketed: one persistent actor per hash bucket of MN-IDs, holding the
// BindingState (every mobility session) of each MN hashed to it. Each MN's decisions are still
// BindingState's, one MN at a time and in arrival order; the bucket persists the events, replies
// with the PBA, tells the dataplane what to install, keeps the expiry deadlines and revokes.
// Each bucket owns a fixed slice of the home network prefix pool (1/256th of it): prefixes are
// allocated from it synchronously and recorded in the SessionRegistered event itself, so the pool's
// state is derived from the bindings — no separate pool actor, round trip or journal write, and two
// buckets can never hand out the same prefix.
//
// Why buckets and not one persistent actor per MN (the first design, measured 2026-11-25): a new
// MN then costs a new persistent actor, i.e. a journal recovery (highest sequence number, replay,
// snapshot lookup) plus a remember-entities write before its first PBU can be answered. On SQLite
// that capped first registrations at ~390/s and cost ~11 KB of memory per binding. A bucket
// recovers once at start; a new MN is one more row (BindingTable) and one journal event.
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record BindingEntitySettings(Ipv6Address LmaAddress, BindingSettings Binding, Ipv6Prefix PrefixPool, byte PrefixLength)
{
    /// <summary>RFC 5846 §6: InitialBRITimeout; the BRI is sent once more if no BRA arrives.</summary>
    public TimeSpan InitialBriTimeout { get; init; } = TimeSpan.FromSeconds(1);
    public int BriMaxRetransmissions { get; init; } = 1;
    /// <summary>A bucket snapshots its MNs' states every this many events.</summary>
    public int SnapshotEvery { get; init; } = 8000;
    /// <summary>
    /// Events a bucket may have waiting for the journal; past it, PBUs are refused with 130 (insufficient
    /// resources) until the journal catches up, so a flood of valid PBUs cannot queue without bound (issue 10).
    /// The MAGs retransmit with back-off.
    /// </summary>
    public int MaxPendingWrites { get; init; } = 256;
    /// <summary>Context Reflector (issue 7): off unless the operator switches it on.</summary>
    public ReflectorSettings Reflector { get; init; } = new() { Enabled = false };
    /// <summary>The MAGs a context may name as the next MAG (the LMA node's own admission list).</summary>
    public LmaAdmissionSettings Admission { get; init; } = new([]);
    /// <summary>IP flow mobility (issue 8): off unless the operator switches it on.</summary>
    public FlowMobilitySettings Flows { get; init; } = FlowMobilitySettings.Default;
    /// <summary>
    /// On an LMA node of a cluster (issue 9): a bucket routes its prefix slice into its node's tunnel while it runs there
    /// (<see cref="RouteSlice"/> when it starts and stops), so downlink reaches the node that owns it. Off on a lone
    /// node, which routes the whole pool once.
    /// </summary>
    public bool RoutesSlice { get; init; }
}

/// <summary>Maps an MN-ID to its bucket with a hash that is stable across processes and restarts.</summary>
public static class BindingBuckets
{
    /// <summary>
    /// Fixed for the life of a deployment: it is part of every persistence id and prefix slice, and a store written with
    /// another count is refused at start (<see cref="BucketLayout"/>). 256 since stop 23 (1,024 before): every bucket
    /// is a persistent actor whose mailbox, cell and batch a young collection scans, and with bindings kept as rows
    /// (<see cref="BindingTable"/>) those per-actor cards were most of the pause (issue 4; DESIGN-NOTES, "Stop 23").
    /// </summary>
    public const int Count = 1 << Bits;

    /// <summary>The bucket count of the earlier layout, for <see cref="BucketLayout"/>.</summary>
    public const int FormerCount = 1024;

    /// <summary>The bits a bucket's prefix slice adds to the pool's length.</summary>
    public const int Bits = 8;

    public static string EntityId(string mobileNodeId) => Bucket(mobileNodeId).ToString();

    /// <summary>The slice of <paramref name="pool"/> a bucket allocates from; null when the pool is too small to split.</summary>
    public static Ipv6Prefix? Slice(Ipv6Prefix pool, byte prefixLength, int bucket)
    {
        if (prefixLength - pool.Length < Bits)
            return null;
        var length = pool.Length + Bits;
        var address = pool.Address.Mask(pool.Length).Value | ((UInt128)(uint)bucket << (128 - length));
        return new Ipv6Prefix(new Ipv6Address(address), (byte)length);
    }

    /// <summary>The bucket whose <see cref="Slice"/> holds <paramref name="address"/>, or -1 when it lies outside <paramref name="pool"/>.</summary>
    public static int OfAddress(Ipv6Prefix pool, Ipv6Address address) =>
        pool.Length + Bits > 128 || !pool.Contains(address) ? -1 : (int)((address.Value >> (128 - pool.Length - Bits)) & (Count - 1));

    public static int Bucket(string mobileNodeId)
    {
        // FNV-1a over the UTF-8 octets: deterministic, unlike string.GetHashCode.
        uint hash = 2166136261;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(mobileNodeId) <= buffer.Length
            ? buffer[..Encoding.UTF8.GetBytes(mobileNodeId, buffer)]
            : Encoding.UTF8.GetBytes(mobileNodeId);
        foreach (var b in bytes)
            hash = (hash ^ b) * 16777619;
        return (int)(hash % Count);
    }
}

/// <summary>
/// How a bucket may answer without a hop through the dataplane actor: <see cref="Sender"/> puts a message on the wire from
/// the bucket's thread. <see cref="DataplaneForwards"/>: the node's dataplane forwards the MNs' traffic (the userspace
/// tunnel), so a message that follows a forwarding change (a new binding, a handover, a revocation) still goes through
/// the dataplane actor, after the change; false (no tunnel in this process) sends everything directly.
/// </summary>
public sealed record DirectSignalling(IMobilityMessageSender Sender, bool DataplaneForwards);

public sealed partial class BindingBucket : ReceivePersistentActor, IWithTimers
{
    private sealed record ExpiryDue;
    private sealed record DeferredPbu(HandleProxyBindingUpdate Request, bool Forwarded);
    private sealed record BriDue(string MobileNodeId, ushort Sequence, Ipv6Address Mag, int Attempt, ImmutableArray<Ipv6Prefix> Prefixes,
        RevocationTrigger Trigger);
    private sealed record ReflectorDue;
    private sealed record FlowsDue;

    private const string ExpiryTimer = "expiry";
    private const string ReflectorTimer = "reflector";
    private const string FlowsTimer = "flows";
    private readonly BindingEntitySettings _settings;
    private readonly IActorRef _dataplane;
    private readonly DirectSignalling? _direct;
    private readonly LocalBucketDirectory? _directory;
    private readonly PrefixPoolState _pool;
    private readonly int _bucket;
    private readonly Ipv6Prefix _slice;
    private readonly IActorRef? _index;
    private readonly Counters? _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly BindingTable _states = new();
    /// <summary>Context Cache Entries, only for the MNs that have one.</summary>
    private readonly Dictionary<string, ContextReflectorState> _reflectors = new(StringComparer.Ordinal);
    /// <summary>Flow routes and announcements, only for the MNs that have some.</summary>
    private readonly Dictionary<string, FlowMobilityState> _flows = new(StringComparer.Ordinal);
    private readonly DeadlineQueue _deadlines = new();
    private DateTimeOffset? _armedFor;
    private bool _recoveredFromSnapshot;
    private ushort _briSequence;
    private long _eventsSinceSnapshot;
    /// <summary>Events applied to the state but not yet confirmed by the journal.</summary>
    private int _unconfirmed;
    private DateTime _backlogLogged = DateTime.MinValue;
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId { get; }

    /// <summary>The persistence id of bucket <paramref name="bucket"/>'s events and snapshots.</summary>
    public static string PersistenceIdOf(int bucket) => "bce-bucket-" + bucket;

    public BindingBucket(string bucketId, BindingEntitySettings settings, IActorRef dataplane, IActorRef? index, Counters? counters = null,
        DirectSignalling? direct = null, LocalBucketDirectory? directory = null)
    {
        _settings = settings;
        _dataplane = dataplane;
        _direct = direct;
        _directory = directory;
        _bucket = int.Parse(bucketId);
        _slice = BindingBuckets.Slice(settings.PrefixPool, settings.PrefixLength, _bucket)
            ?? throw new ArgumentException($"prefix pool {settings.PrefixPool} holds fewer than {BindingBuckets.Count} /{settings.PrefixLength} prefixes");
        _pool = new PrefixPoolState(_slice, settings.PrefixLength);
        _index = index;
        _counters = counters;
        PersistenceId = PersistenceIdOf(_bucket);

        Recover<IBindingEvent>(e => { Fold(e); });
        Recover<SnapshotOffer>(o =>
        {
            _recoveredFromSnapshot = true;
            if (o.Snapshot is BindingBucketSnapshot snapshot)
            {
                foreach (var state in snapshot.States)
                {
                    _states[state.MobileNodeId] = state;
                    foreach (var session in state.Sessions)
                        _pool.Apply(new PrefixesAllocated(state.MobileNodeId, session.Id, session.Prefixes));
                }
                foreach (var reflector in snapshot.Reflectors.IsDefault ? [] : snapshot.Reflectors)
                    _reflectors[reflector.MobileNodeId] = reflector;
                foreach (var flows in snapshot.Flows.IsDefault ? [] : snapshot.Flows)
                    _flows[flows.MobileNodeId] = flows;
            }
        });
        Recover<RecoveryCompleted>(_ => AfterRecovery());

        // A PBU another node of the cluster received (the shared LMA address) comes through the region from its LmaNode.
        Command<HandleProxyBindingUpdate>(request => Handle(request, null, mayDefer: true, forwarded: !Sender.Path.Address.HasLocalScope));
        Command<DeferredPbu>(deferred => Handle(deferred.Request, null, mayDefer: false, deferred.Forwarded));
        Command<ExpiryDue>(_ => Expire());
        Command<RevokeBinding>(revoke => Revoke(revoke, Sender));
        Command<RevokeSessionsAt>(revoke => Persist(State(revoke.MobileNodeId).Revoke(DateTimeOffset.UtcNow, revoke.Mag), () => { }));

        Command<BriDue>(due => SendBri(due.MobileNodeId, due.Sequence, due.Mag, due.Prefixes, due.Trigger, due.Attempt));
        Command<ContextReflectionAnswered>(OnReflectionAnswered);
        Command<ReflectorDue>(_ => ReflectorTick());
        Command<RouteFlow>(route => OnRouteFlow(route, Sender));
        Command<FlowMobilityAnswered>(OnFlowMobilityAnswered);
        Command<FlowExpired>(e => Persist(Flows(e.MobileNodeId).OnFlowExpired(e.RouteId, e.Key, DateTimeOffset.UtcNow), () => { }));
        Command<GetFlowRoutes>(get => Sender.Tell(FlowRoutes(get.MobileNodeId)));
        Command<FlowsDue>(_ => FlowsTick());
        Command<RevocationAcknowledged>(ack =>
        {
            Timers.Cancel(BriTimerKey(ack.Sequence));
            _log.Info("BRA from {0} for {1}: {2}", ack.Mag, ack.MobileNodeId, ack.Status);
        });
        Command<StartBucket>(start => Sender.Tell(new BucketReady(start.Bucket, _states.Count)));
        Command<RelayedUplink>(relayed => _dataplane.Tell(new InjectUplink([.. relayed.Packet], relayed.Mag)));
        Command<GetBinding>(get => Sender.Tell(new BindingSnapshot(get.MobileNodeId, SessionView.Of(State(get.MobileNodeId)))));
        Command<ListBindings>(list => Sender.Tell(Bindings(list)));
        // A snapshot replaces the events below it and the snapshots before it: without the second, the snapshot
        // store keeps one more row per bucket every SnapshotEvery events and grows for ever (bench soak found it).
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("journal cleanup of {0} failed: {1}", PersistenceId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("snapshot cleanup of {0} failed: {1}", PersistenceId, f.Cause.Message));
    }

    public static Props Props(string bucketId, BindingEntitySettings settings, IActorRef dataplane, IActorRef? index, Counters? counters = null,
        DirectSignalling? direct = null, LocalBucketDirectory? directory = null) =>
        Akka.Actor.Props.Create(() => new BindingBucket(bucketId, settings, dataplane, index, counters, direct, directory));

    private BindingState State(string mn) => _states.TryGetValue(mn, out var state) ? state : BindingState.Empty(mn);

    private ContextReflectorState Reflector(string mn) => _reflectors.TryGetValue(mn, out var r) ? r : ContextReflectorState.Empty(mn);

    private void Revoke(RevokeBinding revoke, IActorRef replyTo)
    {
        var state = State(revoke.MobileNodeId);
        replyTo.Tell(new RevocationStarted(revoke.MobileNodeId, state.Sessions.Length));
        var sessions = state.Sessions;
        Persist(state.Revoke(DateTimeOffset.UtcNow), () =>
        {
            foreach (var session in sessions)
                SendBri(revoke.MobileNodeId, unchecked(++_briSequence), session.ProxyCoa, session.Prefixes, revoke.Trigger, 0);
        });
    }

    protected override void PostStop()
    {
        _directory?.Leave(_bucket, Self);
        _index?.Tell(new BucketLeft(_bucket, Self)); // handed off (rebalance, leave), restarting or stopping: the next owner enters
        if (_settings.RoutesSlice)
            _dataplane.Tell(new RouteSlice(_bucket, _slice, Routed: false)); // handed off (rebalance, leave) or the node stops
        base.PostStop();
    }

    private void AfterRecovery()
    {
        if (_recoveredFromSnapshot)
            _pool.ReclaimHoles();
        foreach (var (mn, state) in _states)
        {
            foreach (var session in state.Sessions)
                _dataplane.Tell(new InstallBinding(mn, session.Id, [.. session.Prefixes], session.ProxyCoa));
            if (_states.TryGetHandle(mn, out var handle))
                _deadlines.Moved(handle, null, state.NextDeadline);
        }
        // A CCE recovered from the journal: its downlink and uplink rules again (the reflection itself is
        // resent by the next tick if still unacknowledged).
        foreach (var (mn, reflector) in _reflectors)
            foreach (var entry in reflector.Entries)
            {
                var session = State(mn).Sessions.FirstOrDefault(s => s.Id == entry.SessionId);
                if (session is { State: SessionState.AwaitingNewMag })
                    CarryDownlink(mn, entry);
            }
        ArmExpiry();
        ArmReflector();
        AfterRecoveryOfFlows();
        // Last: downlink is drawn to this node once its bindings are installed.
        if (_settings.RoutesSlice)
            _dataplane.Tell(new RouteSlice(_bucket, _slice, Routed: true));
        _directory?.Enter(_bucket, Self);
        _index?.Tell(new BucketHosted(_bucket, Self));
    }

    private void Handle(HandleProxyBindingUpdate request, ImmutableArray<Ipv6Prefix>? assigned, bool mayDefer, bool forwarded)
    {
        var mn = request.MobileNodeId;
        if (_unconfirmed >= _settings.MaxPendingWrites)
        {
            _counters?.Increment("pbu_refused_total", "reason", "journal-backlog");
            if (_backlogLogged.AddMinutes(1) < DateTime.UtcNow)
            {
                _backlogLogged = DateTime.UtcNow;
                _log.Warning("bucket {0}: {1} events waiting for the journal; refusing PBUs with 130 until it catches up " +
                             "(pbu_refused_total{{reason=journal-backlog}}; logged once a minute)", PersistenceId, _unconfirmed);
            }
            SendPba(ProxyBindingAcknowledgement.Reject(request.Pbu, BindingAcknowledgementStatus.InsufficientResources), request.ReceivedAtTimestamp, forwarded);
            return;
        }
        var state = State(mn);
        var now = DateTimeOffset.UtcNow;
        var mayDeferNow = mayDefer && assigned is null;
        // The reflector decides only for an MN that has a CCE or a de-registration that carries a context;
        // every other PBU is BindingState's alone (nothing allocated for the reflector on that path).
        var reflector = _reflectors.GetValueOrDefault(mn)
            ?? (request.Pbu is { IsDeregistration: true, Context: not null } ? ContextReflectorState.Empty(mn) : null);
        var outcome = reflector is null ? null
            : request.Pbu.IsDeregistration
                ? reflector.DecideDeregistration(state, request.Pbu, request.Pbu.Context, request.Policy, _settings.Admission, _settings.Reflector, now, _settings.Binding)
                : reflector.DecideRegistration(state, request.Pbu, request.Policy, now, _settings.Binding, assigned, mayDeferNow);
        switch (outcome?.Decision ?? state.Decide(request.Pbu, request.Policy, now, _settings.Binding, assigned, mayDeferNow))
        {
            case BindingDecision.Reject reject:
                SendPba(reject.Reply, request.ReceivedAtTimestamp, forwarded);
                break;
            case BindingDecision.Defer defer:
                _log.Info("{0}: PBU from {1} with handoff state unknown; waiting {2} ms (MaxDelayBeforeNewBCEAssign) for the previous MAG's de-registration",
                    mn, request.Pbu.ProxyCoa, defer.After.TotalMilliseconds);
                Timers.StartSingleTimer($"deferred-{mn}-{request.Pbu.ProxyCoa}", new DeferredPbu(request, forwarded), defer.After);
                break;
            case BindingDecision.NeedPrefixes need:
                var prefixes = _pool.Decide(mn, state.NextSessionId, need.Count)?.Prefixes ?? [];
                if (prefixes.IsEmpty)
                {
                    _counters?.Increment("prefix_pool_exhausted_total");
                    _log.Warning("prefix pool slice of bucket {0} exhausted ({1} prefixes in use): {2} refused with 130", PersistenceId, _pool.Allocated, mn);
                }
                Handle(request, prefixes, mayDefer: false, forwarded); // the prefixes become used when the SessionRegistered event is folded
                break;
            case BindingDecision.Accept accept:
                if (accept.Events.IsEmpty)
                    SendPba(accept.Reply, request.ReceivedAtTimestamp, forwarded);
                else
                    Persist(accept.Events, new ReplyWhenPersisted(this, accept.Reply, request.ReceivedAtTimestamp, forwarded));
                break;
        }
        if (outcome is { Effects.IsEmpty: false })
        {
            Carry(mn, outcome.Effects);
            ArmReflector();
        }
        _states.ForgetLast();
    }

    // ---- Context Reflector ----

    private void OnReflectionAnswered(ContextReflectionAnswered answer)
    {
        var step = Reflector(answer.MobileNodeId).OnAcknowledgement(answer.From, answer.Sequence, answer.Status, DateTimeOffset.UtcNow);
        if (step.Events.IsEmpty && step.Effects.IsEmpty)
        {
            _counters?.Increment("context_reflection_acks_unmatched_total");
            _log.Debug("{0}: Context Reflection Acknowledgement from {1} (sequence {2}) matches no live CCE", answer.MobileNodeId, answer.From, answer.Sequence);
            return;
        }
        if ((byte)answer.Status < 128)
            _log.Info("{0}: next MAG {1} holds the reflected context", answer.MobileNodeId, answer.From);
        Persist(step.Events, () => { });
        Carry(answer.MobileNodeId, step.Effects);
        ArmReflector();
    }

    private void ReflectorTick()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var mn in _reflectors.Keys.ToList())
        {
            var (state, step) = _reflectors[mn].Tick(now, _settings.Reflector);
            _reflectors[mn] = state;
            Persist(step.Events, () => { });
            Carry(mn, step.Effects);
        }
        ArmReflector();
    }

    private void ArmReflector()
    {
        DateTimeOffset? next = null;
        foreach (var reflector in _reflectors.Values)
            if (reflector.NextDeadline(_settings.Reflector) is { } at && (next is null || at < next))
                next = at;
        if (next is not { } due)
        {
            Timers.Cancel(ReflectorTimer);
            return;
        }
        var after = due - DateTimeOffset.UtcNow;
        Timers.StartSingleTimer(ReflectorTimer, new ReflectorDue(), after < TimeSpan.Zero ? TimeSpan.Zero : after);
    }

    private void Carry(string mn, ImmutableArray<ReflectorEffect> effects)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case ReflectorEffect.SendContextReflection send:
                    if (!send.Message.TryWrite(_buffer, out var length))
                    {
                        _log.Error("{0}: Context Reflection does not fit a Mobility Header; not sent", mn);
                        break;
                    }
                    _counters?.Increment("context_reflections_sent_total", "attempt", send.Attempt == 1 ? "first" : "retransmission");
                    if (send.Attempt == 1)
                        _log.Info("{0}: de-registration carried a context ({1} items); reflecting it to next MAG {2}", mn, send.Message.Context.Length, send.NextMag);
                    else
                        _log.Warning("{0}: no Context Reflection Acknowledgement from {1}; sending again (attempt {2})", mn, send.NextMag, send.Attempt);
                    SendMobility(length, send.NextMag, afterDataplaneChange: true);
                    break;
                case ReflectorEffect.SetDownlink set:
                    if (Reflector(mn).EntryFor(set.SessionId) is { } entry)
                        CarryDownlink(mn, entry);
                    break;
                case ReflectorEffect.RestoreDownlink restore:
                    TellUplink(mn, restore.SessionId, restore.Prefixes, reflectorAlternate: null);
                    // Still waiting for a MAG (fell back): standard behaviour, the downlink is held as after any de-registration.
                    if (State(mn).Sessions.FirstOrDefault(s => s.Id == restore.SessionId) is { State: SessionState.AwaitingNewMag } waiting)
                    {
                        _dataplane.Tell(new InstallBinding(mn, waiting.Id, [.. waiting.Prefixes], waiting.ProxyCoa));
                        _dataplane.Tell(new BufferDownlink(mn, waiting.Id, [.. waiting.Prefixes]));
                    }
                    break;
                case ReflectorEffect.RevokePreviousMag revoke:
                    _counters?.Increment("context_handovers_total");
                    _log.Info("{0}: next MAG registered from the reflected context; revoking the previous MAG {1}", mn, revoke.PreviousMag);
                    SendBri(mn, unchecked(++_briSequence), revoke.PreviousMag, revoke.Prefixes, revoke.Trigger, 0);
                    break;
                case ReflectorEffect.FellBack fellBack:
                    var reason = ReflectorFallbackName(fellBack.Reason);
                    _counters?.Increment("reflector_fallback_total", "reason", reason);
                    if (fellBack.Reason == ReflectorFallback.Disabled)
                        _log.Debug("{0}: de-registration carried a context but the Context Reflector is off", mn);
                    else
                        _log.Warning("{0}: Context Reflector not used ({1}); standard handover", mn, reason);
                    break;
            }
        }
    }

    /// <summary>While a CCE lives: downlink to the next MAG (forward) or held (buffer); uplink from both MAGs.</summary>
    private void CarryDownlink(string mn, ContextCacheEntry entry)
    {
        var prefixes = entry.Prefixes.ToArray();
        if (entry.Downlink == DownlinkMode.Forward)
        {
            _dataplane.Tell(new InstallBinding(mn, entry.SessionId, prefixes, entry.NextMag));
            TellUplink(mn, entry.SessionId, entry.Prefixes, ReflectorAlternate(entry));
        }
        else
        {
            _dataplane.Tell(new BufferDownlink(mn, entry.SessionId, prefixes));
            TellUplink(mn, entry.SessionId, entry.Prefixes, ReflectorAlternate(entry));
        }
    }

    public static string ReflectorFallbackName(ReflectorFallback reason) => reason switch
    {
        ReflectorFallback.Disabled => "disabled",
        ReflectorFallback.Rejected => "rejected",
        ReflectorFallback.NotBindingHolder => "not-binding-holder",
        ReflectorFallback.NextMagIsPreviousMag => "next-mag-is-previous-mag",
        ReflectorFallback.NextMagNotAuthorized => "next-mag-not-authorized",
        ReflectorFallback.ContextTooLarge => "context-too-large",
        ReflectorFallback.Expired => "expired",
        ReflectorFallback.NeverAcknowledged => "never-acknowledged",
        ReflectorFallback.RefusedByNextMag => "refused-by-next-mag",
        ReflectorFallback.RegisteredElsewhere => "registered-elsewhere",
        ReflectorFallback.ReturnedToPreviousMag => "returned-to-previous-mag",
        _ => reason.ToString(),
    };

    private void Persist(ImmutableArray<IBindingEvent> events, Action after) => Persist(events, new RunWhenPersisted(this, after));

    /// <summary>
    /// What waits for one <see cref="Persist(ImmutableArray{IBindingEvent}, Persisting)"/>'s events to be in the journal: one
    /// object and one handler per PBU. Before, a reply closure, the persist closure and their delegates were four allocations
    /// per PBU on top of Akka.Persistence's own (issue 4: what a PBU allocates sets how often a young collection pauses).
    /// </summary>
    private abstract class Persisting
    {
        protected readonly BindingBucket Bucket;
        private string _mn = "";
        private int _remaining, _count;
        private bool _changedForwarding;

        protected Persisting(BindingBucket bucket)
        {
            Bucket = bucket;
            Handler = OnPersisted;
        }

        public Action<IBindingEvent> Handler { get; }

        /// <param name="changedForwarding">Whether the events told the dataplane to change how it forwards, so a reply must follow them.</param>
        public abstract void Confirmed(bool changedForwarding);

        public void Start(string mn, int count, bool changedForwarding) => (_mn, _remaining, _count, _changedForwarding) = (mn, count, count, changedForwarding);

        private void OnPersisted(IBindingEvent _)
        {
            Bucket._unconfirmed--;
            if (--_remaining > 0)
                return;
            Confirmed(_changedForwarding);
            Bucket.AfterPersisted(_mn, _count);
        }
    }

    private sealed class ReplyWhenPersisted(BindingBucket bucket, ProxyBindingAcknowledgement reply, long receivedAt, bool forwarded) : Persisting(bucket)
    {
        public override void Confirmed(bool changedForwarding) => Bucket.SendPba(reply, receivedAt, forwarded, changedForwarding);
    }

    private sealed class RunWhenPersisted(BindingBucket bucket, Action after) : Persisting(bucket)
    {
        public override void Confirmed(bool changedForwarding) => after();
    }

    /// <summary>
    /// Applies the events to the MN's state at once (later messages for the same MN decide on it) and
    /// confirms <paramref name="pending"/> — the reply — only once the journal has them (persisted asynchronously:
    /// many MNs' writes are in flight together and the journal batches them).
    /// </summary>
    private void Persist(ImmutableArray<IBindingEvent> events, Persisting pending)
    {
        if (events.IsEmpty)
        {
            pending.Confirmed(false);
            return;
        }
        events = events.AddRange(FollowFlows(events));
        var mn = events[0].MobileNodeId;
        // Values: a renewal changes the row. One lookup of the MN before the events and one after.
        var beforeHandle = _states.TryGetHandle(mn, out var held) ? held : -1;
        var before = beforeHandle >= 0 ? _states.NextDeadlineAt(beforeHandle) : null;
        var changedForwarding = false;
        foreach (var e in events)
            changedForwarding |= e is not SessionRegistered { Kind: RegistrationKind.Refresh };
        foreach (var e in events)
            Fold(e);
        foreach (var e in events)
            Effects(e);
        var after = _states.TryGetHandle(mn, out var handle) ? _states.NextDeadlineAt(handle) : null;
        // An MN whose last session went and a new one came in the same events may hold another handle now: nothing queued for it.
        if (after is not null)
            _deadlines.Moved(handle, handle == beforeHandle ? before : null, after);
        if (_deadlines.NeedsRebuild(_states.Count))
            _deadlines.Rebuild(_states.Deadlines());
        if (after is { } deadline && (_armedFor is null || deadline < _armedFor))
            ArmExpiry();
        _unconfirmed += events.Length;
        pending.Start(mn, events.Length, changedForwarding);
        // One event (every refresh): PersistAsync, which wraps it without PersistAllAsync's array copy, iterator and list.
        if (events.Length == 1)
            PersistAsync(events[0], pending.Handler);
        else
            PersistAllAsync(events, pending.Handler);
    }

    /// <summary>After a Persist's reply: the MN's flows, and a snapshot once enough events are in the journal.</summary>
    private void AfterPersisted(string mn, int events)
    {
        ReconcileFlows(mn); // after the PBA: a MAG hears of the MN's other prefixes once it knows its own
        _eventsSinceSnapshot += events;
        // Snapshot only a state the journal fully holds: with writes in flight the state already
        // contains events that a crash could still lose.
        if (_eventsSinceSnapshot >= _settings.SnapshotEvery && _unconfirmed == 0)
        {
            _eventsSinceSnapshot = 0;
            SaveSnapshot(new BindingBucketSnapshot(FrozenStates(), [.. _reflectors.Values]) { Flows = [.. _flows.Values] });
        }
    }

    /// <summary>The states as they are now, for the snapshot store's thread: built from the rows, so a later renewal does not change them.</summary>
    private ImmutableArray<BindingState> FrozenStates()
    {
        var states = new BindingState[_states.Count];
        var i = 0;
        foreach (var state in _states.Values) // built anew from the rows: nothing later changes them
            states[i++] = state;
        return ImmutableCollectionsMarshal.AsImmutableArray(states);
    }

    /// <summary>Folds <paramref name="e"/> into every state it concerns.</summary>
    private void Fold(IBindingEvent e)
    {
        switch (e)
        {
            case SessionRegistered { Kind: RegistrationKind.Initial } r:
                _pool.Apply(new PrefixesAllocated(r.MobileNodeId, r.SessionId, r.Prefixes));
                break;
            case SessionRemoved r:
                _pool.Apply(new PrefixesReleased(r.MobileNodeId, r.SessionId, r.ReleasedPrefixes));
                break;
        }
        FoldBinding(e);
        if (e is ContextCached || _reflectors.ContainsKey(e.MobileNodeId))
        {
            var reflector = Reflector(e.MobileNodeId).Apply(e);
            if (reflector.IsEmpty)
                _reflectors.Remove(e.MobileNodeId);
            else
                _reflectors[e.MobileNodeId] = reflector;
        }
        if (e is FlowRouted || _flows.ContainsKey(e.MobileNodeId))
            StoreFlows(e.MobileNodeId, Flows(e.MobileNodeId).Apply(e));
    }

    /// <summary>
    /// Folds <paramref name="e"/> into its MN's state. A refresh from the serving MAG is written into the MN's rows
    /// (<see cref="BindingTable.TryRenew"/>). Every other event is folded by the pure <see cref="BindingState.Apply"/> and
    /// its result stored back as rows: the states a PBU builds die young (issue 4).
    /// </summary>
    private void FoldBinding(IBindingEvent e)
    {
        if (e is SessionRegistered r && _states.TryRenew(r))
            return;
        if (!_states.TryGetValue(e.MobileNodeId, out var held))
            held = BindingState.Empty(e.MobileNodeId);
        var next = held.Apply(e);
        if (next.IsEmpty)
            _states.Remove(e.MobileNodeId);
        else
            _states[e.MobileNodeId] = next;
    }

    private void Effects(IBindingEvent e)
    {
        var mn = e.MobileNodeId;
        switch (e)
        {
            case SessionRegistered r:
                // A refresh from the serving MAG changes no forwarding: the dataplane already sends its prefixes there.
                if (r.Kind != RegistrationKind.Refresh)
                {
                    _dataplane.Tell(new InstallBinding(mn, r.SessionId, [.. r.Prefixes], r.ProxyCoa));
                    if (_log.IsDebugEnabled)
                        _log.Debug("{0} session {1}: {2} at {3}, prefixes {4}, lifetime {5}s", mn, r.SessionId, r.Kind, r.ProxyCoa,
                            string.Join(",", r.Prefixes), r.Lifetime.TotalSeconds);
                }
                if (r.Kind == RegistrationKind.Handover)
                {
                    _log.Info("{0} session {1}: handed over to {2}, prefixes {3}", mn, r.SessionId, r.ProxyCoa, string.Join(",", r.Prefixes));
                    PinRoutesOf(mn, r.SessionId); // its flow routes follow it to the new MAG
                }
                break;
            case SessionDeregistered d:
                _log.Info("{0} session {1}: de-registered, kept until {2:O} for a handover", mn, d.SessionId, d.DeleteAt);
                // With a Context Cache Entry the downlink follows the reflector's mode instead (ContextCached).
                if (Reflector(mn).EntryFor(d.SessionId) is null
                    && _states.TryGetValue(mn, out var deregistered) && deregistered.Sessions.FirstOrDefault(s => s.Id == d.SessionId) is { } left
                    && !RedirectOnOutage(mn, deregistered, left))
                    _dataplane.Tell(new BufferDownlink(mn, d.SessionId, [.. left.Prefixes]));
                break;
            case FlowRouted f:
                _dataplane.Tell(new PinFlow(mn, f.RouteId, f.Key, State(mn).Sessions.FirstOrDefault(s => s.Id == f.SessionId)?.ProxyCoa));
                _counters?.Increment("flow_moves_total", "reason", f.Reason.ToString().ToLowerInvariant());
                _log.Info("{0}: flow {1} ({2}) routed through session {3} ({4})", mn, f.RouteId, f.Key, f.SessionId, f.Reason);
                break;
            case FlowRouteRemoved f:
                _dataplane.Tell(new PinFlow(mn, f.RouteId, f.Key, null));
                _log.Info("{0}: flow route {1} ({2}) removed ({3})", mn, f.RouteId, f.Key, f.Reason);
                break;
            case SessionRemoved r:
                _dataplane.Tell(new RemoveBinding(mn, r.SessionId, [.. r.ReleasedPrefixes]));
                _log.Info("{0} session {1}: removed ({2}), prefixes {3} released", mn, r.SessionId, r.Reason, string.Join(",", r.ReleasedPrefixes));
                break;
        }
    }

    private void Expire()
    {
        _armedFor = null;
        var now = DateTimeOffset.UtcNow;
        foreach (var handle in _deadlines.TakeDue(now))
        {
            // The MN the handle is now: the one it was queued for, or (once that one was removed) another, whose entry fires
            // early and finds nothing due.
            if (_states.MobileNodeAt(handle) is not { } mn || !_states.TryGetValue(mn, out var state))
                continue;
            var events = _settings.Flows.Enabled ? FlowMobilityState.KeepOutagePrefixes(state, state.Expire(now), now, _settings.Binding) : state.Expire(now);
            if (!events.IsEmpty)
                Persist(events, () => { }); // folded at once; its deadline was due, so the fold queued no later one
            // Its entry was taken: queue its deadline again (refreshed since, or what the expiry left).
            _deadlines.Moved(handle, null, _states.NextDeadline(mn)); // the same handle while the MN is held
        }
        _states.ForgetLast();
        ArmExpiry();
    }

    private void ArmExpiry()
    {
        if (_deadlines.TryPeek(out var at))
        {
            var after = at - DateTimeOffset.UtcNow;
            Timers.StartSingleTimer(ExpiryTimer, new ExpiryDue(), after < TimeSpan.Zero ? TimeSpan.Zero : after);
            _armedFor = at;
        }
    }

    /// <param name="forwarded">
    /// The PBU reached the shared LMA address at another node of the cluster. This node, the owner, still answers itself,
    /// from the shared address (no second hop back); the time since reception, taken on the receiving node's monotonic clock,
    /// is also observed apart (pbu_processing_forwarded_seconds: comparable only while the nodes share a host, as in the specs).
    /// </param>
    private void SendPba(ProxyBindingAcknowledgement pba, long receivedAt, bool forwarded, bool afterDataplaneChange = false)
    {
        _counters?.Increment("pba_sent_total", "status", ((byte)pba.Status).ToString());
        if (receivedAt != 0)
        {
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(receivedAt).TotalSeconds;
            _counters?.Observe("pbu_processing_seconds", seconds);
            if (forwarded)
                _counters?.Observe("pbu_processing_forwarded_seconds", seconds);
        }
        if (!pba.TryWrite(_buffer, out var length))
        {
            _log.Error("PBA for {0} does not fit a Mobility Header; not sent", pba.MobileNodeId);
            return;
        }
        SendMobility(length, pba.ProxyCoa, afterDataplaneChange);
    }

    /// <summary>
    /// Sends the message in <see cref="_buffer"/>: straight onto the socket when the node handed out a sender and nothing the
    /// dataplane was just told must take effect first (or its dataplane forwards nothing), else through the dataplane
    /// actor, whose mailbox keeps it behind the changes told before it (a PBA never overtakes the route it announces).
    /// </summary>
    private void SendMobility(int length, Ipv6Address destination, bool afterDataplaneChange)
    {
        if (_direct is { } direct && (!afterDataplaneChange || !direct.DataplaneForwards))
            direct.Sender.Send(_buffer.AsSpan(0, length), _settings.LmaAddress, destination);
        else
            _dataplane.Tell(new SendMobilityMessage(_buffer[..length], _settings.LmaAddress, destination));
    }

    private void SendBri(string mn, ushort sequence, Ipv6Address mag, ImmutableArray<Ipv6Prefix> prefixes, RevocationTrigger trigger, int attempt)
    {
        var w = MobilityHeaderWriter.BindingRevocationIndication(_buffer, trigger, sequence, BindingRevocation.ProxyFlag);
        WireText.WriteMobileNodeIdentifier(ref w, mn);
        foreach (var prefix in prefixes)
            w.HomeNetworkPrefix(prefix);
        if (!w.TryFinish(out var length))
            return;
        SendMobility(length, mag, afterDataplaneChange: true);
        if (attempt < _settings.BriMaxRetransmissions)
            Timers.StartSingleTimer(BriTimerKey(sequence), new BriDue(mn, sequence, mag, attempt + 1, prefixes, trigger),
                _settings.InitialBriTimeout * (1 << attempt));
    }

    private static string BriTimerKey(ushort sequence) => "bri-" + sequence;

    /// <summary>This bucket's part of the node's <see cref="BindingIndex"/> query.</summary>
    private BucketBindings Bindings(ListBindings query)
    {
        var selected = ImmutableArray.CreateBuilder<BindingSnapshot>();
        foreach (var state in _states.Where(query.Limit, query.AtMag)) // only the answer's states are built
            selected.Add(new BindingSnapshot(state.MobileNodeId, SessionView.Of(state)));
        return new BucketBindings(_states.Count, _states.Sessions, selected.ToImmutable());
    }
}

/// <summary>A bucket's snapshot: the state of each MN it holds, its Context Cache Entries and flow routes.</summary>
public sealed record BindingBucketSnapshot(ImmutableArray<BindingState> States, ImmutableArray<ContextReflectorState> Reflectors) : Persistence.IPmip6Serializable
{
    public ImmutableArray<FlowMobilityState> Flows { get; init; } = [];
}
