// Flow mobility signalling (RFC 7864): the LMA's Flow Mobility Initiate is an Update Notification
// (RFC 7077, MH type 19) with Notification Reason FLOW-MOBILITY (8); the MAG answers with an Update
// Notification Acknowledgement (MH type 20). Flows are described by Flow Identification options
// (RFC 6089 §4.2, option 45) whose sub-options follow, no alignment:
//
//   Pad1 (0)        one zero octet, no length
//   PadN (1)        | 1 | Len | Len zero octets
//   BID Reference   | 2 | Len | BID (16) ...        Len = 2n, n >= 1 (RFC 6089 §4.2.1.3)
//   Traffic Sel.    | 3 | Len | TS Format | Reserved | selector ...   (RFC 6089 §4.2.1.4, RFC 6088)
//   Flow Binding    | 4 | 2   | Reserved | Action |                   (RFC 7109 §6.2.1)
//     Action
//   Target CoA      | 5 | Len | Reserved (16) | IPv4 or IPv6 address  Len 6 or 18 (RFC 7109 §6.2.2)
//
// Other sub-option types are skipped and counted, never fatal (RFC 6089 gives them no mandatory
// meaning). Of the single sub-options (traffic selector, action, target CoA) the first wins.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Flow Identification sub-option types (IANA registry; RFC 6089, RFC 7109).</summary>
public enum FlowSubOptionType : byte
{
    Pad1 = 0,
    PadN = 1,
    BindingReference = 2,
    TrafficSelector = 3,
    /// <summary>RFC 7109.</summary>
    FlowBindingAction = 4,
    /// <summary>RFC 7109.</summary>
    TargetCareOfAddress = 5,
}

/// <summary>Flow Identification option status (IANA registry; RFC 6089 §4.2).</summary>
public enum FlowIdentificationStatus : byte
{
    Success = 0,
    AdministrativelyProhibited = 128,
    RejectedReasonUnspecified = 129,
    OptionMalformed = 130,
    BindingIdNotFound = 131,
    FlowIdNotFound = 132,
    TrafficSelectorFormatNotSupported = 133,
}

/// <summary>Flow Binding Action values (RFC 7109 §6.2.1).</summary>
public enum FlowBindingAction : byte
{
    Reserved = 0,
    Add = 1,
    Modify = 2,
    Delete = 3,
    Refresh = 4,
}

/// <summary>
/// One Flow Identification option, checked and summarised: its FID, priority and status, and what its
/// sub-options say. <see cref="BindingReferences"/> holds the BIDs as 16-bit big-endian values.
/// </summary>
public readonly ref struct FlowDescription
{
    public ushort FlowId { get; init; }
    public ushort Priority { get; init; }
    public FlowIdentificationStatus Status { get; init; }
    /// <summary>The format of the first Traffic Selector sub-option, null when there is none.</summary>
    public TrafficSelectorFormat? SelectorFormat { get; init; }
    /// <summary>The first Traffic Selector, when it is an IPv6 binary one (other formats are left to the caller: status 133).</summary>
    public Ipv6TrafficSelector? Selector { get; init; }
    public ReadOnlySpan<byte> BindingReferences { get; init; }
    public FlowBindingAction? Action { get; init; }
    /// <summary>The Target Care-of Address, 4 or 16 octets, empty when absent.</summary>
    public ReadOnlySpan<byte> TargetCareOfAddress { get; init; }
    public int UnknownCount { get; init; }
    public byte FirstUnknownType { get; init; }
    /// <summary>Offset of the option's Type octet in the Mobility Header.</summary>
    public int Offset { get; init; }

    public int BindingReferenceCount => BindingReferences.Length / 2;
    public ushort BindingReference(int index) => BinaryPrimitives.ReadUInt16BigEndian(BindingReferences[(index * 2)..]);

    /// <summary>Offsets of the fixed part inside the option's data (RFC 6089 §4.2).</summary>
    public const int FlowIdOffset = 0, PriorityOffset = 2, StatusOffset = 5, SubOptionsOffset = 6;

    /// <summary>
    /// Checks one Flow Identification option (<paramref name="option"/> as enumerated from a validated
    /// option set): FID and FID-PRI non-zero, every sub-option within the option and of a valid size,
    /// an IPv6 traffic selector fully decodable.
    /// </summary>
    public static bool TryRead(MobilityOption option, out FlowDescription flow, out DecodeError error)
    {
        flow = default;
        var data = option.Data;
        var at = option.Offset + 2;
        if (data.Length < SubOptionsOffset)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "flow.id", at);
        var fid = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (fid == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "flow.id", at + FlowIdOffset);
        var priority = BinaryPrimitives.ReadUInt16BigEndian(data[PriorityOffset..]);
        if (priority == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "flow.priority", at + PriorityOffset);
        TrafficSelectorFormat? format = null;
        Ipv6TrafficSelector? selector = null;
        FlowBindingAction? action = null;
        ReadOnlySpan<byte> bids = default, target = default;
        int unknown = 0;
        byte firstUnknown = 0;
        var i = SubOptionsOffset;
        while (i < data.Length)
        {
            var type = (FlowSubOptionType)data[i];
            if (type == FlowSubOptionType.Pad1)
            {
                i++;
                continue;
            }
            if (i + 2 > data.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "flow.sub_option.length", at + i);
            int length = data[i + 1];
            if (i + 2 + length > data.Length)
                return DecodeError.Fail(out error, DecodeErrorReason.LengthOverrun, "flow.sub_option.length", at + i + 1);
            var body = data.Slice(i + 2, length);
            var bodyAt = at + i + 2;
            switch (type)
            {
                case FlowSubOptionType.PadN:
                    break;
                case FlowSubOptionType.BindingReference:
                    if (length == 0 || length % 2 != 0)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "flow.bid_reference", at + i + 1);
                    if (bids.IsEmpty) bids = body;
                    break;
                case FlowSubOptionType.TrafficSelector:
                    if (length < 2)
                        return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "flow.traffic_selector", at + i + 1);
                    if (format is null)
                    {
                        format = (TrafficSelectorFormat)body[0];
                        if (format == TrafficSelectorFormat.Ipv6Binary)
                        {
                            if (!Ipv6TrafficSelector.TryDecode(body, bodyAt, out var ts, out error))
                                return false;
                            selector = ts;
                        }
                    }
                    break;
                case FlowSubOptionType.FlowBindingAction:
                    if (length != 2)
                        return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "flow.action", at + i + 1);
                    action ??= (FlowBindingAction)body[1];
                    break;
                case FlowSubOptionType.TargetCareOfAddress:
                    if (length is not (6 or 18))
                        return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "flow.target_coa", at + i + 1);
                    if (target.IsEmpty) target = body[2..];
                    break;
                default:
                    if (unknown++ == 0)
                        firstUnknown = (byte)type;
                    break;
            }
            i += 2 + length;
        }
        flow = new FlowDescription
        {
            FlowId = fid,
            Priority = priority,
            Status = (FlowIdentificationStatus)data[StatusOffset],
            SelectorFormat = format,
            Selector = selector,
            BindingReferences = bids,
            Action = action,
            TargetCareOfAddress = target,
            UnknownCount = unknown,
            FirstUnknownType = firstUnknown,
            Offset = option.Offset,
        };
        error = default;
        return true;
    }
}

/// <summary>Walks every Flow Identification option of a validated option set; stops at the first bad one with <see cref="Error"/> set.</summary>
public ref struct FlowDescriptions
{
    private MobilityOptionSet.Enumerator _options;

    private FlowDescriptions(MobilityOptionSet.Enumerator options)
    {
        _options = options;
        Current = default;
        Error = default;
    }

    public static FlowDescriptions Of(in MobilityOptionSet options) => new(options.OfType(MobilityOptionType.FlowIdentification));

    public FlowDescription Current { get; private set; }
    public DecodeError Error { get; private set; }

    public readonly FlowDescriptions GetEnumerator() => this;

    public bool MoveNext()
    {
        if (Error.IsError || !_options.MoveNext())
            return false;
        if (FlowDescription.TryRead(_options.Current, out var flow, out var error))
        {
            Current = flow;
            return true;
        }
        Error = error;
        Current = default;
        return false;
    }

    /// <summary>Checks every flow once: how many there are, or the first error.</summary>
    public static bool TryCount(in MobilityOptionSet options, out int count, out DecodeError error)
    {
        count = 0;
        var flows = Of(options);
        while (flows.MoveNext())
            count++;
        error = flows.Error;
        return !error.IsError;
    }
}

/// <summary>
/// Flow Mobility Initiate (RFC 7864): an Update Notification with reason FLOW-MOBILITY, LMA to MAG.
/// MN-ID and at least one Flow Identification option are mandatory; HNP options (the MN's prefixes)
/// may follow. Enumerate the flows with <see cref="FlowDescriptions.Of"/> over <see cref="Options"/>.
/// </summary>
public readonly ref struct FlowMobilityInitiate
{
    public ushort Sequence { get; init; }
    public bool AcknowledgementRequested { get; init; }
    public MobileNodeIdentifier MobileNodeId { get; init; }
    public int FlowCount { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out FlowMobilityInitiate message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        return MobilityHeader.TryDecode(bytes, out var mh, out error) && TryDecode(mh, out message, out error, limits);
    }

    public static bool TryDecode(MobilityHeader mh, out FlowMobilityInitiate message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (!UpdateNotification.TryDecode(mh, out var upn, out error, limits))
            return false;
        if (upn.Reason != NotificationReason.FlowMobility)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.upn.reason", UpdateNotification.ReasonOffset);
        if (!upn.Options.TryGetMobileNodeIdentifier(out var mnId))
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "flow.fmi.mn_id", UpdateNotification.OptionsOffset);
        if (!FlowDescriptions.TryCount(upn.Options, out var flows, out error))
            return false;
        if (flows == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "flow.fmi.flow_id", UpdateNotification.OptionsOffset);
        message = new FlowMobilityInitiate
        {
            Sequence = upn.Sequence,
            AcknowledgementRequested = upn.AcknowledgementRequested,
            MobileNodeId = mnId,
            FlowCount = flows,
            Options = upn.Options,
        };
        return true;
    }
}

/// <summary>
/// Flow Mobility Acknowledgement (RFC 7864): the MAG's Update Notification Acknowledgement. MN-ID is
/// mandatory; one Flow Identification option per flow may carry that flow's own status.
/// </summary>
public readonly ref struct FlowMobilityAcknowledgement
{
    public ushort Sequence { get; init; }
    public UpdateNotificationStatus Status { get; init; }
    public MobileNodeIdentifier MobileNodeId { get; init; }
    public int FlowCount { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool IsSuccess => Status == UpdateNotificationStatus.Success;

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out FlowMobilityAcknowledgement message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        return MobilityHeader.TryDecode(bytes, out var mh, out error) && TryDecode(mh, out message, out error, limits);
    }

    public static bool TryDecode(MobilityHeader mh, out FlowMobilityAcknowledgement message, out DecodeError error, DecodeLimits? limits = null)
    {
        message = default;
        if (!UpdateNotificationAcknowledgement.TryDecode(mh, out var upa, out error, limits))
            return false;
        if (!upa.Options.TryGetMobileNodeIdentifier(out var mnId))
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "flow.fma.mn_id", UpdateNotificationAcknowledgement.OptionsOffset);
        if (!FlowDescriptions.TryCount(upa.Options, out var flows, out error))
            return false;
        message = new FlowMobilityAcknowledgement
        {
            Sequence = upa.Sequence, Status = upa.Status, MobileNodeId = mnId, FlowCount = flows, Options = upa.Options,
        };
        return true;
    }
}
