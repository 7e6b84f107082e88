// RFC 8200 §3 (IPv6 header) and §4 (extension headers): enough to find the Mobility Header or
// ICMPv6 message behind hop-by-hop, routing, fragment and destination options headers.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Source Address (128 bits)                    |
//  |                Destination Address (128 bits)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>IANA protocol numbers used on the IPv6 next-header chain.</summary>
public static class IpProtocol
{
    public const byte HopByHopOptions = 0;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Ipv6 = 41;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte Esp = 50;
    public const byte AuthenticationHeader = 51;
    public const byte Icmpv6 = 58;
    public const byte NoNextHeader = 59;
    public const byte DestinationOptions = 60;
    public const byte MobilityHeader = 135;
}

/// <summary>A decoded IPv6 packet: the fixed header and the upper-layer payload found behind it.</summary>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;
    private const int PayloadLengthOffset = 4;
    private const int NextHeaderOffset = 6;
    private const int HopLimitOffset = 7;
    private const int SourceOffset = 8;
    private const int DestinationOffset = 24;

    public byte TrafficClass { get; init; }
    public uint FlowLabel { get; init; }
    public byte HopLimit { get; init; }
    public Ipv6Address Source { get; init; }
    public Ipv6Address Destination { get; init; }
    /// <summary>Protocol number of the upper layer (after every extension header).</summary>
    public byte UpperLayerProtocol { get; init; }
    /// <summary>Octet offset of the upper-layer header within the packet.</summary>
    public int UpperLayerOffset { get; init; }
    /// <summary>The upper-layer header and its data, bounded by the IPv6 payload length.</summary>
    public ReadOnlySpan<byte> UpperLayer { get; init; }
    /// <summary>True when a non-first fragment was found: its upper layer cannot be decoded.</summary>
    public bool IsLaterFragment { get; init; }

    /// <summary>
    /// Decodes the IPv6 header of <paramref name="packet"/> and walks the extension headers.
    /// Octets past the payload length (link padding) are ignored; a payload length beyond the buffer
    /// is an error. Jumbograms (payload length 0) are refused.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> packet, out Ipv6Packet result, out DecodeError error, DecodeLimits? limits = null)
    {
        limits ??= DecodeLimits.Default;
        result = default;
        if (packet.Length < HeaderLength)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "ipv6.header", packet.Length);
        var first = BinaryPrimitives.ReadUInt32BigEndian(packet);
        if (first >> 28 != 6)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "ipv6.version", 0);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[PayloadLengthOffset..]);
        if (payloadLength == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "ipv6.payload_length", PayloadLengthOffset);
        if (HeaderLength + payloadLength > packet.Length)
            return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "ipv6.payload_length", PayloadLengthOffset);
        var end = HeaderLength + payloadLength;
        var next = packet[NextHeaderOffset];
        var offset = HeaderLength;
        var laterFragment = false;
        for (var walked = 0; ; walked++)
        {
            if (!IsExtensionHeader(next) || laterFragment)
                break;
            if (walked == limits.MaxExtensionHeaders)
                return DecodeError.Fail(out error, DecodeErrorReason.LimitExceeded, "ipv6.extension_headers", offset);
            if (offset + 8 > end)
                return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "ipv6.extension_header", offset);
            int length = next switch
            {
                IpProtocol.Fragment => 8,
                IpProtocol.AuthenticationHeader => (packet[offset + 1] + 2) * 4,
                _ => (packet[offset + 1] + 1) * 8,
            };
            if (offset + length > end)
                return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "ipv6.extension_header.length", offset + 1);
            if (next == IpProtocol.Fragment)
                laterFragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) & 0xFFF8) != 0;
            next = packet[offset];
            offset += length;
        }
        result = new Ipv6Packet
        {
            TrafficClass = (byte)(first >> 20),
            FlowLabel = first & 0xFFFFF,
            HopLimit = packet[HopLimitOffset],
            Source = Ipv6Address.Read(packet[SourceOffset..]),
            Destination = Ipv6Address.Read(packet[DestinationOffset..]),
            UpperLayerProtocol = next,
            UpperLayerOffset = offset,
            UpperLayer = packet[offset..end],
            IsLaterFragment = laterFragment,
        };
        error = default;
        return true;
    }

    private static bool IsExtensionHeader(byte protocol) => protocol is IpProtocol.HopByHopOptions or IpProtocol.Routing
        or IpProtocol.Fragment or IpProtocol.DestinationOptions or IpProtocol.AuthenticationHeader;

    /// <summary>
    /// Writes a fixed IPv6 header with no extension headers into <paramref name="destination"/>.
    /// Returns false when the destination is shorter than <see cref="HeaderLength"/>.
    /// </summary>
    public static bool TryWriteHeader(Span<byte> destination, Ipv6Address source, Ipv6Address target, byte nextHeader,
        int payloadLength, byte hopLimit = 64, byte trafficClass = 0, uint flowLabel = 0)
    {
        if (destination.Length < HeaderLength || (uint)payloadLength > ushort.MaxValue)
            return false;
        BinaryPrimitives.WriteUInt32BigEndian(destination, (6u << 28) | ((uint)trafficClass << 20) | (flowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(destination[PayloadLengthOffset..], (ushort)payloadLength);
        destination[NextHeaderOffset] = nextHeader;
        destination[HopLimitOffset] = hopLimit;
        source.Write(destination[SourceOffset..]);
        target.Write(destination[DestinationOffset..]);
        return true;
    }
}
