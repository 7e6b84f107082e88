// ICMPv6 (RFC 4443 §2.1) Neighbor Discovery messages (RFC 4861 §4) and options (§4.6): what a MAG
// needs on its access link — Router Solicitation, Router Advertisement with Prefix Information,
// MTU and Source Link-layer Address options, Neighbor Solicitation and Advertisement.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |          Checksum             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Message Body                          |
//
// ND options: Type (8), Length (8, in units of 8 octets including Type and Length; 0 is invalid).
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public enum Icmpv6Type : byte
{
    DestinationUnreachable = 1,
    PacketTooBig = 2,
    TimeExceeded = 3,
    ParameterProblem = 4,
    EchoRequest = 128,
    EchoReply = 129,
    RouterSolicitation = 133,
    RouterAdvertisement = 134,
    NeighborSolicitation = 135,
    NeighborAdvertisement = 136,
    Redirect = 137,
}

public enum NdOptionType : byte
{
    SourceLinkLayerAddress = 1,
    TargetLinkLayerAddress = 2,
    PrefixInformation = 3,
    RedirectedHeader = 4,
    Mtu = 5,
}

/// <summary>Router Advertisement flags (RFC 4861 §4.2, RFC 4191 preference, RFC 3775 H).</summary>
[Flags]
public enum RouterAdvertisementFlags : byte
{
    None = 0,
    ManagedAddressConfiguration = 0x80, // M
    OtherConfiguration = 0x40,          // O
    HomeAgent = 0x20,                   // H
}

/// <summary>Neighbor Advertisement flags (RFC 4861 §4.4), the top bits of the first body word.</summary>
[Flags]
public enum NeighborAdvertisementFlags : byte
{
    None = 0,
    Router = 0x80,    // R
    Solicited = 0x40, // S
    Override = 0x20,  // O
}

/// <summary>Prefix Information option flags (RFC 4861 §4.6.2).</summary>
[Flags]
public enum PrefixInformationFlags : byte
{
    None = 0,
    OnLink = 0x80,     // L
    Autonomous = 0x40, // A
}

/// <summary>Prefix Information option (RFC 4861 §4.6.2): 32 octets.</summary>
//  | Type=3 | Length=4 | Prefix Length |L|A| Reserved1 |
//  |                    Valid Lifetime                 |
//  |                  Preferred Lifetime               |
//  |                      Reserved2                    |
//  |                   Prefix (128 bits)               |
public readonly record struct PrefixInformation(Ipv6Prefix Prefix, PrefixInformationFlags Flags, uint ValidLifetime, uint PreferredLifetime)
{
    public const int Length = 32;

    internal static PrefixInformation Read(ReadOnlySpan<byte> option) => new(
        new Ipv6Prefix(Ipv6Address.Read(option[16..]), option[2]),
        (PrefixInformationFlags)(option[3] & 0xC0),
        BinaryPrimitives.ReadUInt32BigEndian(option[4..]),
        BinaryPrimitives.ReadUInt32BigEndian(option[8..]));
}

/// <summary>
/// The validated options of one ND message. Single-instance options are remembered by offset;
/// Prefix Information options are counted and enumerated with <see cref="PrefixInformations"/>.
/// </summary>
public readonly ref struct NdOptionSet
{
    private readonly ReadOnlySpan<byte> _options;
    private readonly short _sourceLl, _targetLl, _mtu;

    private NdOptionSet(ReadOnlySpan<byte> options, short sourceLl, short targetLl, short mtu, int prefixes, int unknown)
    {
        _options = options;
        _sourceLl = sourceLl;
        _targetLl = targetLl;
        _mtu = mtu;
        PrefixInformationCount = prefixes;
        UnknownCount = unknown;
    }

    public int PrefixInformationCount { get; }
    public int UnknownCount { get; }

    /// <summary>
    /// Validates the options area (<paramref name="options"/>, starting at <paramref name="baseOffset"/>
    /// in the ICMPv6 message, for error offsets).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> options, int baseOffset, out NdOptionSet set, out DecodeError error, DecodeLimits? limits = null)
    {
        limits ??= DecodeLimits.Default;
        set = default;
        short sourceLl = -1, targetLl = -1, mtu = -1;
        int prefixes = 0, unknown = 0, count = 0;
        var i = 0;
        while (i < options.Length)
        {
            if (i + 2 > options.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "nd.option.length", baseOffset + i);
            var type = options[i];
            var length = options[i + 1] * 8;
            if (length == 0)
                return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "nd.option.length", baseOffset + i + 1);
            if (i + length > options.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "nd.option.length", baseOffset + i + 1);
            if (++count > limits.MaxNdOptions)
                return DecodeError.Fail(out error, DecodeErrorReason.LimitExceeded, "nd.options", baseOffset + i);
            switch ((NdOptionType)type)
            {
                case NdOptionType.SourceLinkLayerAddress:
                    if (sourceLl < 0) sourceLl = (short)i;
                    break;
                case NdOptionType.TargetLinkLayerAddress:
                    if (targetLl < 0) targetLl = (short)i;
                    break;
                case NdOptionType.PrefixInformation:
                    if (length != PrefixInformation.Length)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "nd.option.prefix_information", baseOffset + i + 1);
                    if (options[i + 2] > 128)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "nd.option.prefix_information.prefix_length", baseOffset + i + 2);
                    prefixes++;
                    break;
                case NdOptionType.Mtu:
                    if (length != 8)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "nd.option.mtu", baseOffset + i + 1);
                    if (mtu < 0) mtu = (short)i;
                    break;
                case NdOptionType.RedirectedHeader:
                    break;
                default:
                    unknown++; // RFC 4861 §4.6: unrecognised options are skipped
                    break;
            }
            i += length;
        }
        set = new NdOptionSet(options, sourceLl, targetLl, mtu, prefixes, unknown);
        error = default;
        return true;
    }

    /// <summary>Link-layer address octets of the Source Link-layer Address option (with any padding).</summary>
    public bool TryGetSourceLinkLayerAddress(out ReadOnlySpan<byte> address) => TryGetLinkLayer(_sourceLl, out address);

    public bool TryGetTargetLinkLayerAddress(out ReadOnlySpan<byte> address) => TryGetLinkLayer(_targetLl, out address);

    private bool TryGetLinkLayer(short at, out ReadOnlySpan<byte> address)
    {
        address = at < 0 ? default : _options.Slice(at + 2, _options[at + 1] * 8 - 2);
        return at >= 0;
    }

    public uint? Mtu => _mtu < 0 ? null : BinaryPrimitives.ReadUInt32BigEndian(_options[(_mtu + 4)..]);

    public PrefixEnumerator PrefixInformations => new(_options);

    public ref struct PrefixEnumerator
    {
        private readonly ReadOnlySpan<byte> _options;
        private int _next;

        internal PrefixEnumerator(ReadOnlySpan<byte> options)
        {
            _options = options;
            _next = 0;
            Current = default;
        }

        public PrefixInformation Current { get; private set; }

        public readonly PrefixEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_next < _options.Length)
            {
                var at = _next;
                _next += _options[at + 1] * 8;
                if (_options[at] == (byte)NdOptionType.PrefixInformation)
                {
                    Current = Wire.PrefixInformation.Read(_options.Slice(at, Wire.PrefixInformation.Length));
                    return true;
                }
            }
            return false;
        }
    }
}

/// <summary>A decoded Neighbor Discovery message (RS, RA, NS or NA).</summary>
//  RS: | Reserved (32) | options
//  RA: | Cur Hop Limit |M|O|H|Prf|Resv| Router Lifetime | Reachable Time (32) | Retrans Timer (32) | options
//  NS: | Reserved (32) | Target Address (128) | options
//  NA: |R|S|O| Reserved (29) | Target Address (128) | options
public readonly ref struct NdMessage
{
    public const int ChecksumOffset = 2;
    public const int RsOptionsOffset = 8;
    public const int RaOptionsOffset = 16;
    public const int NsNaTargetOffset = 8;
    public const int NsNaOptionsOffset = 24;

    public Icmpv6Type Type { get; init; }
    public byte Code { get; init; }
    public byte CurHopLimit { get; init; }
    public RouterAdvertisementFlags RouterFlags { get; init; }
    public ushort RouterLifetimeSeconds { get; init; }
    public uint ReachableTimeMs { get; init; }
    public uint RetransTimerMs { get; init; }
    public NeighborAdvertisementFlags NeighborFlags { get; init; }
    public Ipv6Address TargetAddress { get; init; }
    public NdOptionSet Options { get; init; }

    public static int FixedLength(Icmpv6Type type) => type switch
    {
        Icmpv6Type.RouterSolicitation => RsOptionsOffset,
        Icmpv6Type.RouterAdvertisement => RaOptionsOffset,
        Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement => NsNaOptionsOffset,
        _ => 0,
    };

    /// <summary>
    /// Decodes an ICMPv6 ND message (<paramref name="icmp"/> starts at the ICMPv6 type). Code must be 0
    /// (RFC 4861 §6.1). The checksum is not checked here (a raw ICMPv6 socket does); see <see cref="VerifyChecksum"/>.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> icmp, out NdMessage message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (icmp.Length < 4)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "icmpv6.header", icmp.Length);
        var type = (Icmpv6Type)icmp[0];
        var fixedLength = FixedLength(type);
        if (fixedLength == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.UnknownMandatoryField, "icmpv6.type", 0);
        if (icmp[1] != 0)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "icmpv6.code", 1);
        if (icmp.Length < fixedLength)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "nd.body", icmp.Length);
        if (!NdOptionSet.TryParse(icmp[fixedLength..], fixedLength, out var options, out error, limits))
            return false;
        message = type switch
        {
            Icmpv6Type.RouterAdvertisement => new NdMessage
            {
                Type = type,
                CurHopLimit = icmp[4],
                RouterFlags = (RouterAdvertisementFlags)(icmp[5] & 0xE0),
                RouterLifetimeSeconds = BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]),
                ReachableTimeMs = BinaryPrimitives.ReadUInt32BigEndian(icmp[8..]),
                RetransTimerMs = BinaryPrimitives.ReadUInt32BigEndian(icmp[12..]),
                Options = options,
            },
            Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement => new NdMessage
            {
                Type = type,
                NeighborFlags = type == Icmpv6Type.NeighborAdvertisement ? (NeighborAdvertisementFlags)(icmp[4] & 0xE0) : 0,
                TargetAddress = Ipv6Address.Read(icmp[NsNaTargetOffset..]),
                Options = options,
            },
            _ => new NdMessage { Type = type, Options = options },
        };
        return true;
    }

    public static bool VerifyChecksum(Ipv6Address source, Ipv6Address destination, ReadOnlySpan<byte> icmp) =>
        InternetChecksum.Verify(source, destination, IpProtocol.Icmpv6, icmp);
}

/// <summary>
/// Encodes ND messages into a caller-owned buffer. Start with one of the static methods, add
/// options, then TryFinish with the addresses to fill the ICMPv6 checksum.
/// </summary>
public ref struct NdWriter
{
    private readonly Span<byte> _buffer;
    private int _length;
    private bool _overflow;

    private NdWriter(Span<byte> buffer, Icmpv6Type type, int fixedLength)
    {
        _buffer = buffer;
        if (buffer.Length < fixedLength)
        {
            _overflow = true;
            return;
        }
        buffer[..fixedLength].Clear();
        buffer[0] = (byte)type;
        _length = fixedLength;
    }

    public static NdWriter RouterSolicitation(Span<byte> buffer) => new(buffer, Icmpv6Type.RouterSolicitation, NdMessage.RsOptionsOffset);

    public static NdWriter RouterAdvertisement(Span<byte> buffer, byte curHopLimit, RouterAdvertisementFlags flags,
        ushort routerLifetimeSeconds, uint reachableTimeMs = 0, uint retransTimerMs = 0)
    {
        var w = new NdWriter(buffer, Icmpv6Type.RouterAdvertisement, NdMessage.RaOptionsOffset);
        if (!w._overflow)
        {
            buffer[4] = curHopLimit;
            buffer[5] = (byte)flags;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], routerLifetimeSeconds);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], reachableTimeMs);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[12..], retransTimerMs);
        }
        return w;
    }

    public static NdWriter NeighborSolicitation(Span<byte> buffer, Ipv6Address target)
    {
        var w = new NdWriter(buffer, Icmpv6Type.NeighborSolicitation, NdMessage.NsNaOptionsOffset);
        if (!w._overflow)
            target.Write(buffer[NdMessage.NsNaTargetOffset..]);
        return w;
    }

    public static NdWriter NeighborAdvertisement(Span<byte> buffer, NeighborAdvertisementFlags flags, Ipv6Address target)
    {
        var w = new NdWriter(buffer, Icmpv6Type.NeighborAdvertisement, NdMessage.NsNaOptionsOffset);
        if (!w._overflow)
        {
            buffer[4] = (byte)flags;
            target.Write(buffer[NdMessage.NsNaTargetOffset..]);
        }
        return w;
    }

    public void SourceLinkLayerAddress(scoped ReadOnlySpan<byte> address) => LinkLayer(NdOptionType.SourceLinkLayerAddress, address);

    public void TargetLinkLayerAddress(scoped ReadOnlySpan<byte> address) => LinkLayer(NdOptionType.TargetLinkLayerAddress, address);

    private void LinkLayer(NdOptionType type, scoped ReadOnlySpan<byte> address)
    {
        var units = (2 + address.Length + 7) / 8;
        var option = Option(type, units);
        if (option.IsEmpty) return;
        address.CopyTo(option[2..]);
    }

    public void PrefixInformation(in PrefixInformation prefix)
    {
        var option = Option(NdOptionType.PrefixInformation, 4);
        if (option.IsEmpty) return;
        option[2] = prefix.Prefix.Length;
        option[3] = (byte)prefix.Flags;
        BinaryPrimitives.WriteUInt32BigEndian(option[4..], prefix.ValidLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(option[8..], prefix.PreferredLifetime);
        prefix.Prefix.Address.Mask(prefix.Prefix.Length).Write(option[16..]);
    }

    public void Mtu(uint mtu)
    {
        var option = Option(NdOptionType.Mtu, 1);
        if (option.IsEmpty) return;
        BinaryPrimitives.WriteUInt32BigEndian(option[4..], mtu);
    }

    private Span<byte> Option(NdOptionType type, int units)
    {
        var length = units * 8;
        if (_overflow || units > 255 || _length + length > _buffer.Length)
        {
            _overflow = true;
            return default;
        }
        var option = _buffer.Slice(_length, length);
        option.Clear();
        option[0] = (byte)type;
        option[1] = (byte)units;
        _length += length;
        return option;
    }

    /// <summary>Writes the ICMPv6 checksum over the pseudo-header and returns the message length.</summary>
    public bool TryFinish(Ipv6Address source, Ipv6Address destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (_overflow)
            return false;
        var message = _buffer[.._length];
        BinaryPrimitives.WriteUInt16BigEndian(message[NdMessage.ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(message[NdMessage.ChecksumOffset..],
            InternetChecksum.Compute(source, destination, IpProtocol.Icmpv6, message));
        bytesWritten = _length;
        return true;
    }
}
