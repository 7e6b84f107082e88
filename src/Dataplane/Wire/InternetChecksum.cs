// RFC 1071 Internet checksum and the IPv6 upper-layer pseudo-header of RFC 8200 §8.1, used by the
// Mobility Header (RFC 6275 §6.1.1) and ICMPv6 (RFC 4443 §2.3).
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to a running one's-complement sum (not yet folded).</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            var word = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += word >> 32;
            sum += word & 0xFFFFFFFF;
        }
        for (; i + 2 <= data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (ulong)data[i] << 8;
        return sum;
    }

    public static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>
    /// The checksum value to store in the header: one's complement of the one's-complement sum of the
    /// pseudo-header (source, destination, upper-layer length, next header) and the upper-layer
    /// <paramref name="payload"/>, whose checksum field must be zero.
    /// </summary>
    public static ushort Compute(Ipv6Address source, Ipv6Address destination, byte nextHeader, ReadOnlySpan<byte> payload)
    {
        var sum = PseudoHeaderSum(source, destination, nextHeader, payload.Length);
        var value = (ushort)~Fold(Add(sum, payload));
        return value;
    }

    /// <summary>True when the checksum stored in <paramref name="payload"/> verifies.</summary>
    public static bool Verify(Ipv6Address source, Ipv6Address destination, byte nextHeader, ReadOnlySpan<byte> payload)
    {
        var sum = PseudoHeaderSum(source, destination, nextHeader, payload.Length);
        return Fold(Add(sum, payload)) == 0xFFFF;
    }

    private static ulong PseudoHeaderSum(Ipv6Address source, Ipv6Address destination, byte nextHeader, int length)
    {
        Span<byte> pseudo = stackalloc byte[40];
        source.Write(pseudo);
        destination.Write(pseudo[16..]);
        BinaryPrimitives.WriteUInt32BigEndian(pseudo[32..], (uint)length);
        BinaryPrimitives.WriteUInt32BigEndian(pseudo[36..], nextHeader);
        return Add(0, pseudo);
    }
}
