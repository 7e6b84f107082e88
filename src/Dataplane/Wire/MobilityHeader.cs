// Mobility Header (RFC 6275 §6.1.1): next header 135.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Checksum            |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//  .                       Message Data                            .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Header Len counts 8-octet units after the first 8 octets: the whole header is a multiple of 8.
// Payload Proto must be IPPROTO_NONE (59). A message shorter than its type requires is discarded
// (RFC 6275 §9.2).
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public readonly ref struct MobilityHeader
{
    public const int PayloadProtoOffset = 0;
    public const int HeaderLenOffset = 1;
    public const int TypeOffset = 2;
    public const int ChecksumOffset = 4;
    public const int MessageDataOffset = 6;
    /// <summary>The largest Mobility Header: Header Len 255.</summary>
    public const int MaxLength = 256 * 8;

    private MobilityHeader(ReadOnlySpan<byte> bytes)
    {
        Bytes = bytes;
    }

    /// <summary>The whole Mobility Header, exactly (Header Len + 1) * 8 octets.</summary>
    public ReadOnlySpan<byte> Bytes { get; }
    public MobilityHeaderType Type => (MobilityHeaderType)Bytes[TypeOffset];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(Bytes[ChecksumOffset..]);

    /// <summary>The minimum length of each message type's fixed part, options excluded (0: unknown type).</summary>
    public static int FixedLength(MobilityHeaderType type) => type switch
    {
        MobilityHeaderType.BindingUpdate => 12,
        MobilityHeaderType.BindingAcknowledgement => 12,
        MobilityHeaderType.BindingError => 24,
        MobilityHeaderType.Heartbeat => 12,
        MobilityHeaderType.BindingRevocation => 12,
        MobilityHeaderType.UpdateNotification => 12,
        MobilityHeaderType.UpdateNotificationAcknowledgement => 12,
        MobilityHeaderType.Experimental => 6,
        _ => 0,
    };

    /// <summary>
    /// Decodes the common header. <paramref name="bytes"/> starts at the Mobility Header (a raw
    /// socket's payload, or <see cref="Ipv6Packet.UpperLayer"/>); octets after Header Len are ignored.
    /// The checksum is not checked here (the kernel does it on a raw socket): see <see cref="VerifyChecksum"/>.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out MobilityHeader header, out DecodeError error)
    {
        header = default;
        if (bytes.Length < 8)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "mh.header", bytes.Length);
        if (bytes[PayloadProtoOffset] != IpProtocol.NoNextHeader)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.payload_proto", PayloadProtoOffset);
        var length = (bytes[HeaderLenOffset] + 1) * 8;
        if (length > bytes.Length)
            return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "mh.header_len", HeaderLenOffset);
        var type = (MobilityHeaderType)bytes[TypeOffset];
        var fixedLength = FixedLength(type);
        if (fixedLength == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.UnknownMandatoryField, "mh.type", TypeOffset);
        if (length < fixedLength)
            return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "mh.header_len", HeaderLenOffset);
        header = new MobilityHeader(bytes[..length]);
        error = default;
        return true;
    }

    /// <summary>Checks the Internet checksum over the pseudo-header (RFC 6275 §6.1.1).</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) =>
        InternetChecksum.Verify(source, destination, IpProtocol.MobilityHeader, Bytes);
}

/// <summary>Binding Update (RFC 6275 §6.1.7); a Proxy Binding Update when P is set (RFC 5213 §8.1).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Sequence #           |   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |A|H|L|K|M|R|P|F|T|B| Reserved  |   offset 8
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |            Lifetime           |   offset 10 (4-second units)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 12
public readonly ref struct BindingUpdate
{
    public const int SequenceOffset = 6;
    public const int FlagsOffset = 8;
    public const int LifetimeOffset = 10;
    public const int OptionsOffset = 12;

    public ushort Sequence { get; init; }
    public BindingUpdateFlags Flags { get; init; }
    /// <summary>Lifetime in 4-second units, as on the wire; 0 is a de-registration.</summary>
    public ushort LifetimeUnits { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool IsProxy => (Flags & BindingUpdateFlags.ProxyRegistration) != 0;
    public TimeSpan Lifetime => LifetimeUnit.ToTimeSpan(LifetimeUnits);
    public bool IsDeregistration => LifetimeUnits == 0;

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out BindingUpdate message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (!MobilityHeader.TryDecode(bytes, out var mh, out error))
            return false;
        return TryDecode(mh, out message, out error, limits);
    }

    public static bool TryDecode(MobilityHeader mh, out BindingUpdate message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.BindingUpdate)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new BindingUpdate
        {
            Sequence = BinaryPrimitives.ReadUInt16BigEndian(b[SequenceOffset..]),
            Flags = (BindingUpdateFlags)BinaryPrimitives.ReadUInt16BigEndian(b[FlagsOffset..]),
            LifetimeUnits = BinaryPrimitives.ReadUInt16BigEndian(b[LifetimeOffset..]),
            Options = options,
        };
        return true;
    }
}

/// <summary>Binding Acknowledgement (RFC 6275 §6.1.8); a PBA when P is set (RFC 5213 §8.2).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |    Status     |K|R|P|T|B|Rsrvd|   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Sequence #          |   offset 8
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Lifetime            |   offset 10
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 12
public readonly ref struct BindingAcknowledgement
{
    public const int StatusOffset = 6;
    public const int FlagsOffset = 7;
    public const int SequenceOffset = 8;
    public const int LifetimeOffset = 10;
    public const int OptionsOffset = 12;

    public BindingAcknowledgementStatus Status { get; init; }
    public BindingAcknowledgementFlags Flags { get; init; }
    public ushort Sequence { get; init; }
    public ushort LifetimeUnits { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool IsProxy => (Flags & BindingAcknowledgementFlags.ProxyRegistration) != 0;
    public bool IsAccepted => (byte)Status < 128;
    public TimeSpan Lifetime => LifetimeUnit.ToTimeSpan(LifetimeUnits);

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out BindingAcknowledgement message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (!MobilityHeader.TryDecode(bytes, out var mh, out error))
            return false;
        return TryDecode(mh, out message, out error, limits);
    }

    public static bool TryDecode(MobilityHeader mh, out BindingAcknowledgement message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.BindingAcknowledgement)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new BindingAcknowledgement
        {
            Status = (BindingAcknowledgementStatus)b[StatusOffset],
            Flags = (BindingAcknowledgementFlags)b[FlagsOffset],
            Sequence = BinaryPrimitives.ReadUInt16BigEndian(b[SequenceOffset..]),
            LifetimeUnits = BinaryPrimitives.ReadUInt16BigEndian(b[LifetimeOffset..]),
            Options = options,
        };
        return true;
    }
}

/// <summary>Binding Error (RFC 6275 §6.1.9).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Status    |   Reserved    |   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  +          Home Address         +   offset 8 (128 bits)
//  .        Mobility options       .   offset 24
public readonly ref struct BindingError
{
    public const int StatusOffset = 6;
    public const int HomeAddressOffset = 8;
    public const int OptionsOffset = 24;

    /// <summary>1: unknown binding for Home Address destination option; 2: unrecognized MH type.</summary>
    public byte Status { get; init; }
    public Ipv6Address HomeAddress { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(MobilityHeader mh, out BindingError message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.BindingError)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new BindingError
        {
            Status = b[StatusOffset],
            HomeAddress = Ipv6Address.Read(b[HomeAddressOffset..]),
            Options = options,
        };
        return true;
    }
}

/// <summary>Heartbeat (RFC 5847 §5.1).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   Reserved    |  Reserved |U|R|   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                        Sequence Number                        |   offset 8
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 12
public readonly ref struct Heartbeat
{
    public const int FlagsOffset = 7;
    public const int SequenceOffset = 8;
    public const int OptionsOffset = 12;
    public const byte UnsolicitedFlag = 0x02;
    public const byte ResponseFlag = 0x01;

    public bool IsUnsolicited { get; init; }
    public bool IsResponse { get; init; }
    public uint Sequence { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(MobilityHeader mh, out Heartbeat message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.Heartbeat)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new Heartbeat
        {
            IsUnsolicited = (b[FlagsOffset] & UnsolicitedFlag) != 0,
            IsResponse = (b[FlagsOffset] & ResponseFlag) != 0,
            Sequence = BinaryPrimitives.ReadUInt32BigEndian(b[SequenceOffset..]),
            Options = options,
        };
        return true;
    }
}

/// <summary>Binding Revocation Indication / Acknowledgement (RFC 5846 §6.1-6.2).</summary>
//  BRI:                                 BRA:
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  B.R. Type=1  |  R. Trigger   |    |  B.R. Type=2  |    Status     |  offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Sequence #           |    |          Sequence #           |  offset 8
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |P|V|G|       Reserved          |    |P|V|G|       Reserved          |  offset 10
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .                                     offset 12
public readonly ref struct BindingRevocation
{
    public const int TypeOffset = 6;
    public const int TriggerOrStatusOffset = 7;
    public const int SequenceOffset = 8;
    public const int FlagsOffset = 10;
    public const int OptionsOffset = 12;
    public const ushort ProxyFlag = 0x8000;           // P: proxy binding (PMIPv6)
    public const ushort Ipv4HomeAddressOnlyFlag = 0x4000; // V: IPv4 HoA binding only
    public const ushort GlobalFlag = 0x2000;          // G: every binding of the peer

    public BindingRevocationType RevocationType { get; init; }
    /// <summary>The Revocation Trigger of a BRI.</summary>
    public RevocationTrigger Trigger { get; init; }
    /// <summary>The Status of a BRA.</summary>
    public BindingRevocationStatus Status { get; init; }
    public ushort Sequence { get; init; }
    public ushort Flags { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool IsIndication => RevocationType == BindingRevocationType.Indication;
    public bool IsProxy => (Flags & ProxyFlag) != 0;
    public bool IsGlobal => (Flags & GlobalFlag) != 0;

    public static bool TryDecode(MobilityHeader mh, out BindingRevocation message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.BindingRevocation)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        var kind = (BindingRevocationType)b[TypeOffset];
        if (kind is not (BindingRevocationType.Indication or BindingRevocationType.Acknowledgement))
            return DecodeError.Fail(out error, DecodeErrorReason.UnknownMandatoryField, "mh.binding_revocation.type", TypeOffset);
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        var value = b[TriggerOrStatusOffset];
        message = new BindingRevocation
        {
            RevocationType = kind,
            Trigger = kind == BindingRevocationType.Indication ? (RevocationTrigger)value : default,
            Status = kind == BindingRevocationType.Acknowledgement ? (BindingRevocationStatus)value : default,
            Sequence = BinaryPrimitives.ReadUInt16BigEndian(b[SequenceOffset..]),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(b[FlagsOffset..]),
            Options = options,
        };
        return true;
    }
}

/// <summary>Update Notification (RFC 7077 §4.1).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Sequence #           |   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Notification  |A|D|          Reserved                         |   offset 8
//  |    Reason     | | |                                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 12
public readonly ref struct UpdateNotification
{
    public const int SequenceOffset = 6;
    public const int ReasonOffset = 8;
    public const int FlagsOffset = 9;
    public const int OptionsOffset = 12;
    public const byte AcknowledgeFlag = 0x80; // A
    public const byte DeferFlag = 0x40;       // D

    public ushort Sequence { get; init; }
    public NotificationReason Reason { get; init; }
    public byte Flags { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool AcknowledgementRequested => (Flags & AcknowledgeFlag) != 0;

    public static bool TryDecode(MobilityHeader mh, out UpdateNotification message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.UpdateNotification)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new UpdateNotification
        {
            Sequence = BinaryPrimitives.ReadUInt16BigEndian(b[SequenceOffset..]),
            Reason = (NotificationReason)b[ReasonOffset],
            Flags = b[FlagsOffset],
            Options = options,
        };
        return true;
    }
}

/// <summary>Update Notification Acknowledgement (RFC 7077 §4.2).</summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Sequence #           |   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |    Status     |                 Reserved                      |   offset 8
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 12
public readonly ref struct UpdateNotificationAcknowledgement
{
    public const int SequenceOffset = 6;
    public const int StatusOffset = 8;
    public const int OptionsOffset = 12;

    public ushort Sequence { get; init; }
    public UpdateNotificationStatus Status { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(MobilityHeader mh, out UpdateNotificationAcknowledgement message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.UpdateNotificationAcknowledgement)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new UpdateNotificationAcknowledgement
        {
            Sequence = BinaryPrimitives.ReadUInt16BigEndian(b[SequenceOffset..]),
            Status = (UpdateNotificationStatus)b[StatusOffset],
            Options = options,
        };
        return true;
    }
}

/// <summary>
/// Experimental Mobility Header (RFC 5096): our envelope for messages no RFC defines. Message Data is
/// a 1-octet Pmip6Akka message kind, a 1-octet version, then that message's own octets (options
/// format, so the option walker applies).
/// </summary>
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Kind (ours)  | Version (ours)|   offset 6
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .        Mobility options       .   offset 8
public readonly ref struct ExperimentalMessage
{
    public const int KindOffset = 6;
    public const int VersionOffset = 7;
    public const int OptionsOffset = 8;

    public byte Kind { get; init; }
    public byte Version { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(MobilityHeader mh, out ExperimentalMessage message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (mh.Type != MobilityHeaderType.Experimental)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.type", MobilityHeader.TypeOffset);
        var b = mh.Bytes;
        if (b.Length < OptionsOffset)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "mh.experimental.kind", KindOffset);
        if (!MobilityOptionSet.TryParse(b, OptionsOffset, out var options, out error, limits))
            return false;
        message = new ExperimentalMessage { Kind = b[KindOffset], Version = b[VersionOffset], Options = options };
        return true;
    }
}

/// <summary>Lifetime fields count 4-second units (RFC 6275 §6.1.7).</summary>
public static class LifetimeUnit
{
    public const int Seconds = 4;

    public static TimeSpan ToTimeSpan(ushort units) => TimeSpan.FromSeconds(units * Seconds);

    /// <summary>Rounds down to whole units, saturating at 0xFFFF (262140 s).</summary>
    public static ushort FromTimeSpan(TimeSpan lifetime) =>
        lifetime <= TimeSpan.Zero ? (ushort)0 : (ushort)Math.Min(ushort.MaxValue, (long)lifetime.TotalSeconds / Seconds);
}
