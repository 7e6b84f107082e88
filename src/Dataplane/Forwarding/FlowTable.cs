// The LMA's downlink flow table (issue 8): each packet the Anchor encapsulates is classified by its
// key (FlowKey: the 5-tuple, the flow label only without ports), counted per flow, and sent through the tunnel chosen for its flow: the prefix's home
// endpoint from TunnelTable unless a command moved the flow. Idle flows expire.
//
// Thread model. One forwarding thread (the Anchor's encapsulating thread) is the only writer: it
// creates, updates and expires entries in Classify / ExpireIdle. Any other thread (status, commands) may:
//   - read Snapshot(): each entry is copied under a per-entry sequence lock (odd version = being written),
//     so every row is consistent; rows are not all taken at the same instant;
//   - call TryMove(): it publishes an immutable (flow id, endpoint) choice with one reference write
//     into that entry's move slot. The forwarding thread honours it from its next packet on, and only while
//     the slot's flow id is the entry's: a choice made for a flow that expired meanwhile is ignored by the
//     flow that reuses the entry. So a move is atomic: every packet takes either the old or the new tunnel.
// Per packet the writer does one hash probe sequence, no allocation, no lock, and a bounded amount of
// expiry work (SweepPerPacket entries), so classification stays O(1).
//
// Capacity. MaxFlows entries are allocated up front with a hash index twice as large (linear probing,
// backward-shift deletion, so no tombstones accumulate). When the table is full, a new flow is not
// tracked: its packets still go through the prefix's home tunnel and are counted as untracked
// (FlowTableCounters.UntrackedPackets). Tracked flows are never evicted for newcomers: a moved flow
// must not silently fall back to its home tunnel because a scan filled the table.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

/// <summary>Limits and timers of a <see cref="FlowTable"/>.</summary>
public sealed record FlowTableSettings
{
    public static readonly FlowTableSettings Default = new();

    /// <summary>Most flows tracked at once; beyond it new flows are forwarded untracked.</summary>
    public int MaxFlows { get; init; } = 65_536;
    /// <summary>A flow without a packet for this long is removed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The rate is measured over windows this long...</summary>
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>...and smoothed across them: rate = a × last window + (1 − a) × rate (1: no smoothing).</summary>
    public double RateSmoothing { get; init; } = 0.5;
    /// <summary>Entries examined for idle expiry per classified packet.</summary>
    public int SweepPerPacket { get; init; } = 2;
    /// <summary>Extension headers walked before a key falls back to port-less.</summary>
    public int MaxExtensionHeaders { get; init; } = FlowKey.DefaultMaxExtensionHeaders;

    public void Validate()
    {
        if (MaxFlows is < 1 or > 1 << 24) throw new ArgumentOutOfRangeException(nameof(MaxFlows), MaxFlows, "1 to 16777216");
        if (IdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "must be positive");
        if (RateWindow <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RateWindow), RateWindow, "must be positive");
        if (RateSmoothing is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(RateSmoothing), RateSmoothing, "in (0, 1]");
        if (SweepPerPacket < 0) throw new ArgumentOutOfRangeException(nameof(SweepPerPacket), SweepPerPacket, "not negative");
    }
}

/// <summary>What the flow table did, for /metrics (written by the forwarding thread only).</summary>
public sealed class FlowTableCounters
{
    internal long Created, Expired, Tracked, Untracked, Malformed, Unbound, Moves;

    public long FlowsCreated => Volatile.Read(ref Created);
    public long FlowsExpired => Volatile.Read(ref Expired);
    /// <summary>Packets counted against a flow.</summary>
    public long TrackedPackets => Volatile.Read(ref Tracked);
    /// <summary>Packets of new flows that arrived while the table was full: forwarded through the home tunnel, not tracked.</summary>
    public long UntrackedPackets => Volatile.Read(ref Untracked);
    public long MalformedPackets => Volatile.Read(ref Malformed);
    /// <summary>Packets for a destination no binding covers (no flow is created for them).</summary>
    public long UnboundPackets => Volatile.Read(ref Unbound);
    /// <summary>Moves accepted by <see cref="FlowTable.TryMove"/> (any thread).</summary>
    public long FlowMoves => Interlocked.Read(ref Moves);

    public IEnumerable<(string Name, long Value)> All()
    {
        yield return ("flow_table_flows_created_total", FlowsCreated);
        yield return ("flow_table_flows_expired_total", FlowsExpired);
        yield return ("flow_table_tracked_packets_total", TrackedPackets);
        yield return ("flow_table_untracked_packets_total", UntrackedPackets);
        yield return ("flow_table_malformed_packets_total", MalformedPackets);
        yield return ("flow_table_unbound_packets_total", UnboundPackets);
        yield return ("flow_table_moves_total", FlowMoves);
    }
}

/// <summary>One row of <see cref="FlowTable.Snapshot"/> (`pmip6 flow list`).</summary>
/// <param name="BytesPerSecond">Smoothed over the completed rate windows (the current window is not in it yet).</param>
/// <param name="Via">The tunnel the flow's next packet takes: the move target, else the prefix's home endpoint (null if unbound).</param>
/// <param name="MovedTo">Where a command moved the flow; null while it follows its prefix's home tunnel.</param>
public sealed record FlowSnapshot(
    ulong Id,
    FlowKey Key,
    long Packets,
    long Bytes,
    double BytesPerSecond,
    TimeSpan Age,
    TimeSpan Idle,
    Ipv6Address? Via,
    Ipv6Address? MovedTo);

public sealed class FlowTable
{
    private struct Entry
    {
        public int Version;          // sequence lock: odd while the forwarding thread writes the entry
        public bool InUse;
        public ulong Id;
        public ulong Hash;
        public FlowKey Key;
        public long Packets, Bytes, FirstSeen, LastSeen, WindowStart, WindowBytes;
        public double Rate;          // bytes per second, as of WindowStart
    }

    /// <summary>A command's choice for one flow, published whole with one reference write.</summary>
    private sealed record Move(ulong FlowId, TunnelEndpoint? To);

    /// <summary>
    /// A route by flow key (the control plane's flow routes): applied to the flow with that key now, and to one
    /// that starts later (after a restart the routes come back before their flows' packets). <see cref="Live"/>
    /// while a flow with the key is in the table; <see cref="Since"/> when it was set or its flow went.
    /// </summary>
    private sealed class FlowPin(TunnelEndpoint to, long since)
    {
        public readonly TunnelEndpoint To = to;
        public long Since = since;
        public volatile bool Live;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<FlowKey, FlowPin> _pins = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<FlowKey> _endedPins = new();
    private int _pinCount;

    private readonly TunnelTable _tunnels;
    private readonly FlowTableSettings _settings;
    private readonly Entry[] _entries;
    private readonly Move?[] _moves;
    private readonly int[] _index;       // entry index + 1; 0 = empty bucket
    private readonly int _mask;
    private readonly int[] _free;
    private int _freeCount;
    private ulong _nextId = 1;
    private int _sweepCursor;
    private readonly long _idleTicks, _windowTicks;
    private readonly double _windowSeconds;
    private int _count;

    public FlowTable(TunnelTable tunnels, FlowTableSettings? settings = null)
    {
        _settings = settings ?? FlowTableSettings.Default;
        _settings.Validate();
        _tunnels = tunnels;
        var capacity = _settings.MaxFlows;
        _entries = new Entry[capacity];
        _moves = new Move?[capacity];
        _index = new int[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2)];
        _mask = _index.Length - 1;
        _free = new int[capacity];
        for (var i = 0; i < capacity; i++)
            _free[i] = capacity - 1 - i;
        _freeCount = capacity;
        _idleTicks = ToTicks(_settings.IdleTimeout);
        _windowTicks = Math.Max(1, ToTicks(_settings.RateWindow));
        _windowSeconds = (double)_windowTicks / Stopwatch.Frequency;
    }

    public FlowTableSettings Settings => _settings;
    public FlowTableCounters Counters { get; } = new();
    public int Count => Volatile.Read(ref _count);
    public int Capacity => _entries.Length;

    public static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// Forwarding thread only. Classifies one downlink packet read from the TUN at <paramref name="now"/>
    /// (Stopwatch ticks), counts it, and says which tunnel it takes. Allocation-free.
    /// </summary>
    public ForwardingVerdict Classify(ReadOnlySpan<byte> packet, long now, out TunnelEndpoint endpoint)
    {
        endpoint = null!;
        if (!FlowKey.TryRead(packet, out var key, _settings.MaxExtensionHeaders))
        {
            Counters.Malformed++;
            return ForwardingVerdict.Malformed;
        }
        if (!_tunnels.TryLookup(key.Destination, out var home))
        {
            Counters.Unbound++;
            return ForwardingVerdict.NoBinding;
        }
        endpoint = home;
        var hash = key.Hash64();
        var at = Find(key, hash);
        if (at < 0 && (at = Create(key, hash, now)) < 0)
        {
            Counters.Untracked++;
            Sweep(now, _settings.SweepPerPacket);
            return ForwardingVerdict.Forward;
        }
        ref var e = ref _entries[at];
        Interlocked.Increment(ref e.Version);
        if (now - e.WindowStart >= _windowTicks)
            CloseWindows(ref e.Rate, ref e.WindowStart, ref e.WindowBytes, now);
        e.Packets++;
        e.Bytes += packet.Length;
        e.WindowBytes += packet.Length;
        e.LastSeen = now;
        Volatile.Write(ref e.Version, e.Version + 1);
        Counters.Tracked++;
        if (Volatile.Read(ref _moves[at]) is { } move && move.FlowId == e.Id && move.To is { } to)
            endpoint = to;
        Sweep(now, _settings.SweepPerPacket);
        return ForwardingVerdict.Forward;
    }

    /// <summary>Forwarding thread only: removes every flow idle for the configured timeout (for quiet periods, when no packet drives the sweep).</summary>
    public int ExpireIdle(long now) => Sweep(now, _entries.Length);

    /// <summary>
    /// Any thread: sends flow <paramref name="flowId"/> through <paramref name="to"/> from its next packet on
    /// (null: back to its prefix's home tunnel). False when no such flow is in the table.
    /// </summary>
    public bool TryMove(ulong flowId, TunnelEndpoint? to)
    {
        for (var i = 0; i < _entries.Length; i++)
        {
            if (Volatile.Read(ref _entries[i].Id) != flowId || !_entries[i].InUse)
                continue;
            Volatile.Write(ref _moves[i], new Move(flowId, to));
            Interlocked.Increment(ref Counters.Moves);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Any thread: routes every flow with <paramref name="key"/> through <paramref name="to"/> — the one in the
    /// table from its next packet, and one that starts later from its first — until that flow expires; null
    /// removes the route (the flow follows its prefix's home tunnel again).
    /// </summary>
    public void Pin(FlowKey key, TunnelEndpoint? to, long now)
    {
        if (to is null)
        {
            if (_pins.TryRemove(key, out _))
                Interlocked.Decrement(ref _pinCount);
        }
        else
        {
            var pin = new FlowPin(to, now);
            _pins.AddOrUpdate(key, _ => { Interlocked.Increment(ref _pinCount); return pin; }, (_, _) => pin);
        }
        for (var i = 0; i < _entries.Length; i++)
        {
            if (!TryRead(i, out var e) || e.Key != key)
                continue;
            Volatile.Write(ref _moves[i], new Move(e.Id, to));
            Interlocked.Increment(ref Counters.Moves);
            if (to is not null && _pins.TryGetValue(key, out var live))
                live.Live = true;
        }
    }

    /// <summary>
    /// Any thread: the keys whose routes ended since the last call — their flow expired, or no flow with the key
    /// appeared within the idle timeout of the route being set (a route recovered for a flow that never resumed).
    /// </summary>
    public IReadOnlyList<FlowKey> TakeEndedPins(long now)
    {
        var ended = new List<FlowKey>();
        while (_endedPins.TryDequeue(out var key))
            ended.Add(key);
        foreach (var (key, pin) in _pins)
            if (!pin.Live && now - Volatile.Read(ref pin.Since) >= _idleTicks && _pins.TryRemove(new KeyValuePair<FlowKey, FlowPin>(key, pin)))
            {
                Interlocked.Decrement(ref _pinCount);
                ended.Add(key);
            }
        return ended;
    }

    /// <summary>Routes by key currently set.</summary>
    public int PinCount => Volatile.Read(ref _pinCount);

    /// <summary>Any thread: a consistent copy of every flow, with rates as of <paramref name="now"/>.</summary>
    public IReadOnlyList<FlowSnapshot> Snapshot(long now)
    {
        var rows = new List<FlowSnapshot>(Count);
        for (var i = 0; i < _entries.Length; i++)
        {
            if (!TryRead(i, out var e))
                continue;
            var rate = e.Rate;
            var windowStart = e.WindowStart;
            var windowBytes = e.WindowBytes;
            if (now - windowStart >= _windowTicks)
                CloseWindows(ref rate, ref windowStart, ref windowBytes, now);
            var move = Volatile.Read(ref _moves[i]) is { } m && m.FlowId == e.Id ? m.To : null;
            var via = move ?? (_tunnels.TryLookup(e.Key.Destination, out var home) ? home : null);
            rows.Add(new FlowSnapshot(e.Id, e.Key, e.Packets, e.Bytes, rate,
                Elapsed(now - e.FirstSeen), Elapsed(now - e.LastSeen), via?.Remote, move?.Remote));
        }
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    private static TimeSpan Elapsed(long ticks) => TimeSpan.FromSeconds(Math.Max(0, ticks) / (double)Stopwatch.Frequency);

    /// <summary>Copies entry <paramref name="i"/> under its sequence lock; false when it is free or kept changing.</summary>
    private bool TryRead(int i, out Entry copy)
    {
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var before = Volatile.Read(ref _entries[i].Version);
            if ((before & 1) != 0)
            {
                Thread.SpinWait(1 << Math.Min(attempt, 6));
                continue;
            }
            copy = _entries[i];
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _entries[i].Version) == before)
                return copy.InUse;
        }
        copy = default;
        return false;
    }

    /// <summary>Rolls the rate over every window ended by <paramref name="now"/>; windows without packets decay it.</summary>
    private void CloseWindows(ref double rate, ref long windowStart, ref long windowBytes, long now)
    {
        var windows = (now - windowStart) / _windowTicks;
        var a = _settings.RateSmoothing;
        rate = a * (windowBytes / _windowSeconds) + (1 - a) * rate;
        if (windows > 1)
            rate *= Math.Pow(1 - a, windows - 1);
        windowStart += windows * _windowTicks;
        windowBytes = 0;
    }

    private int Find(in FlowKey key, ulong hash)
    {
        for (var b = (int)hash & _mask; ; b = (b + 1) & _mask)
        {
            var slot = _index[b];
            if (slot == 0)
                return -1;
            ref var e = ref _entries[slot - 1];
            if (e.Hash == hash && e.Key == key)
                return slot - 1;
        }
    }

    private int Create(in FlowKey key, ulong hash, long now)
    {
        if (_freeCount == 0)
            return -1;
        var at = _free[--_freeCount];
        var b = (int)hash & _mask;
        while (_index[b] != 0)
            b = (b + 1) & _mask;
        _index[b] = at + 1;
        Volatile.Write(ref _moves[at], null);
        ref var e = ref _entries[at];
        Interlocked.Increment(ref e.Version);
        e.Id = _nextId++;
        e.Hash = hash;
        e.Key = key;
        e.Packets = e.Bytes = e.WindowBytes = 0;
        e.FirstSeen = e.LastSeen = e.WindowStart = now;
        e.Rate = 0;
        e.InUse = true;
        Volatile.Write(ref e.Version, e.Version + 1);
        if (Volatile.Read(ref _pinCount) > 0 && _pins.TryGetValue(key, out var pin))
        {
            Volatile.Write(ref _moves[at], new Move(e.Id, pin.To)); // a pinned flow's first packet already takes its route
            pin.Live = true;
        }
        Counters.Created++;
        Volatile.Write(ref _count, _count + 1);
        return at;
    }

    /// <summary>Examines up to <paramref name="budget"/> entries from the cursor and removes the idle ones.</summary>
    private int Sweep(long now, int budget)
    {
        var removed = 0;
        for (var n = 0; n < budget; n++)
        {
            var i = _sweepCursor;
            _sweepCursor = i + 1 == _entries.Length ? 0 : i + 1;
            ref var e = ref _entries[i];
            if (e.InUse && now - e.LastSeen >= _idleTicks)
            {
                Remove(i);
                removed++;
            }
        }
        return removed;
    }

    private void Remove(int at)
    {
        ref var e = ref _entries[at];
        var b = (int)e.Hash & _mask;
        while (_index[b] != at + 1)
            b = (b + 1) & _mask;
        // Backward-shift deletion: pull later members of the probe run into the hole.
        var hole = b;
        for (var j = (hole + 1) & _mask; _index[j] != 0; j = (j + 1) & _mask)
        {
            var home = (int)_entries[_index[j] - 1].Hash & _mask;
            if (((j - home) & _mask) >= ((j - hole) & _mask))
            {
                _index[hole] = _index[j];
                hole = j;
            }
        }
        _index[hole] = 0;
        Interlocked.Increment(ref e.Version);
        e.InUse = false;
        Volatile.Write(ref e.Version, e.Version + 1);
        _free[_freeCount++] = at;
        Counters.Expired++;
        if (Volatile.Read(ref _pinCount) > 0 && _pins.TryRemove(e.Key, out _))
        {
            Interlocked.Decrement(ref _pinCount);
            _endedPins.Enqueue(e.Key); // the route ends with its flow
        }
        Volatile.Write(ref _count, _count - 1);
    }
}
