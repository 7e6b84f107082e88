// Lossless handover at the LMA (issue 6; after "Handover buffering in PMIPv6", built on OAI): between a
// mobile node's de-registration by its previous MAG and its registration by the next one, its downlink is
// held in the kernel (NFQUEUE: we keep packet ids and owe the kernel a verdict for each, never a copy),
// then released in arrival order, paced, once the new tunnel route is in place.
//
// This class is the bookkeeping, free of sockets: which ids are held for which MN, the caps (per MN in
// packets and bytes, global, and a maximum holding time) with oldest-first dropping, the paced release
// (a token bucket per MN; "adaptive" drains at least twice as fast as packets arrived while held, so the
// queue shrinks even while traffic keeps coming), and the figures an operator and the lab report. Verdicts
// go to an IVerdicts sink. One lock: the queue's receive thread, the pacer and the dataplane actor call in;
// every call is short and never waits on I/O, so one MN's buffer never blocks another's flush or signalling.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

public interface IVerdicts
{
    void Accept(uint packetId);
    void Drop(uint packetId);
}

public sealed record HandoverBufferLimits
{
    public int MaxPacketsPerNode { get; init; } = 2048;
    public long MaxBytesPerNode { get; init; } = 3L << 20;
    public int MaxPackets { get; init; } = 65536;
    /// <summary>Longest a node's downlink is held before the rest is dropped (RFC 5213 MaxDelayBeforeNewBCEAssign-based).</summary>
    public TimeSpan MaxHoldTime { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Release rate of a flush, packets per second.</summary>
    public int FlushRate { get; init; } = 5000;
    /// <summary>Release at least twice the rate packets arrived at while held, when that is faster than <see cref="FlushRate"/>.</summary>
    public bool Adaptive { get; init; } = true;
}

public enum BufferDropReason : byte { OverflowNode, OverflowGlobal, Expired, Discarded }

/// <summary>A node Tick found done: its flush emptied the queue, or it waited past the hold time (expired).</summary>
public readonly record struct FinishedNode(string MobileNodeId, Ipv6Prefix[] Prefixes, bool Expired, long Episode);

/// <summary>One finished buffering episode, for status and the lab's report.</summary>
public sealed record BufferEpisode(string MobileNodeId, DateTimeOffset StartedAt, TimeSpan Held, int Packets, int Peak, long PeakBytes,
    int Released, int Dropped, TimeSpan FlushDuration, TimeSpan MaxAddedDelay, TimeSpan MeanAddedDelay, string Outcome);

/// <summary>
/// Held packets in the order of the MN's downlink: normally arrival order (appended); a packet a previous MAG
/// sent back is inserted where it was first seen, so the flush does not reorder the stream.
/// </summary>
public sealed class HeldQueue
{
    private readonly LinkedList<((uint Id, int Length, long At) Packet, long Order)> _items = new();

    public int Count => _items.Count;

    public void Enqueue((uint Id, int Length, long At) packet, long order)
    {
        var after = _items.Last;
        while (after is not null && after.Value.Order > order)
            after = after.Previous;
        if (after is null)
            _items.AddFirst((packet, order));
        else
            _items.AddAfter(after, (packet, order));
    }

    public (uint Id, int Length, long At) Dequeue() => Dequeue(out _);

    public (uint Id, int Length, long At) Dequeue(out long order)
    {
        var first = _items.First!.Value;
        _items.RemoveFirst();
        order = first.Order;
        return first.Packet;
    }
}

public sealed class HandoverBuffer
{
    /// <summary>
    /// The queue order of a packet a previous MAG returned, first sent at <paramref name="sentAt"/>: ahead of every
    /// packet the queue rule caught, in the order the LMA sent them. It went to that MAG before the rule was in place,
    /// so it is older than anything the rule queued, whatever the stamps say: the send time is taken by the LMA's
    /// encapsulating thread and the queue time by the queue's receive thread, and a packet that waited in the TUN for
    /// a descheduled thread can carry a later stamp than the next one, queued (one packet reordered in the demo).
    /// </summary>
    public static long ReturnedOrder(long sentAt) => sentAt - ReturnedAhead;

    /// <summary>More than any stamp the queue sees in a machine's uptime, and far from overflowing.</summary>
    private const long ReturnedAhead = 1L << 62;

    private sealed class NodeBuffer(string mn, Ipv6Prefix[] prefixes, long startedAt, DateTimeOffset startedAtUtc)
    {
        public readonly string MobileNodeId = mn;
        public Ipv6Prefix[] Prefixes = prefixes;
        public readonly long StartedAt = startedAt;
        public readonly DateTimeOffset StartedAtUtc = startedAtUtc;
        public readonly HeldQueue Held = new();
        public long Bytes;
        public int Arrived, Peak, Released, Dropped;
        public long PeakBytes;
        public long FlushStartedAt = -1;
        public long LastTick;
        public double Tokens;
        public double Rate;
        public long DelaySumTicks, DelayMaxTicks;
        public bool Finishing;
        /// <summary>Which episode this is, unique for the buffer's life: a new one at each Start, revivals included.</summary>
        public long Episode;
        /// <summary>The newest place in the node's downlink dropped for a cap: anything older that turns up later goes too.</summary>
        public long DroppedThrough = long.MinValue;
    }

    private readonly HandoverBufferLimits _limits;
    private readonly IVerdicts _verdicts;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NodeBuffer> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<Ipv6Prefix, NodeBuffer> _byPrefix = new();
    private readonly PrefixLengths _lengths = new();
    private readonly LinkedList<BufferEpisode> _episodes = new();
    private int _total;
    private long _held, _released, _passed;
    private readonly long[] _dropped = new long[4];
    private long _nextEpisode;

    public HandoverBuffer(HandoverBufferLimits limits, IVerdicts verdicts)
    {
        _limits = limits;
        _verdicts = verdicts;
    }

    public HandoverBufferLimits Limits => _limits;
    public long HeldTotal { get { lock (_lock) return _held; } }
    public long ReleasedTotal { get { lock (_lock) return _released; } }
    public long PassedTotal { get { lock (_lock) return _passed; } }
    public long Dropped(BufferDropReason reason) { lock (_lock) return _dropped[(int)reason]; }
    public int PacketsHeld { get { lock (_lock) return _total; } }
    public int NodesBuffering { get { lock (_lock) return _nodes.Count; } }

    public IReadOnlyList<BufferEpisode> RecentEpisodes()
    {
        lock (_lock)
            return [.. _episodes];
    }

    public static string ReasonName(BufferDropReason reason) => reason switch
    {
        BufferDropReason.OverflowNode => "overflow-node",
        BufferDropReason.OverflowGlobal => "overflow-global",
        BufferDropReason.Expired => "expired",
        _ => "discarded",
    };

    public bool IsBuffering(string mobileNodeId)
    {
        lock (_lock)
            return _nodes.ContainsKey(mobileNodeId);
    }

    /// <summary>Starts holding <paramref name="mobileNodeId"/>'s downlink (its de-registration was accepted).</summary>
    public void Start(string mobileNodeId, IReadOnlyList<Ipv6Prefix> prefixes, long now)
    {
        lock (_lock)
        {
            if (_nodes.TryGetValue(mobileNodeId, out var existing))
            {
                // A second de-registration while held (retransmitted, or the node left again while its last flush was
                // ending): keep what is held, start over a flush. A completion already asked for the episode before is
                // then not this one's (Complete compares episodes). Once a flush ran, what the MAG now left sends back
                // went out after the packets a cap dropped: oldest first no longer means dropping it with them.
                if (existing.FlushStartedAt >= 0)
                    existing.DroppedThrough = long.MinValue;
                existing.FlushStartedAt = -1;
                existing.Finishing = false;
                existing.Episode = ++_nextEpisode;
                return;
            }
            var node = new NodeBuffer(mobileNodeId, [.. prefixes.Select(PrefixLengths.Normalize)], now, DateTimeOffset.UtcNow) { Episode = ++_nextEpisode };
            _nodes[mobileNodeId] = node;
            foreach (var prefix in node.Prefixes)
            {
                _byPrefix[prefix] = node;
                _lengths.Add(prefix.Length);
            }
        }
    }

    /// <summary>A packet from the queue. False: nobody holds its destination (release it at once).</summary>
    public bool TryHold(uint packetId, Ipv6Address destination, int length, long now, long? order = null)
    {
        lock (_lock)
        {
            if (!TryFind(destination, out var node) || (node.Finishing && node.Held.Count == 0))
            {
                _passed++;
                return false;
            }
            node.Arrived++;
            _held++;
            if ((order ?? now) <= node.DroppedThrough)
            {
                // Older than what a cap already dropped (a packet a MAG returned late, put back in its place):
                // oldest first means it goes as well.
                node.Dropped++;
                _dropped[(int)BufferDropReason.OverflowNode]++;
                _verdicts.Drop(packetId);
                return true;
            }
            node.Held.Enqueue((packetId, length, now), order ?? now);
            node.Bytes += length;
            _total++;
            // Caps: the oldest go first (the newest are the most useful once the node is back).
            while (node.Held.Count > _limits.MaxPacketsPerNode || node.Bytes > _limits.MaxBytesPerNode)
                DropOldest(node, BufferDropReason.OverflowNode);
            if (_total > _limits.MaxPackets)
                DropOldestGlobally();
            if (node.Held.Count > node.Peak)
                node.Peak = node.Held.Count;
            if (node.Bytes > node.PeakBytes)
                node.PeakBytes = node.Bytes;
            return true;
        }
    }

    /// <summary>The new binding's route is installed: release what is held, paced, in order.</summary>
    public bool Flush(string mobileNodeId, long now)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(mobileNodeId, out var node) || node.FlushStartedAt >= 0)
                return false;
            node.FlushStartedAt = now;
            node.LastTick = now;
            var heldFor = Math.Max(1, now - node.StartedAt);
            var arrivalRate = node.Arrived * (double)Stopwatch.Frequency / heldFor;
            node.Rate = _limits.Adaptive ? Math.Max(_limits.FlushRate, 2 * arrivalRate) : _limits.FlushRate;
            node.Tokens = 1; // the first packet goes at once
            return true;
        }
    }

    /// <summary>No new binding will come (the session was removed): drop what is held.</summary>
    public bool Discard(string mobileNodeId, string outcome)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(mobileNodeId, out var node))
                return false;
            while (node.Held.Count > 0)
                DropOldest(node, BufferDropReason.Discarded);
            End(node, Stopwatch.GetTimestamp(), outcome);
            return true;
        }
    }

    /// <summary>
    /// The pacer's tick: releases what each flushing node's rate allows, drops what waited too long, and
    /// returns the nodes whose queue is now empty after a flush (their queue rules can go) or that expired.
    /// </summary>
    public void Tick(long now, List<FinishedNode> finished)
    {
        lock (_lock)
        {
            List<NodeBuffer>? ended = null;
            foreach (var node in _nodes.Values)
            {
                if (node.FlushStartedAt < 0)
                {
                    if (now - node.StartedAt > _limits.MaxHoldTime.TotalSeconds * Stopwatch.Frequency)
                    {
                        while (node.Held.Count > 0)
                            DropOldest(node, BufferDropReason.Expired);
                        (ended ??= []).Add(node);
                        finished.Add(new FinishedNode(node.MobileNodeId, node.Prefixes, Expired: true, node.Episode));
                    }
                    continue;
                }
                node.Tokens = Math.Min(node.Tokens + (now - node.LastTick) * node.Rate / Stopwatch.Frequency, Math.Max(1, node.Rate / 100));
                node.LastTick = now;
                while (node.Held.Count > 0 && node.Tokens >= 1)
                {
                    node.Tokens -= 1;
                    ReleaseOldest(node, now);
                }
                if (node.Held.Count == 0 && !node.Finishing)
                {
                    node.Finishing = true;
                    finished.Add(new FinishedNode(node.MobileNodeId, node.Prefixes, Expired: false, node.Episode));
                }
            }
            if (ended is not null)
                foreach (var node in ended)
                    End(node, now, "expired");
        }
    }

    /// <summary>
    /// The node's queue rules are gone: release any straggler that slipped in meanwhile and forget the node. With
    /// <paramref name="episode"/> (the one Tick reported finished), only while that episode lasts: false when the node was
    /// de-registered again meanwhile (its new episode goes on holding; its rules are being added again behind this).
    /// </summary>
    public bool Complete(string mobileNodeId, long now, long? episode = null)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(mobileNodeId, out var node) || (episode is { } e && node.Episode != e))
                return false;
            while (node.Held.Count > 0)
                ReleaseOldest(node, now);
            End(node, now, "flushed");
            return true;
        }
    }

    /// <summary>Whether any node is being buffered (the pacer has work).</summary>
    public bool AnyActive
    {
        get { lock (_lock) return _nodes.Count > 0; }
    }

    private void End(NodeBuffer node, long now, string outcome)
    {
        _nodes.Remove(node.MobileNodeId);
        foreach (var prefix in node.Prefixes)
        {
            _byPrefix.Remove(prefix);
            _lengths.Remove(prefix.Length);
        }
        var f = (double)Stopwatch.Frequency;
        var flush = node.FlushStartedAt >= 0 ? TimeSpan.FromSeconds((now - node.FlushStartedAt) / f) : TimeSpan.Zero;
        var heldUntil = node.FlushStartedAt >= 0 ? node.FlushStartedAt : now;
        _episodes.AddFirst(new BufferEpisode(node.MobileNodeId, node.StartedAtUtc, TimeSpan.FromSeconds((heldUntil - node.StartedAt) / f),
            node.Arrived, node.Peak, node.PeakBytes, node.Released, node.Dropped, flush,
            TimeSpan.FromSeconds(node.DelayMaxTicks / f), node.Released == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(node.DelaySumTicks / f / node.Released),
            outcome));
        if (_episodes.Count > 64)
            _episodes.RemoveLast();
    }

    private void ReleaseOldest(NodeBuffer node, long now)
    {
        var (id, length, at) = node.Held.Dequeue();
        node.Bytes -= length;
        node.Released++;
        _total--;
        _released++;
        node.DelaySumTicks += now - at;
        node.DelayMaxTicks = Math.Max(node.DelayMaxTicks, now - at);
        _verdicts.Accept(id);
    }

    private void DropOldest(NodeBuffer node, BufferDropReason reason)
    {
        var (id, length, _) = node.Held.Dequeue(out var order);
        if (reason is BufferDropReason.OverflowNode or BufferDropReason.OverflowGlobal && order > node.DroppedThrough)
            node.DroppedThrough = order;
        node.Bytes -= length;
        node.Dropped++;
        _total--;
        _dropped[(int)reason]++;
        _verdicts.Drop(id);
    }

    private void DropOldestGlobally()
    {
        // The node holding the most pays for a global overflow: others keep theirs.
        NodeBuffer? largest = null;
        foreach (var node in _nodes.Values)
            if (node.Held.Count > 0 && (largest is null || node.Held.Count > largest.Held.Count))
                largest = node;
        if (largest is not null)
            DropOldest(largest, BufferDropReason.OverflowGlobal);
    }

    private bool TryFind(Ipv6Address destination, out NodeBuffer node)
    {
        foreach (var length in _lengths.Current)
            if (_byPrefix.TryGetValue(new Ipv6Prefix(destination.Mask(length), length), out node!))
                return true;
        node = null!;
        return false;
    }


}
