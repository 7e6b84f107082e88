// Mobility options (RFC 6275 §6.2): Type (8), Length (8, octets after these two), data.
// Pad1 is a single zero octet; PadN carries Length zero octets. Each option states an alignment
// requirement xn+y relative to the start of the Mobility Header; the decoder enforces it (when
// DecodeLimits.EnforceOptionAlignment is on), the writer meets it by inserting Pad1/PadN.
// Unknown options are skipped by their length and reported (RFC 6275 §6.2.1).
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>One mobility option as found in a message: its type, its data and its MH offset.</summary>
public readonly ref struct MobilityOption
{
    public MobilityOption(byte type, ReadOnlySpan<byte> data, int offset)
    {
        Type = type;
        Data = data;
        Offset = offset;
    }

    public byte Type { get; }
    /// <summary>The option's data (after Type and Length).</summary>
    public ReadOnlySpan<byte> Data { get; }
    /// <summary>Offset of the option's Type octet from the start of the Mobility Header.</summary>
    public int Offset { get; }
}

/// <summary>What the codec knows of each option type: its size rule and its alignment.</summary>
internal readonly record struct OptionRule(string Field, int MinLength, int MaxLength, byte AlignX, byte AlignY, bool Known)
{
    public static readonly OptionRule[] Table = Build();

    private static OptionRule[] Build()
    {
        var table = new OptionRule[256];
        for (var i = 0; i < table.Length; i++)
            table[i] = new OptionRule("mh.option", 0, 255, 1, 0, false);
        void Set(MobilityOptionType type, string field, int min, int max, byte x, byte y) =>
            table[(int)type] = new OptionRule(field, min, max, x, y, true);
        Set(MobilityOptionType.PadN, "mh.option.padn", 0, 255, 1, 0);
        // RFC 4283 §3: Subtype (8) + identifier (at least one octet); no alignment requirement.
        Set(MobilityOptionType.MobileNodeIdentifier, "mh.option.mn_id", 2, 255, 1, 0);
        // RFC 4285 §5: Subtype (8) + Mobility SPI (32) + authentication data; alignment 4n+1 (the SPI on
        // a 4-octet boundary). Its exact size and place (last) are checked by MessageAuthentication.
        Set(MobilityOptionType.MobilityMessageAuthentication, "mh.option.auth", 5, 255, 4, 1);
        // RFC 4285 §6: a 64-bit timestamp; alignment 8n+2.
        Set(MobilityOptionType.MessageIdentification, "mh.option.mesg_id", 8, 8, 8, 2);
        // RFC 5096 §3: opaque data; no alignment requirement.
        Set(MobilityOptionType.Experimental, "mh.option.experimental", 0, 255, 1, 0);
        // RFC 5094 §3: Vendor ID (32) + Sub-Type (8) + data; alignment 4n+2.
        Set(MobilityOptionType.VendorSpecific, "mh.option.vendor_specific", 5, 255, 4, 2);
        // RFC 5213 §8.3: Reserved (8) + Prefix Length (8) + prefix (128); alignment 8n+4.
        Set(MobilityOptionType.HomeNetworkPrefix, "mh.option.hnp", 18, 18, 8, 4);
        // RFC 5213 §8.4 / §8.5: Reserved (8) + value (8); no alignment requirement.
        Set(MobilityOptionType.HandoffIndicator, "mh.option.handoff_indicator", 2, 2, 1, 0);
        Set(MobilityOptionType.AccessTechnologyType, "mh.option.att", 2, 2, 1, 0);
        // RFC 5213 §8.6: Reserved (16) + link-layer identifier (at least one octet). The RFC states no
        // fixed alignment, so none is enforced on receive; the writer still places it at 8n+2.
        Set(MobilityOptionType.MobileNodeLinkLayerIdentifier, "mh.option.mn_ll_id", 3, 255, 1, 0);
        // RFC 5213 §8.7: link-local address (128); alignment 8n+6.
        Set(MobilityOptionType.LinkLocalAddress, "mh.option.link_local_address", 16, 16, 8, 6);
        // RFC 5213 §8.8: 64-bit timestamp; alignment 8n+2.
        Set(MobilityOptionType.Timestamp, "mh.option.timestamp", 8, 8, 8, 2);
        // RFC 5847 §5.2: Restart Counter (32); alignment 4n+2.
        Set(MobilityOptionType.RestartCounter, "mh.option.restart_counter", 4, 4, 4, 2);
        // RFC 5648 §6.1: BID (16), Status (8), H flag + BID-PRI (8, RFC 6089), optional IPv4 or IPv6
        // care-of address; 2n (8n+2 with an IPv6 care-of address, which 2n accepts).
        Set(MobilityOptionType.BindingIdentifier, "mh.option.binding_id", 4, 20, 2, 0);
        // RFC 6089 §4.2: one or more FIDs (16 each); alignment 2n.
        Set(MobilityOptionType.FlowSummary, "mh.option.flow_summary", 2, 254, 2, 0);
        // RFC 6089 §4.1: FID (16), FID-PRI (16), Reserved (8), Status (8), sub-options; alignment 2n.
        Set(MobilityOptionType.FlowIdentification, "mh.option.flow_id", 6, 255, 2, 0);
        return table;
    }

    /// <summary>Checks an option's length against its rule beyond min/max (e.g. BID's fixed sizes).</summary>
    public static bool LengthIsValid(byte type, int length)
    {
        var rule = Table[type];
        if (length < rule.MinLength || length > rule.MaxLength)
            return false;
        return (MobilityOptionType)type switch
        {
            MobilityOptionType.BindingIdentifier => length is 4 or 8 or 20,
            MobilityOptionType.FlowSummary => length % 2 == 0,
            _ => true,
        };
    }
}

/// <summary>
/// The validated options area of one Mobility Header message. Decoding walks the area once, checks
/// every option's length and alignment, and remembers where the single-instance options are; the
/// typed accessors then read them without another walk. Repeated options (HNP, BID, flows) are
/// enumerated with <see cref="OfType"/>.
/// </summary>
public readonly ref struct MobilityOptionSet
{
    private readonly ReadOnlySpan<byte> _mh;
    private readonly int _start;
    private readonly short _mnId, _handoff, _att, _llId, _lla, _timestamp, _restart, _bid, _flowSummary, _flowId, _experimental, _vendor;

    private MobilityOptionSet(ReadOnlySpan<byte> mh, int start, Offsets o, int count, int unknown, byte firstUnknown, int hnps)
    {
        _mh = mh;
        _start = start;
        _mnId = o.MnId; _handoff = o.Handoff; _att = o.Att; _llId = o.LlId; _lla = o.Lla; _timestamp = o.Timestamp;
        _restart = o.Restart; _bid = o.Bid; _flowSummary = o.FlowSummary; _flowId = o.FlowId;
        _experimental = o.Experimental; _vendor = o.Vendor;
        Count = count;
        UnknownCount = unknown;
        FirstUnknownType = firstUnknown;
        HomeNetworkPrefixCount = hnps;
    }

    private struct Offsets
    {
        public short MnId, Handoff, Att, LlId, Lla, Timestamp, Restart, Bid, FlowSummary, FlowId, Experimental, Vendor;
    }

    /// <summary>Number of options, padding excluded.</summary>
    public int Count { get; }
    /// <summary>Number of options of a type this codec does not know (skipped, RFC 6275 §6.2.1).</summary>
    public int UnknownCount { get; }
    /// <summary>Type of the first unknown option, for the log line (0 when none).</summary>
    public byte FirstUnknownType { get; }
    public int HomeNetworkPrefixCount { get; }

    /// <summary>The raw options area.</summary>
    public ReadOnlySpan<byte> Raw => _mh[_start..];

    /// <summary>
    /// Validates the options of <paramref name="mh"/> (a whole Mobility Header) from
    /// <paramref name="start"/> to its end.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> mh, int start, out MobilityOptionSet options, out DecodeError error, DecodeLimits? limits = null)
    {
        limits ??= DecodeLimits.Default;
        options = default;
        var offsets = new Offsets();
        int count = 0, unknown = 0, hnps = 0;
        byte firstUnknown = 0;
        var i = start;
        while (i < mh.Length)
        {
            var type = mh[i];
            if (type == (byte)MobilityOptionType.Pad1)
            {
                i++;
                continue;
            }
            if (i + 2 > mh.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "mh.option.length", i);
            int length = mh[i + 1];
            if (i + 2 + length > mh.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, OptionRule.Table[type].Field, i + 1);
            if (type == (byte)MobilityOptionType.PadN)
            {
                i += 2 + length;
                continue;
            }
            var rule = OptionRule.Table[type];
            if (!OptionRule.LengthIsValid(type, length))
                return DecodeError.Fail(out error, DecodeErrorReason.BadLength, rule.Field, i + 1);
            if (limits.EnforceOptionAlignment && rule.AlignX > 1 && i % rule.AlignX != rule.AlignY)
                return DecodeError.Fail(out error, DecodeErrorReason.BadAlignment, rule.Field, i);
            if (++count > limits.MaxMobilityOptions)
                return DecodeError.Fail(out error, DecodeErrorReason.LimitExceeded, "mh.options", i);
            var at = (short)i;
            switch ((MobilityOptionType)type)
            {
                case MobilityOptionType.MobileNodeIdentifier: First(ref offsets.MnId, at); break;
                case MobilityOptionType.HomeNetworkPrefix:
                    if (mh[i + 3] > 128)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.option.hnp.prefix_length", i + 3);
                    hnps++;
                    break;
                case MobilityOptionType.HandoffIndicator: First(ref offsets.Handoff, at); break;
                case MobilityOptionType.AccessTechnologyType: First(ref offsets.Att, at); break;
                case MobilityOptionType.MobileNodeLinkLayerIdentifier: First(ref offsets.LlId, at); break;
                case MobilityOptionType.LinkLocalAddress: First(ref offsets.Lla, at); break;
                case MobilityOptionType.Timestamp: First(ref offsets.Timestamp, at); break;
                case MobilityOptionType.RestartCounter: First(ref offsets.Restart, at); break;
                case MobilityOptionType.BindingIdentifier: First(ref offsets.Bid, at); break;
                case MobilityOptionType.FlowSummary: First(ref offsets.FlowSummary, at); break;
                case MobilityOptionType.FlowIdentification: First(ref offsets.FlowId, at); break;
                case MobilityOptionType.Experimental: First(ref offsets.Experimental, at); break;
                case MobilityOptionType.VendorSpecific: First(ref offsets.Vendor, at); break;
                default:
                    if (!rule.Known)
                    {
                        if (unknown++ == 0)
                            firstUnknown = type;
                    }
                    break;
            }
            i += 2 + length;
        }
        options = new MobilityOptionSet(mh, start, offsets, count, unknown, firstUnknown, hnps);
        error = default;
        return true;
    }

    private static void First(ref short slot, short offset)
    {
        if (slot == 0)
            slot = offset;
    }

    private ReadOnlySpan<byte> DataAt(short offset) => _mh.Slice(offset + 2, _mh[offset + 1]);

    /// <summary>Every option (padding excluded), in order.</summary>
    public Enumerator GetEnumerator() => new(_mh, _start, 0, false);

    /// <summary>Every option of one type, in order (e.g. every Home Network Prefix).</summary>
    public Enumerator OfType(MobilityOptionType type) => new(_mh, _start, (byte)type, true);

    public bool TryGetMobileNodeIdentifier(out MobileNodeIdentifier identifier)
    {
        identifier = default;
        if (_mnId == 0)
            return false;
        var data = DataAt(_mnId);
        identifier = new MobileNodeIdentifier((MobileNodeIdentifierSubtype)data[0], data[1..]);
        return true;
    }

    public HandoffIndicator? HandoffIndicator => _handoff == 0 ? null : (HandoffIndicator)DataAt(_handoff)[1];

    public AccessTechnologyType? AccessTechnologyType => _att == 0 ? null : (AccessTechnologyType)DataAt(_att)[1];

    public Pmip6Timestamp? Timestamp => _timestamp == 0 ? null : new Pmip6Timestamp(BinaryPrimitives.ReadUInt64BigEndian(DataAt(_timestamp)));

    public uint? RestartCounter => _restart == 0 ? null : BinaryPrimitives.ReadUInt32BigEndian(DataAt(_restart));

    public Ipv6Address? LinkLocalAddress => _lla == 0 ? null : Ipv6Address.Read(DataAt(_lla));

    /// <summary>The MN Link-layer Identifier (RFC 5213 §8.6), without its reserved octets.</summary>
    public bool TryGetLinkLayerIdentifier(out ReadOnlySpan<byte> identifier)
    {
        identifier = _llId == 0 ? default : DataAt(_llId)[2..];
        return _llId != 0;
    }

    public bool TryGetBindingIdentifier(out BindingIdentifier bid)
    {
        bid = _bid == 0 ? default : BindingIdentifier.Read(DataAt(_bid));
        return _bid != 0;
    }

    public bool TryGetFlowSummary(out FlowSummary summary)
    {
        summary = _flowSummary == 0 ? default : new FlowSummary(DataAt(_flowSummary));
        return _flowSummary != 0;
    }

    public bool TryGetFlowIdentification(out FlowIdentification flow)
    {
        flow = _flowId == 0 ? default : FlowIdentification.Read(DataAt(_flowId));
        return _flowId != 0;
    }

    /// <summary>The first Experimental Mobility Option's data (RFC 5096).</summary>
    public bool TryGetExperimental(out ReadOnlySpan<byte> data)
    {
        data = _experimental == 0 ? default : DataAt(_experimental);
        return _experimental != 0;
    }

    public bool TryGetVendorSpecific(out VendorSpecificOption vendor)
    {
        vendor = _vendor == 0 ? default : VendorSpecificOption.Read(DataAt(_vendor));
        return _vendor != 0;
    }

    /// <summary>Walks a validated options area.</summary>
    public ref struct Enumerator
    {
        private readonly ReadOnlySpan<byte> _mh;
        private readonly byte _type;
        private readonly bool _filter;
        private int _next;

        internal Enumerator(ReadOnlySpan<byte> mh, int start, byte type, bool filter)
        {
            _mh = mh;
            _next = start;
            _type = type;
            _filter = filter;
            Current = default;
        }

        public MobilityOption Current { get; private set; }

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_next < _mh.Length)
            {
                var at = _next;
                var type = _mh[at];
                if (type == (byte)MobilityOptionType.Pad1)
                {
                    _next++;
                    continue;
                }
                int length = _mh[at + 1];
                _next = at + 2 + length;
                if (type == (byte)MobilityOptionType.PadN || (_filter && type != _type))
                    continue;
                Current = new MobilityOption(type, _mh.Slice(at + 2, length), at);
                return true;
            }
            return false;
        }
    }
}

/// <summary>Mobile Node Identifier option (RFC 4283): subtype and identifier octets (an NAI for subtype 1).</summary>
public readonly ref struct MobileNodeIdentifier
{
    public MobileNodeIdentifier(MobileNodeIdentifierSubtype subtype, ReadOnlySpan<byte> identifier)
    {
        Subtype = subtype;
        Identifier = identifier;
    }

    public MobileNodeIdentifierSubtype Subtype { get; }
    public ReadOnlySpan<byte> Identifier { get; }

    /// <summary>The identifier as text (allocates; for the control plane, not the receive path).</summary>
    public override string ToString() => System.Text.Encoding.UTF8.GetString(Identifier);
}

/// <summary>Home Network Prefix option data (RFC 5213 §8.3).</summary>
public static class HomeNetworkPrefixOption
{
    public static Ipv6Prefix Read(ReadOnlySpan<byte> data) => new(Ipv6Address.Read(data[2..]), data[1]);
}

/// <summary>
/// Timestamp option value (RFC 5213 §8.8): 48 bits of seconds since 1970-01-01 UTC and 16 bits of
/// 1/65536 fractions of a second.
/// </summary>
public readonly record struct Pmip6Timestamp(ulong Raw) : IComparable<Pmip6Timestamp>
{
    public ulong Seconds => Raw >> 16;
    public ushort Fraction => (ushort)Raw;

    public static Pmip6Timestamp FromDateTimeOffset(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        var seconds = (ulong)(ticks / TimeSpan.TicksPerSecond);
        var fraction = (ulong)((ticks % TimeSpan.TicksPerSecond) * 65536 / TimeSpan.TicksPerSecond);
        return new Pmip6Timestamp((seconds << 16) | fraction);
    }

    public DateTimeOffset ToDateTimeOffset()
    {
        var ticks = (long)Seconds * TimeSpan.TicksPerSecond + (long)Fraction * TimeSpan.TicksPerSecond / 65536;
        return new DateTimeOffset(DateTime.UnixEpoch.Ticks + Math.Min(ticks, DateTimeOffset.MaxValue.UtcTicks - DateTime.UnixEpoch.Ticks), TimeSpan.Zero);
    }

    /// <summary>Signed difference this − other, in 1/65536 s units converted to a TimeSpan.</summary>
    public TimeSpan Subtract(Pmip6Timestamp other) =>
        TimeSpan.FromTicks((long)((Int128)(long)Raw - (long)other.Raw) * TimeSpan.TicksPerSecond / 65536);

    public int CompareTo(Pmip6Timestamp other) => Raw.CompareTo(other.Raw);
}

/// <summary>Binding Identifier option (RFC 5648 §6.1).</summary>
public readonly ref struct BindingIdentifier
{
    public const byte SimultaneousHomeAndForeignFlag = 0x80; // H (RFC 5648)
    public const byte PriorityMask = 0x7F;                   // BID-PRI (RFC 6089)

    public ushort Id { get; init; }
    public byte Status { get; init; }
    /// <summary>The octet after Status: H flag and the 7-bit BID-PRI.</summary>
    public byte Flags { get; init; }
    public byte Priority => (byte)(Flags & PriorityMask);
    /// <summary>Empty, or a 4-octet IPv4 or 16-octet IPv6 care-of address.</summary>
    public ReadOnlySpan<byte> CareOfAddress { get; init; }

    internal static BindingIdentifier Read(ReadOnlySpan<byte> data) => new()
    {
        Id = BinaryPrimitives.ReadUInt16BigEndian(data),
        Status = data[2],
        Flags = data[3],
        CareOfAddress = data[4..],
    };
}

/// <summary>Flow Summary option (RFC 6089 §4.2): the FIDs of the flows a message refers to.</summary>
public readonly ref struct FlowSummary
{
    private readonly ReadOnlySpan<byte> _data;

    public FlowSummary(ReadOnlySpan<byte> data) => _data = data;

    public int Count => _data.Length / 2;

    public ushort this[int index] => BinaryPrimitives.ReadUInt16BigEndian(_data[(index * 2)..]);
}

/// <summary>Flow Identification option (RFC 6089 §4.1): one flow, its priority and status.</summary>
public readonly ref struct FlowIdentification
{
    public ushort FlowId { get; init; }
    public ushort Priority { get; init; }
    public byte Status { get; init; }
    /// <summary>The flow's sub-options (binding reference, traffic selector, ...), unparsed.</summary>
    public ReadOnlySpan<byte> SubOptions { get; init; }

    internal static FlowIdentification Read(ReadOnlySpan<byte> data) => new()
    {
        FlowId = BinaryPrimitives.ReadUInt16BigEndian(data),
        Priority = BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
        Status = data[5],
        SubOptions = data[6..],
    };
}

/// <summary>Vendor Specific Mobility Option (RFC 5094 §3).</summary>
public readonly ref struct VendorSpecificOption
{
    public uint VendorId { get; init; }
    public byte SubType { get; init; }
    public ReadOnlySpan<byte> Data { get; init; }

    internal static VendorSpecificOption Read(ReadOnlySpan<byte> data) => new()
    {
        VendorId = BinaryPrimitives.ReadUInt32BigEndian(data),
        SubType = data[4],
        Data = data[5..],
    };
}
