// The per-packet decisions of the userspace IPv6-in-IPv6 tunnel (RFC 2473), kept free of sockets so
// they are specified by plain tests. Both ends run the same two directions with the key swapped:
//
//   role      encapsulate (TUN -> tunnel)              decapsulate (tunnel -> TUN)
//   Anchor    downlink, keyed on the inner destination  uplink, keyed on the inner source
//   (LMA)     -> the binding's proxy-CoA                accepted only from that proxy-CoA (RFC 5213 §5.6.2)
//   Gateway   uplink, keyed on the inner source         downlink, keyed on the inner destination
//   (MAG)     -> the LMA of the MN's binding            accepted only from that LMA (§6.10.5)
//
// The outer header is the kernel's (raw socket, next header 41), so forwarding never copies a packet.
// Every packet that is not forwarded is counted by reason.
using System.Buffers.Binary;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

public enum TunnelRole : byte
{
    /// <summary>The LMA: home network prefixes are routed into the TUN, bindings say which MAG serves each.</summary>
    Anchor,
    /// <summary>The MAG: its MNs' uplink is routed into the TUN (source-based), the LMA's tunnel brings their downlink.</summary>
    Gateway,
}

public enum ForwardingVerdict : byte
{
    Forward,
    /// <summary>Not an IPv6 packet, or shorter than its header.</summary>
    Malformed,
    /// <summary>No binding covers the packet's MN address.</summary>
    NoBinding,
    /// <summary>A binding exists but the tunnel packet came from another endpoint than the binding's.</summary>
    WrongTunnelEndpoint,
    /// <summary>A link-local or multicast address (the kernel's own ND/MLD on the TUN device): never tunnelled.</summary>
    LinkScope,
    /// <summary>
    /// At a MAG: downlink for an MN that has just left this MAG; it goes back to the LMA through the tunnel
    /// (to join the handover buffer there) instead of being lost.
    /// </summary>
    ReturnToAnchor,
    /// <summary>At the LMA: such a returned downlink packet, from a MAG, for one of our bound prefixes.</summary>
    Returned,
    /// <summary>
    /// At an LMA node of a cluster: uplink whose source lies in the pool but is bound on no binding here — its bucket
    /// runs on another node, to which it is relayed (the owner applies the proxy-CoA check).
    /// </summary>
    OtherAnchor,
}

/// <summary>Drop and traffic counters of one node's tunnel, lock-free.</summary>
public sealed class ForwardingCounters
{
    private long _encapsulated, _encapsulatedBytes, _decapsulated, _decapsulatedBytes;
    private readonly long[] _encapsulateDrops = new long[8];
    private readonly long[] _decapsulateDrops = new long[8];
    private long _relayedIn;
    private long _sendErrors, _writeErrors, _readErrors, _receiveErrors;

    public long Encapsulated => Interlocked.Read(ref _encapsulated);
    public long EncapsulatedBytes => Interlocked.Read(ref _encapsulatedBytes);
    public long Decapsulated => Interlocked.Read(ref _decapsulated);
    public long DecapsulatedBytes => Interlocked.Read(ref _decapsulatedBytes);
    public long SendErrors => Interlocked.Read(ref _sendErrors);
    public long WriteErrors => Interlocked.Read(ref _writeErrors);
    public long ReadErrors => Interlocked.Read(ref _readErrors);
    public long ReceiveErrors => Interlocked.Read(ref _receiveErrors);

    public long EncapsulateDrops(ForwardingVerdict reason) => Interlocked.Read(ref _encapsulateDrops[(int)reason]);
    public long DecapsulateDrops(ForwardingVerdict reason) => Interlocked.Read(ref _decapsulateDrops[(int)reason]);

    internal void Encapsulate(ForwardingVerdict verdict, int bytes)
    {
        if (verdict == ForwardingVerdict.Forward)
        {
            Interlocked.Increment(ref _encapsulated);
            Interlocked.Add(ref _encapsulatedBytes, bytes);
        }
        else
            Interlocked.Increment(ref _encapsulateDrops[(int)verdict]);
    }

    internal void Decapsulate(ForwardingVerdict verdict, int bytes)
    {
        if (verdict == ForwardingVerdict.Forward)
        {
            Interlocked.Increment(ref _decapsulated);
            Interlocked.Add(ref _decapsulatedBytes, bytes);
        }
        else
            Interlocked.Increment(ref _decapsulateDrops[(int)verdict]);
    }

    private long _returnedDropped;
    private long _returnedForwarded;

    /// <summary>A returned packet the LMA could neither buffer nor forward (it would have gone back where it came from).</summary>
    public void ReturnedDropped() => Interlocked.Increment(ref _returnedDropped);

    /// <summary>
    /// A returned packet that came back after its node's binding had moved on and no buffer took it: sent straight to the
    /// node's current MAG, behind whatever the node received since (a late return, the one way a buffered handover reorders).
    /// </summary>
    public void ReturnedForwarded() => Interlocked.Increment(ref _returnedForwarded);

    /// <summary>Uplink another node of the cluster relayed to this one (its bucket is ours), whatever became of it.</summary>
    public void RelayedIn() => Interlocked.Increment(ref _relayedIn);

    internal void SendError() => Interlocked.Increment(ref _sendErrors);
    internal void WriteError() => Interlocked.Increment(ref _writeErrors);
    internal void ReadError() => Interlocked.Increment(ref _readErrors);
    internal void ReceiveError() => Interlocked.Increment(ref _receiveErrors);

    /// <summary>Every counter as (name, reason, value), for /metrics.</summary>
    public IEnumerable<(string Name, string Reason, long Value)> All()
    {
        yield return ("tunnel_encapsulated_packets_total", "", Encapsulated);
        yield return ("tunnel_encapsulated_bytes_total", "", EncapsulatedBytes);
        yield return ("tunnel_decapsulated_packets_total", "", Decapsulated);
        yield return ("tunnel_decapsulated_bytes_total", "", DecapsulatedBytes);
        foreach (var reason in (ForwardingVerdict[])[ForwardingVerdict.Malformed, ForwardingVerdict.NoBinding, ForwardingVerdict.WrongTunnelEndpoint, ForwardingVerdict.LinkScope])
        {
            yield return ("tunnel_encapsulate_dropped_total", ReasonName(reason), EncapsulateDrops(reason));
            yield return ("tunnel_decapsulate_dropped_total", ReasonName(reason), DecapsulateDrops(reason));
        }
        yield return ("tunnel_returned_to_lma_total", "", DecapsulateDrops(ForwardingVerdict.ReturnToAnchor));
        // Downlink the kernel routed back into the tunnel device (the node's access route had just vanished).
        yield return ("tunnel_returned_from_kernel_total", "", EncapsulateDrops(ForwardingVerdict.ReturnToAnchor));
        yield return ("tunnel_returned_by_mag_total", "", DecapsulateDrops(ForwardingVerdict.Returned));
        yield return ("tunnel_returned_dropped_total", "", Interlocked.Read(ref _returnedDropped));
        yield return ("tunnel_returned_forwarded_total", "", Interlocked.Read(ref _returnedForwarded));
        // Cluster: uplink for a bucket of another node, relayed to it; and uplink relayed here by another node.
        yield return ("tunnel_relayed_to_owner_total", "", DecapsulateDrops(ForwardingVerdict.OtherAnchor));
        yield return ("tunnel_relayed_from_peer_total", "", Interlocked.Read(ref _relayedIn));
        yield return ("tunnel_send_errors_total", "", SendErrors);
        yield return ("tunnel_write_errors_total", "", WriteErrors);
        yield return ("tunnel_read_errors_total", "", ReadErrors);
        yield return ("tunnel_receive_errors_total", "", ReceiveErrors);
    }

    public static string ReasonName(ForwardingVerdict verdict) => verdict switch
    {
        ForwardingVerdict.Malformed => "malformed",
        ForwardingVerdict.NoBinding => "no-binding",
        ForwardingVerdict.WrongTunnelEndpoint => "wrong-tunnel-endpoint",
        ForwardingVerdict.LinkScope => "link-scope",
        ForwardingVerdict.ReturnToAnchor => "returned-to-lma",
        ForwardingVerdict.Returned => "returned-by-mag",
        ForwardingVerdict.OtherAnchor => "other-anchor",
        _ => "forward",
    };
}

/// <summary>A 64-bit FNV-1a over a packet's first 64 octets (headers and the start of the payload): enough to recognise it again.</summary>
public static class PacketFingerprint
{
    public const int Length = 64;

    /// <summary>Octet 7 of the IPv6 header, the hop limit: left out, since a MAG's kernel decrements it when it routes a packet back.</summary>
    public const int HopLimitOffset = 7;

    public static long Of(ReadOnlySpan<byte> packet)
    {
        var covered = packet[..Math.Min(Length, packet.Length)];
        var hash = Fnv(14695981039346656037UL, covered[..Math.Min(HopLimitOffset, covered.Length)]);
        return (long)(covered.Length > HopLimitOffset ? Fnv(hash, covered[(HopLimitOffset + 1)..]) : hash);
    }

    private static ulong Fnv(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }
}

/// <param name="flows">
/// At the Anchor, classify downlink into flows (issue 8) with these settings: each packet then takes its
/// flow's tunnel (the prefix's home endpoint unless moved). Null, the default, keeps prefix-only forwarding.
/// </param>
public sealed class TunnelForwarder(TunnelRole role, TunnelTable table, ForwardingCounters counters, FlowTableSettings? flows = null)
{
    private const int SourceOffset = 8;
    private const int DestinationOffset = 24;

    public TunnelRole Role { get; } = role;
    public TunnelTable Table { get; } = table;

    /// <summary>
    /// At a MAG: prefixes of MNs that just left, still pointing at their LMA for a short while, so downlink that
    /// was already on its way is returned (issue 6) rather than dropped. Entries are removed by the owner.
    /// </summary>
    public TunnelTable Departed { get; } = new();
    public ForwardingCounters Counters { get; } = counters;

    /// <summary>
    /// At the LMA: the other MAGs whose uplink for a prefix is accepted as well (a Context Reflector handover, a flow-mobility
    /// group). Empty otherwise, so it costs nothing on the usual path. Endpoints are the main table's (one set of counters per MAG).
    /// </summary>
    public UplinkAlternates Alternates { get; } = new(table.Endpoint);

    /// <summary>
    /// At an LMA node of a cluster: the home network prefix pool. Uplink from a source inside it that no binding of this
    /// node covers is <see cref="ForwardingVerdict.OtherAnchor"/> (its bucket runs on another node). Null on a lone LMA.
    /// </summary>
    public Ipv6Prefix? RelayPool { get; init; }

    /// <summary>The downlink flow table when flow classification is on (Anchor only), else null.</summary>
    public FlowTable? Flows { get; } = flows is not null && role == TunnelRole.Anchor ? new FlowTable(table, flows) : null;

    /// <summary>A packet read from the TUN: which tunnel endpoint it goes to.</summary>
    public ForwardingVerdict Encapsulate(ReadOnlySpan<byte> packet, out TunnelEndpoint endpoint)
    {
        endpoint = null!;
        var verdict = !TryReadKey(packet, Role == TunnelRole.Anchor ? DestinationOffset : SourceOffset, out var key) ? ForwardingVerdict.Malformed
            : IsLinkScope(packet) ? ForwardingVerdict.LinkScope
            : Flows is { } flows ? flows.Classify(packet, System.Diagnostics.Stopwatch.GetTimestamp(), out endpoint)
            : Table.TryLookup(key, out endpoint) ? ForwardingVerdict.Forward
            : Role == TunnelRole.Gateway && IsDownlinkBack(packet, out endpoint) ? ForwardingVerdict.ReturnToAnchor
            : ForwardingVerdict.NoBinding;
        Counters.Encapsulate(verdict, packet.Length);
        if (verdict == ForwardingVerdict.Forward)
        {
            endpoint.CountOut(packet.Length);
            if (Role == TunnelRole.Anchor)
                endpoint.RememberSent(PacketFingerprint.Of(packet), System.Diagnostics.Stopwatch.GetTimestamp());
        }
        return verdict;
    }

    /// <summary>An inner packet received from tunnel endpoint <paramref name="outerSource"/>: whether it may enter the TUN.</summary>
    /// <param name="relayed">The packet was relayed here by another node of the cluster: never <see cref="ForwardingVerdict.OtherAnchor"/> again.</param>
    public ForwardingVerdict Decapsulate(ReadOnlySpan<byte> packet, Ipv6Address outerSource, bool relayed = false)
    {
        TunnelEndpoint? endpoint = null;
        var verdict = !TryReadKey(packet, Role == TunnelRole.Anchor ? SourceOffset : DestinationOffset, out var key) ? ForwardingVerdict.Malformed
            : !Table.TryLookup(key, out endpoint) ? NotBound(packet, outerSource, key, relayed, out endpoint)
            : endpoint!.Remote != outerSource && !IsAlternate(key, outerSource, ref endpoint) ? ForwardingVerdict.WrongTunnelEndpoint
            : ForwardingVerdict.Forward;
        Counters.Decapsulate(verdict, packet.Length);
        if (verdict == ForwardingVerdict.Forward)
            endpoint!.CountIn(packet.Length);
        return verdict;
    }

    /// <summary>
    /// At a MAG, a packet from the kernel for one of our nodes (not from one): its access route is gone — the node's
    /// link vanished and the fallback route sent its downlink into the tunnel device. Back to the node's LMA.
    /// </summary>
    private bool IsDownlinkBack(ReadOnlySpan<byte> packet, out TunnelEndpoint anchor)
    {
        var destination = Ipv6Address.Read(packet.Slice(DestinationOffset, Ipv6Address.Length));
        return Table.TryLookup(destination, out anchor) || Departed.TryLookup(destination, out anchor);
    }

    private bool IsAlternate(Ipv6Address key, Ipv6Address outerSource, ref TunnelEndpoint? endpoint)
    {
        if (Role != TunnelRole.Anchor || !Alternates.TryFind(key, outerSource, out var alternate))
            return false;
        endpoint = alternate;
        return true;
    }

    /// <summary>Where a <see cref="ForwardingVerdict.ReturnToAnchor"/> packet goes: the LMA the departed prefix was bound to.</summary>
    public bool TryReturnTarget(ReadOnlySpan<byte> packet, out TunnelEndpoint anchor)
    {
        anchor = null!;
        return packet.Length >= Ipv6Packet.HeaderLength && Departed.TryLookup(Ipv6Address.Read(packet.Slice(DestinationOffset, Ipv6Address.Length)), out anchor);
    }

    private ForwardingVerdict NotBound(ReadOnlySpan<byte> packet, Ipv6Address outerSource, Ipv6Address key, bool relayed, out TunnelEndpoint? endpoint)
    {
        endpoint = null;
        if (Role == TunnelRole.Gateway)
            // Downlink for a node that left: back to the LMA it came from, never anywhere else.
            return Departed.TryLookup(key, out var anchor) && anchor.Remote == outerSource ? Return(anchor, out endpoint) : ForwardingVerdict.NoBinding;
        // At the LMA, a packet whose source is no MN of ours but whose destination is: a MAG returned it.
        var destination = Ipv6Address.Read(packet.Slice(DestinationOffset, Ipv6Address.Length));
        return Table.TryLookup(destination, out _) ? ForwardingVerdict.Returned
            : !relayed && RelayPool is { } pool && pool.Contains(key) ? ForwardingVerdict.OtherAnchor
            : ForwardingVerdict.NoBinding;
    }

    private static ForwardingVerdict Return(TunnelEndpoint anchor, out TunnelEndpoint? endpoint)
    {
        endpoint = anchor;
        return ForwardingVerdict.ReturnToAnchor;
    }

    private static bool IsLinkScope(ReadOnlySpan<byte> packet)
    {
        var destination = packet[DestinationOffset];
        return destination == 0xff || (destination == 0xfe && (packet[DestinationOffset + 1] & 0xc0) == 0x80);
    }

    private static bool TryReadKey(ReadOnlySpan<byte> packet, int offset, out Ipv6Address key)
    {
        if (packet.Length < Ipv6Packet.HeaderLength || packet[0] >> 4 != 6
            || BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + Ipv6Packet.HeaderLength > packet.Length)
        {
            key = default;
            return false;
        }
        key = Ipv6Address.Read(packet.Slice(offset, Ipv6Address.Length));
        return true;
    }
}
