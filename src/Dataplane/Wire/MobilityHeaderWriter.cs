// Encodes Mobility Header messages (RFC 6275 §6.1) into a caller-owned buffer without allocating.
// Each message starts with one of the static Begin* methods (common header and fixed part), options
// follow (each padded to its RFC alignment, RFC 6275 §6.2), and TryFinish pads the whole header to
// a multiple of 8 octets, writes Header Len and, when addresses are given, the checksum.
// Overflowing the buffer never throws: the writer remembers it and TryFinish returns false.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public ref partial struct MobilityHeaderWriter
{
    private readonly Span<byte> _buffer;
    private int _length;
    private bool _overflow;

    private MobilityHeaderWriter(Span<byte> buffer, MobilityHeaderType type, int fixedLength)
    {
        _buffer = buffer;
        if (buffer.Length < fixedLength)
        {
            _overflow = true;
            return;
        }
        buffer[..fixedLength].Clear();
        buffer[MobilityHeader.PayloadProtoOffset] = IpProtocol.NoNextHeader;
        buffer[MobilityHeader.TypeOffset] = (byte)type;
        _length = fixedLength;
    }

    /// <summary>Octets written so far (before the final padding).</summary>
    public readonly int Length => _length;

    public static MobilityHeaderWriter BindingUpdate(Span<byte> buffer, ushort sequence, BindingUpdateFlags flags, ushort lifetimeUnits)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.BindingUpdate, Wire.BindingUpdate.OptionsOffset);
        if (!w._overflow)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingUpdate.SequenceOffset..], sequence);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingUpdate.FlagsOffset..], (ushort)flags);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingUpdate.LifetimeOffset..], lifetimeUnits);
        }
        return w;
    }

    public static MobilityHeaderWriter BindingAcknowledgement(Span<byte> buffer, BindingAcknowledgementStatus status,
        BindingAcknowledgementFlags flags, ushort sequence, ushort lifetimeUnits)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.BindingAcknowledgement, Wire.BindingAcknowledgement.OptionsOffset);
        if (!w._overflow)
        {
            buffer[Wire.BindingAcknowledgement.StatusOffset] = (byte)status;
            buffer[Wire.BindingAcknowledgement.FlagsOffset] = (byte)flags;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingAcknowledgement.SequenceOffset..], sequence);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingAcknowledgement.LifetimeOffset..], lifetimeUnits);
        }
        return w;
    }

    public static MobilityHeaderWriter BindingError(Span<byte> buffer, byte status, Ipv6Address homeAddress)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.BindingError, Wire.BindingError.OptionsOffset);
        if (!w._overflow)
        {
            buffer[Wire.BindingError.StatusOffset] = status;
            homeAddress.Write(buffer[Wire.BindingError.HomeAddressOffset..]);
        }
        return w;
    }

    public static MobilityHeaderWriter Heartbeat(Span<byte> buffer, bool response, uint sequence, bool unsolicited = false)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.Heartbeat, Wire.Heartbeat.OptionsOffset);
        if (!w._overflow)
        {
            buffer[Wire.Heartbeat.FlagsOffset] = (byte)((response ? Wire.Heartbeat.ResponseFlag : 0) | (unsolicited ? Wire.Heartbeat.UnsolicitedFlag : 0));
            BinaryPrimitives.WriteUInt32BigEndian(buffer[Wire.Heartbeat.SequenceOffset..], sequence);
        }
        return w;
    }

    public static MobilityHeaderWriter BindingRevocationIndication(Span<byte> buffer, RevocationTrigger trigger, ushort sequence, ushort flags) =>
        BindingRevocation(buffer, BindingRevocationType.Indication, (byte)trigger, sequence, flags);

    public static MobilityHeaderWriter BindingRevocationAcknowledgement(Span<byte> buffer, BindingRevocationStatus status, ushort sequence, ushort flags) =>
        BindingRevocation(buffer, BindingRevocationType.Acknowledgement, (byte)status, sequence, flags);

    private static MobilityHeaderWriter BindingRevocation(Span<byte> buffer, BindingRevocationType kind, byte value, ushort sequence, ushort flags)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.BindingRevocation, Wire.BindingRevocation.OptionsOffset);
        if (!w._overflow)
        {
            buffer[Wire.BindingRevocation.TypeOffset] = (byte)kind;
            buffer[Wire.BindingRevocation.TriggerOrStatusOffset] = value;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingRevocation.SequenceOffset..], sequence);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.BindingRevocation.FlagsOffset..], flags);
        }
        return w;
    }

    public static MobilityHeaderWriter UpdateNotification(Span<byte> buffer, ushort sequence, NotificationReason reason, byte flags)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.UpdateNotification, Wire.UpdateNotification.OptionsOffset);
        if (!w._overflow)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.UpdateNotification.SequenceOffset..], sequence);
            buffer[Wire.UpdateNotification.ReasonOffset] = (byte)reason;
            buffer[Wire.UpdateNotification.FlagsOffset] = flags;
        }
        return w;
    }

    public static MobilityHeaderWriter UpdateNotificationAcknowledgement(Span<byte> buffer, ushort sequence, UpdateNotificationStatus status)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.UpdateNotificationAcknowledgement, Wire.UpdateNotificationAcknowledgement.OptionsOffset);
        if (!w._overflow)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer[Wire.UpdateNotificationAcknowledgement.SequenceOffset..], sequence);
            buffer[Wire.UpdateNotificationAcknowledgement.StatusOffset] = (byte)status;
        }
        return w;
    }

    public static MobilityHeaderWriter Experimental(Span<byte> buffer, byte kind, byte version)
    {
        var w = new MobilityHeaderWriter(buffer, MobilityHeaderType.Experimental, ExperimentalMessage.OptionsOffset);
        if (!w._overflow)
        {
            buffer[ExperimentalMessage.KindOffset] = kind;
            buffer[ExperimentalMessage.VersionOffset] = version;
        }
        return w;
    }

    // ---- options -------------------------------------------------------------------------------

    /// <summary>Mobile Node Identifier (RFC 4283), subtype NAI unless told otherwise.</summary>
    public void MobileNodeIdentifier(scoped ReadOnlySpan<byte> identifier, MobileNodeIdentifierSubtype subtype = MobileNodeIdentifierSubtype.Nai)
    {
        if (identifier.IsEmpty || identifier.Length > 254) { _overflow = true; return; }
        var data = Option(MobilityOptionType.MobileNodeIdentifier, 1 + identifier.Length, 1, 0);
        if (data.IsEmpty) return;
        data[0] = (byte)subtype;
        identifier.CopyTo(data[1..]);
    }

    /// <summary>Home Network Prefix (RFC 5213 §8.3), alignment 8n+4.</summary>
    public void HomeNetworkPrefix(Ipv6Prefix prefix)
    {
        var data = Option(MobilityOptionType.HomeNetworkPrefix, 18, 8, 4);
        if (data.IsEmpty) return;
        data[0] = 0;
        data[1] = prefix.Length;
        prefix.Address.Write(data[2..]);
    }

    /// <summary>Handoff Indicator (RFC 5213 §8.4).</summary>
    public void HandoffIndicator(HandoffIndicator value)
    {
        var data = Option(MobilityOptionType.HandoffIndicator, 2, 1, 0);
        if (data.IsEmpty) return;
        data[0] = 0;
        data[1] = (byte)value;
    }

    /// <summary>Access Technology Type (RFC 5213 §8.5).</summary>
    public void AccessTechnologyType(AccessTechnologyType value)
    {
        var data = Option(MobilityOptionType.AccessTechnologyType, 2, 1, 0);
        if (data.IsEmpty) return;
        data[0] = 0;
        data[1] = (byte)value;
    }

    /// <summary>Mobile Node Link-layer Identifier (RFC 5213 §8.6), alignment 8n+2.</summary>
    public void MobileNodeLinkLayerIdentifier(scoped ReadOnlySpan<byte> identifier)
    {
        if (identifier.IsEmpty || identifier.Length > 253) { _overflow = true; return; }
        var data = Option(MobilityOptionType.MobileNodeLinkLayerIdentifier, 2 + identifier.Length, 8, 2);
        if (data.IsEmpty) return;
        data[..2].Clear();
        identifier.CopyTo(data[2..]);
    }

    /// <summary>Link-local Address (RFC 5213 §8.7), alignment 8n+6.</summary>
    public void LinkLocalAddress(Ipv6Address address)
    {
        var data = Option(MobilityOptionType.LinkLocalAddress, 16, 8, 6);
        if (data.IsEmpty) return;
        address.Write(data);
    }

    /// <summary>Timestamp (RFC 5213 §8.8), alignment 8n+2.</summary>
    public void Timestamp(Pmip6Timestamp timestamp)
    {
        var data = Option(MobilityOptionType.Timestamp, 8, 8, 2);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt64BigEndian(data, timestamp.Raw);
    }

    /// <summary>Restart Counter (RFC 5847 §5.2), alignment 4n+2.</summary>
    public void RestartCounter(uint counter)
    {
        var data = Option(MobilityOptionType.RestartCounter, 4, 4, 2);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt32BigEndian(data, counter);
    }

    /// <summary>Binding Identifier (RFC 5648 §6.1) with an optional 4- or 16-octet care-of address.</summary>
    public void BindingIdentifier(ushort id, byte status, byte flags, scoped ReadOnlySpan<byte> careOfAddress = default)
    {
        if (careOfAddress.Length is not (0 or 4 or 16)) { _overflow = true; return; }
        var data = careOfAddress.Length == 16
            ? Option(MobilityOptionType.BindingIdentifier, 20, 8, 2)
            : Option(MobilityOptionType.BindingIdentifier, 4 + careOfAddress.Length, 2, 0);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt16BigEndian(data, id);
        data[2] = status;
        data[3] = flags;
        careOfAddress.CopyTo(data[4..]);
    }

    /// <summary>Flow Summary (RFC 6089 §4.2), alignment 2n.</summary>
    public void FlowSummary(scoped ReadOnlySpan<ushort> flowIds)
    {
        if (flowIds.IsEmpty || flowIds.Length > 127) { _overflow = true; return; }
        var data = Option(MobilityOptionType.FlowSummary, 2 * flowIds.Length, 2, 0);
        if (data.IsEmpty) return;
        for (var i = 0; i < flowIds.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(data[(2 * i)..], flowIds[i]);
    }

    /// <summary>Flow Identification (RFC 6089 §4.1), alignment 2n; sub-options are given encoded.</summary>
    public void FlowIdentification(ushort flowId, ushort priority, byte status, scoped ReadOnlySpan<byte> subOptions = default)
    {
        if (subOptions.Length > 249) { _overflow = true; return; }
        var data = Option(MobilityOptionType.FlowIdentification, 6 + subOptions.Length, 2, 0);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt16BigEndian(data, flowId);
        BinaryPrimitives.WriteUInt16BigEndian(data[2..], priority);
        data[4] = 0;
        data[5] = status;
        subOptions.CopyTo(data[6..]);
    }

    /// <summary>Experimental Mobility Option (RFC 5096): opaque data, no alignment.</summary>
    public void ExperimentalOption(scoped ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 255) { _overflow = true; return; }
        var data = Option(MobilityOptionType.Experimental, payload.Length, 1, 0);
        if (data.IsEmpty && !payload.IsEmpty) return;
        payload.CopyTo(data);
    }

    /// <summary>Vendor Specific Mobility Option (RFC 5094), alignment 4n+2.</summary>
    public void VendorSpecific(uint vendorId, byte subType, scoped ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 250) { _overflow = true; return; }
        var data = Option(MobilityOptionType.VendorSpecific, 5 + payload.Length, 4, 2);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt32BigEndian(data, vendorId);
        data[4] = subType;
        payload.CopyTo(data[5..]);
    }

    /// <summary>
    /// Writes an option of any type (for tests and for options this writer has no method for) at
    /// alignment <paramref name="alignX"/>n+<paramref name="alignY"/>; returns its data area to fill,
    /// or an empty span when the buffer is full.
    /// </summary>
    public Span<byte> Option(MobilityOptionType type, int dataLength, int alignX, int alignY)
    {
        if (_overflow || dataLength > 255)
        {
            _overflow = true;
            return default;
        }
        Pad(alignX, alignY);
        if (_overflow || _length + 2 + dataLength > _buffer.Length)
        {
            _overflow = true;
            return default;
        }
        _buffer[_length] = (byte)type;
        _buffer[_length + 1] = (byte)dataLength;
        var data = _buffer.Slice(_length + 2, dataLength);
        _length += 2 + dataLength;
        return data;
    }

    /// <summary>Pads with Pad1/PadN until the next option would start at xn+y.</summary>
    private void Pad(int x, int y)
    {
        if (x <= 1)
            return;
        var padding = ((y - _length) % x + x) % x;
        WritePadding(padding);
    }

    private void WritePadding(int padding)
    {
        if (padding == 0)
            return;
        if (_length + padding > _buffer.Length)
        {
            _overflow = true;
            return;
        }
        if (padding == 1)
        {
            _buffer[_length] = (byte)MobilityOptionType.Pad1;
        }
        else
        {
            _buffer[_length] = (byte)MobilityOptionType.PadN;
            _buffer[_length + 1] = (byte)(padding - 2);
            _buffer.Slice(_length + 2, padding - 2).Clear();
        }
        _length += padding;
    }

    /// <summary>
    /// Pads to a multiple of 8 octets and writes Header Len. The checksum is left zero, as for a raw
    /// socket with IPV6_CHECKSUM set (the kernel fills it).
    /// </summary>
    public bool TryFinish(out int bytesWritten)
    {
        bytesWritten = 0;
        if (_overflow)
            return false;
        WritePadding((8 - _length % 8) % 8);
        if (_overflow || _length > MobilityHeader.MaxLength)
            return false;
        _buffer[MobilityHeader.HeaderLenOffset] = (byte)(_length / 8 - 1);
        bytesWritten = _length;
        return true;
    }

    /// <summary>As <see cref="TryFinish(out int)"/>, then computes the checksum over the pseudo-header.</summary>
    public bool TryFinish(Ipv6Address source, Ipv6Address destination, out int bytesWritten)
    {
        if (!TryFinish(out bytesWritten))
            return false;
        var mh = _buffer[..bytesWritten];
        BinaryPrimitives.WriteUInt16BigEndian(mh[MobilityHeader.ChecksumOffset..],
            InternetChecksum.Compute(source, destination, IpProtocol.MobilityHeader, mh));
        return true;
    }
}
