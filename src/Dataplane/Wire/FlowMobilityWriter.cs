// Flow mobility messages and the Flow Identification option with its sub-options (see
// FlowMobility.cs, TrafficSelector.cs and docs/PROTOCOL.md). Nothing here allocates.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public ref partial struct MobilityHeaderWriter
{
    /// <summary>Largest sub-option area of one Flow Identification option (255 minus the fixed 6 octets).</summary>
    public const int MaxFlowSubOptionsLength = 255 - FlowDescription.SubOptionsOffset;

    /// <summary>Flow Mobility Initiate (RFC 7864): an Update Notification, reason FLOW-MOBILITY, A set. Add MN-ID, HNPs, flows.</summary>
    public static MobilityHeaderWriter FlowMobilityInitiate(Span<byte> buffer, ushort sequence) =>
        UpdateNotification(buffer, sequence, NotificationReason.FlowMobility, Wire.UpdateNotification.AcknowledgeFlag);

    /// <summary>Flow Mobility Acknowledgement (RFC 7864): an Update Notification Acknowledgement. Add MN-ID and per-flow status.</summary>
    public static MobilityHeaderWriter FlowMobilityAcknowledgement(Span<byte> buffer, ushort sequence, UpdateNotificationStatus status) =>
        UpdateNotificationAcknowledgement(buffer, sequence, status);

    /// <summary>
    /// Flow Identification (RFC 6089 §4.2, alignment 2n) describing one flow: an optional IPv6 traffic
    /// selector, BID references and RFC 7109 action, in that order. FID and FID-PRI 0 are reserved.
    /// </summary>
    public void Flow(ushort flowId, ushort priority, FlowIdentificationStatus status,
        Ipv6TrafficSelector? selector = null, scoped ReadOnlySpan<ushort> bindingReferences = default, FlowBindingAction? action = null)
    {
        Span<byte> sub = stackalloc byte[MaxFlowSubOptionsLength];
        var length = 0;
        if (flowId == 0 || priority == 0
            || (selector is { } ts && !TryWriteTrafficSelector(sub, ts, ref length))
            || (!bindingReferences.IsEmpty && !TryWriteBindingReference(sub, bindingReferences, ref length))
            || (action is { } a && !TryWriteAction(sub, a, ref length)))
        {
            _overflow = true;
            return;
        }
        FlowIdentification(flowId, priority, (byte)status, sub[..length]);
    }

    private static bool TryWriteTrafficSelector(Span<byte> sub, in Ipv6TrafficSelector selector, ref int length)
    {
        if (length + 2 + selector.EncodedLength > sub.Length || !selector.TryWrite(sub[(length + 2)..], out var written))
            return false;
        sub[length] = (byte)FlowSubOptionType.TrafficSelector;
        sub[length + 1] = (byte)written;
        length += 2 + written;
        return true;
    }

    private static bool TryWriteBindingReference(Span<byte> sub, scoped ReadOnlySpan<ushort> bids, ref int length)
    {
        var size = 2 * bids.Length;
        if (size > 254 || length + 2 + size > sub.Length)
            return false;
        sub[length] = (byte)FlowSubOptionType.BindingReference;
        sub[length + 1] = (byte)size;
        for (var i = 0; i < bids.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(sub[(length + 2 + 2 * i)..], bids[i]);
        length += 2 + size;
        return true;
    }

    private static bool TryWriteAction(Span<byte> sub, FlowBindingAction action, ref int length)
    {
        if (length + 4 > sub.Length)
            return false;
        sub[length] = (byte)FlowSubOptionType.FlowBindingAction;
        sub[length + 1] = 2;
        sub[length + 2] = 0;
        sub[length + 3] = (byte)action;
        length += 4;
        return true;
    }
}
