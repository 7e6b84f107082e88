// RFC 2473 generic packet tunnelling in IPv6, IPv6 over IPv6 only (the LMA–MAG tunnel of RFC 5213
// §6.10.4 / §6.10.5): the entry point prepends a tunnel IPv6 header with next header 41, the exit
// point strips it and forwards what is inside.
//
//   +----------------------------+-----------------------------------------+
//   | tunnel IPv6 header (nh 41) | original IPv6 packet (header + payload) |
//   +----------------------------+-----------------------------------------+
//
// Tunnel header fields (RFC 2473 §6.3, §6.4): the traffic class is "the traffic class of the original
// packet or a pre-configured value" — we copy the inner one unless the caller configures a value;
// the flow label is "a pre-configured value" — zero (unspecified) unless the caller configures one;
// the hop limit is the tunnel's configured value. Decrementing the inner hop limit before
// encapsulation (§3.1) is the forwarding code's job, not the codec's. Pure Span code: nothing
// allocates, nothing throws.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public static class Ipv6InIpv6
{
    /// <summary>Octets the tunnel adds in front of the inner packet (a tunnel header without extension headers).</summary>
    public const int Overhead = Ipv6Packet.HeaderLength;

    /// <summary>The largest inner packet that still fits the outer payload length field.</summary>
    public const int MaxInnerLength = ushort.MaxValue;

    /// <summary>
    /// Writes the tunnel header and then <paramref name="inner"/> into <paramref name="destination"/>.
    /// <paramref name="inner"/> may lie anywhere in <paramref name="destination"/> (e.g. at offset
    /// <see cref="Overhead"/>, encapsulating in place): it is copied before the header is written.
    /// Returns false (written = 0, destination untouched) when the inner is not an IPv6 packet
    /// (shorter than 40 octets or version not 6), longer than <see cref="MaxInnerLength"/>, or the
    /// destination is shorter than <see cref="Overhead"/> + inner length.
    /// </summary>
    /// <param name="trafficClass">The tunnel traffic class; null copies the inner packet's (RFC 2473 §6.3).</param>
    /// <param name="flowLabel">The tunnel flow label (20 bits; RFC 2473 §6.4: pre-configured, 0 = unspecified).</param>
    public static bool TryEncapsulate(ReadOnlySpan<byte> inner, Span<byte> destination, Ipv6Address tunnelSource,
        Ipv6Address tunnelDestination, byte hopLimit, out int written, byte? trafficClass = null, uint flowLabel = 0)
    {
        written = 0;
        if (inner.Length < Ipv6Packet.HeaderLength || inner.Length > MaxInnerLength
            || destination.Length < Overhead + inner.Length)
            return false;
        var first = BinaryPrimitives.ReadUInt32BigEndian(inner);
        if (first >> 28 != 6)
            return false;
        var tc = trafficClass ?? (byte)(first >> 20);
        var length = inner.Length;
        inner.CopyTo(destination[Overhead..]); // memmove semantics: safe when inner overlaps destination
        Ipv6Packet.TryWriteHeader(destination, tunnelSource, tunnelDestination, IpProtocol.Ipv6, length, hopLimit, tc, flowLabel);
        written = Overhead + length;
        return true;
    }

    /// <summary>
    /// Decodes a tunnelled packet: the outer IPv6 header must carry next header 41, directly or behind
    /// extension headers (walked by <see cref="Ipv6Packet.TryDecode"/>; a non-first fragment is
    /// refused, as the exit point must reassemble first), and the inner must look like an IPv6 packet:
    /// at least 40 octets, version 6, a non-zero payload length that fits in the outer payload.
    /// <paramref name="inner"/> is bounded by the inner payload length (octets of the outer payload past
    /// it are dropped). Never throws.
    /// </summary>
    public static bool TryDecapsulate(ReadOnlySpan<byte> outer, out Ipv6Address tunnelSource, out Ipv6Address tunnelDestination,
        out ReadOnlySpan<byte> inner, out DecodeError error, DecodeLimits? limits = null)
    {
        tunnelSource = default;
        tunnelDestination = default;
        inner = default;
        if (!Ipv6Packet.TryDecode(outer, out var packet, out error, limits))
            return false;
        if (packet.IsLaterFragment)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "ipv6.fragment", packet.UpperLayerOffset);
        if (packet.UpperLayerProtocol != IpProtocol.Ipv6)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "ipv6.next_header", packet.UpperLayerOffset);
        var offset = packet.UpperLayerOffset;
        var candidate = packet.UpperLayer;
        if (candidate.Length < Ipv6Packet.HeaderLength)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "tunnel.inner.header", offset);
        if (candidate[0] >> 4 != 6)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "tunnel.inner.version", offset);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(candidate[4..]);
        if (payloadLength == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "tunnel.inner.payload_length", offset + 4);
        if (Ipv6Packet.HeaderLength + payloadLength > candidate.Length)
            return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "tunnel.inner.payload_length", offset + 4);
        tunnelSource = packet.Source;
        tunnelDestination = packet.Destination;
        inner = candidate[..(Ipv6Packet.HeaderLength + payloadLength)];
        error = default;
        return true;
    }
}
