// Mutations of valid packets for robustness testing of the decoders: bit flips, truncation,
// length-field lies, option splicing and random overwrites. Deterministic for a given seed.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire.Fuzzing;

public enum Mutation : byte
{
    BitFlips,
    Truncate,
    LengthLie,
    OptionSplice,
    Overwrite,
    Extend,
}

public sealed class PacketMutator
{
    private readonly Random _random;
    private readonly byte[][] _corpus;

    public PacketMutator(IReadOnlyList<byte[]> corpus, int seed)
    {
        if (corpus.Count == 0)
            throw new ArgumentException("the corpus is empty", nameof(corpus));
        _corpus = corpus.ToArray();
        _random = new Random(seed);
    }

    public const int MaxPacketLength = 4096;

    /// <summary>
    /// Writes one mutated packet into <paramref name="destination"/> (at least
    /// <see cref="MaxPacketLength"/> octets) and returns its length.
    /// </summary>
    public int Next(Span<byte> destination, out Mutation mutation)
    {
        var source = _corpus[_random.Next(_corpus.Length)];
        source.CopyTo(destination);
        var length = source.Length;
        mutation = (Mutation)_random.Next(6);
        var rounds = 1 + (_random.Next(4) == 0 ? _random.Next(3) : 0);
        for (var r = 0; r < rounds; r++)
            length = Apply(r == 0 ? mutation : (Mutation)_random.Next(6), destination, length);
        // Half of the time keep the IPv6 payload length honest, so the mutation reaches the MH / ND decoders.
        if (length >= Ipv6Packet.HeaderLength && _random.Next(2) == 0)
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(length - Ipv6Packet.HeaderLength));
        return length;
    }

    private int Apply(Mutation mutation, Span<byte> p, int length)
    {
        if (length == 0)
            return length;
        switch (mutation)
        {
            case Mutation.BitFlips:
                for (int i = 0, n = 1 + _random.Next(8); i < n; i++)
                    p[_random.Next(length)] ^= (byte)(1 << _random.Next(8));
                return length;
            case Mutation.Truncate:
                return _random.Next(length);
            case Mutation.LengthLie:
            {
                // Lie in a length field: IPv6 payload length, MH Header Len, or an option's Length.
                var choice = _random.Next(3);
                if (choice == 0 && length > 5)
                    BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)_random.Next(0, 0x10000));
                else if (choice == 1 && length > Ipv6Packet.HeaderLength + 1)
                    p[Ipv6Packet.HeaderLength + 1] = (byte)_random.Next(256);
                else if (length > Ipv6Packet.HeaderLength + 13)
                {
                    var at = _random.Next(Ipv6Packet.HeaderLength + 12, length);
                    p[at] = (byte)(_random.Next(4) == 0 ? 255 : p[at] + _random.Next(-3, 4));
                }
                return length;
            }
            case Mutation.OptionSplice:
            {
                // Copy a run of bytes from the option area of another packet over or into this one.
                var other = _corpus[_random.Next(_corpus.Length)];
                if (other.Length <= Ipv6Packet.HeaderLength + 12 || length <= Ipv6Packet.HeaderLength + 12)
                    return length;
                var from = _random.Next(Ipv6Packet.HeaderLength + 12, other.Length);
                var count = Math.Min(_random.Next(1, 24), other.Length - from);
                var to = _random.Next(Ipv6Packet.HeaderLength + 12, length);
                if (_random.Next(2) == 0 && length + count <= MaxPacketLength)
                {
                    p[to..length].CopyTo(p[(to + count)..]);
                    length += count;
                }
                count = Math.Min(count, length - to);
                other.AsSpan(from, count).CopyTo(p[to..]);
                return length;
            }
            case Mutation.Overwrite:
                for (int i = 0, n = 1 + _random.Next(4); i < n; i++)
                    p[_random.Next(length)] = (byte)_random.Next(256);
                return length;
            case Mutation.Extend:
            {
                var extra = Math.Min(_random.Next(1, 64), MaxPacketLength - length);
                _random.NextBytes(p.Slice(length, extra));
                return length + extra;
            }
            default:
                return length;
        }
    }
}
