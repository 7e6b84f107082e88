// The key a downlink packet is classified by (issue 8): source, destination, upper-layer protocol, source
// port, destination port — and the flow label only where there are no ports. A transport connection is its
// 5-tuple; its flow label is not stable: Linux derives it from the socket's transmit hash and draws a new hash
// on every retransmission timeout and on a spurious retransmission (net.core.txrehash, on by default), so a
// TCP connection changes labels exactly when its path is lossy — when a move on loss has just pinned it
// elsewhere (the lab's flow scenario saw a moved TCP flow come back as a new, unpinned flow on its old path).
// Without ports (fragments, ESP, unknown protocols) the label is what tells flows between two addresses apart. The extension-header chain (RFC 8200 §4) is walked with every
// length checked against the payload; the walk never reads past the packet nor throws. Ports are read only
// where they are certain: TCP, UDP, UDP-Lite, SCTP and DCCP headers that are wholly in an unfragmented
// packet. Every fragment (the first one too, so one datagram's fragments stay in one flow), unknown
// protocols, ESP, and chains that are too long or truncated give a port-less key.
using System.Buffers.Binary;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

public readonly record struct FlowKey(
    Ipv6Address Source,
    Ipv6Address Destination,
    uint FlowLabel,
    byte NextHeader,
    ushort SourcePort,
    ushort DestinationPort,
    bool HasPorts)
{
    public const int DefaultMaxExtensionHeaders = 8;
    private const int SourceOffset = 8;
    private const int DestinationOffset = 24;
    private const int Dccp = 33, Sctp = 132, UdpLite = 136;

    /// <summary>A well-mixed 64-bit hash of every field (the flow table's bucket index).</summary>
    public ulong Hash64()
    {
        var h = Mix((ulong)Source.Value ^ (ulong)(Source.Value >> 64) * 0x9E3779B97F4A7C15UL);
        h = Mix(h ^ (ulong)Destination.Value ^ (ulong)(Destination.Value >> 64) * 0xC2B2AE3D27D4EB4FUL);
        return Mix(h ^ ((ulong)FlowLabel << 40 | (ulong)NextHeader << 32 | (ulong)SourcePort << 16 | DestinationPort) ^ (HasPorts ? 1UL << 63 : 0));
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        return x ^ (x >> 33);
    }

    /// <summary>
    /// Reads the key of an IPv6 packet; false only when the fixed header itself is unusable (shorter than
    /// 40 octets, not version 6, payload length past the buffer), which the forwarder calls malformed.
    /// A zero payload length (empty, or a jumbogram's) leaves nothing to walk: a port-less key.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> packet, out FlowKey key, int maxExtensionHeaders = DefaultMaxExtensionHeaders)
    {
        key = default;
        if (packet.Length < Ipv6Packet.HeaderLength)
            return false;
        var first = BinaryPrimitives.ReadUInt32BigEndian(packet);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        if (first >> 28 != 6 || Ipv6Packet.HeaderLength + payloadLength > packet.Length)
            return false;
        var end = Ipv6Packet.HeaderLength + payloadLength;
        var next = packet[6];
        var offset = Ipv6Packet.HeaderLength;
        var fragmented = false;
        var complete = false;
        for (var walked = 0; walked <= maxExtensionHeaders; walked++)
        {
            int length;
            switch (next)
            {
                case IpProtocol.HopByHopOptions or IpProtocol.Routing or IpProtocol.DestinationOptions:
                    length = offset + 2 <= end ? (packet[offset + 1] + 1) * 8 : int.MaxValue;
                    break;
                case IpProtocol.AuthenticationHeader:
                    length = offset + 2 <= end ? (packet[offset + 1] + 2) * 4 : int.MaxValue;
                    break;
                case IpProtocol.Fragment:
                    length = 8;
                    fragmented = true;
                    break;
                default:
                    complete = true;
                    length = 0;
                    break;
            }
            if (complete || walked == maxExtensionHeaders || length > end - offset)
                break; // the upper layer, or a chain we will not follow further: key on the header reached
            next = packet[offset];
            offset += length;
        }
        var hasPorts = complete && !fragmented && CarriesPorts(next) && offset + 4 <= end;
        key = new FlowKey(
            Ipv6Address.Read(packet.Slice(SourceOffset, Ipv6Address.Length)),
            Ipv6Address.Read(packet.Slice(DestinationOffset, Ipv6Address.Length)),
            hasPorts ? 0u : first & 0xFFFFF,
            next,
            hasPorts ? BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]) : (ushort)0,
            hasPorts ? BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) : (ushort)0,
            hasPorts);
        return true;
    }

    private static bool CarriesPorts(byte protocol) =>
        protocol is IpProtocol.Tcp or IpProtocol.Udp or UdpLite or Sctp or Dccp;

    public override string ToString() => HasPorts
        ? $"[{Source}]:{SourcePort} -> [{Destination}]:{DestinationPort} proto {NextHeader}"
        : $"{Source} -> {Destination} proto {NextHeader} label 0x{FlowLabel:x5}";
}
