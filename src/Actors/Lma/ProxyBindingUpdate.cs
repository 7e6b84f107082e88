// A Proxy Binding Update in control-plane form (RFC 5213 §8.1), built from the decoded wire message
// by the LMA's protocol handler, and the PBA reply the LMA sends back (§8.2).
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>Routing marker: messages for one mobile node's binding entity.</summary>
public interface IWithMobileNodeId
{
    string MobileNodeId { get; }
}

public sealed record ProxyBindingUpdate(
    Ipv6Address ProxyCoa,
    ushort Sequence,
    TimeSpan Lifetime,
    string MobileNodeId,
    ImmutableArray<Ipv6Prefix> HomeNetworkPrefixes,
    HandoffIndicator Handoff,
    AccessTechnologyType AccessTechnology,
    string? LinkLayerId,
    Ipv6Address? LinkLocalAddress,
    Pmip6Timestamp? Timestamp) : IWithMobileNodeId
{
    public bool IsDeregistration => Lifetime == TimeSpan.Zero;

    /// <summary>
    /// Context Reflector (issue 7): on a de-registration, the next MAG and the MN's context the previous
    /// MAG hands to the LMA (Experimental Mobility Options, docs/PROTOCOL.md); null on any other PBU.
    /// </summary>
    public ReflectedContext? Context { get; init; }

    /// <summary>The prefixes the MAG names explicitly (the all-zero prefix asks the LMA to assign).</summary>
    public IEnumerable<Ipv6Prefix> RequestedPrefixes => HomeNetworkPrefixes.Where(p => p.Address != default || p.Length != 0);

    /// <summary>Encodes the PBU's Mobility Header (RFC 5213 §6.9.1.1: A, H and P set; checksum left to the kernel).</summary>
    public bool TryWrite(Span<byte> buffer, out int length)
    {
        var w = MobilityHeaderWriter.BindingUpdate(buffer, Sequence,
            BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration,
            LifetimeUnit.FromTimeSpan(Lifetime));
        WireText.WriteMobileNodeIdentifier(ref w, MobileNodeId);
        foreach (var prefix in HomeNetworkPrefixes)
            w.HomeNetworkPrefix(prefix);
        w.HandoffIndicator(Handoff);
        w.AccessTechnologyType(AccessTechnology);
        if (LinkLayerId is not null) WireText.WriteLinkLayerIdentifier(ref w, LinkLayerId);
        if (LinkLocalAddress is { } lla) w.LinkLocalAddress(lla);
        if (Timestamp is { } ts) w.Timestamp(ts);
        if (Context is { } context)
        {
            w.ContextNextMag(context.NextMag);
            foreach (var item in context.Items)
                w.ContextData(item.Feature, item.Data.AsSpan());
        }
        return w.TryFinish(out length);
    }

    /// <summary>
    /// Builds the control-plane PBU from a decoded one, or names the status to reject it with when a
    /// mandatory option is missing (RFC 5213 §5.3.1: 160, 158, 161, 162, in that order).
    /// </summary>
    public static bool TryFrom(in BindingUpdate bu, Ipv6Address proxyCoa, out ProxyBindingUpdate? pbu, out BindingAcknowledgementStatus rejection)
    {
        pbu = null;
        var options = bu.Options;
        if (!options.TryGetMobileNodeIdentifier(out var mnId) || mnId.Subtype != MobileNodeIdentifierSubtype.Nai)
        {
            rejection = BindingAcknowledgementStatus.MissingMobileNodeIdentifierOption;
            return false;
        }
        if (options.HomeNetworkPrefixCount == 0)
        {
            rejection = BindingAcknowledgementStatus.MissingHomeNetworkPrefixOption;
            return false;
        }
        if (options.HandoffIndicator is not { } handoff)
        {
            rejection = BindingAcknowledgementStatus.MissingHandoffIndicatorOption;
            return false;
        }
        if (options.AccessTechnologyType is not { } att)
        {
            rejection = BindingAcknowledgementStatus.MissingAccessTechnologyTypeOption;
            return false;
        }
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>(options.HomeNetworkPrefixCount);
        foreach (var hnp in options.OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        string? linkLayerId = options.TryGetLinkLayerIdentifier(out var ll) ? Convert.ToHexString(ll) : null;
        pbu = new ProxyBindingUpdate(proxyCoa, bu.Sequence, bu.Lifetime, mnId.ToString(), prefixes.MoveToImmutable(),
            handoff, att, linkLayerId, options.LinkLocalAddress, options.Timestamp);
        rejection = BindingAcknowledgementStatus.Accepted;
        return true;
    }
}

/// <summary>What the LMA answers a PBU with (RFC 5213 §5.3.6: the PBA echoes the PBU's options).</summary>
public sealed record ProxyBindingAcknowledgement(
    Ipv6Address ProxyCoa,
    BindingAcknowledgementStatus Status,
    ushort Sequence,
    TimeSpan Lifetime,
    string? MobileNodeId,
    ImmutableArray<Ipv6Prefix> HomeNetworkPrefixes,
    HandoffIndicator? Handoff,
    AccessTechnologyType? AccessTechnology,
    string? LinkLayerId,
    Ipv6Address? LinkLocalAddress,
    Pmip6Timestamp? Timestamp)
{
    public bool IsAccepted => (byte)Status < 128;

    /// <summary>A rejection that echoes what it can of the PBU.</summary>
    public static ProxyBindingAcknowledgement Reject(ProxyBindingUpdate pbu, BindingAcknowledgementStatus status, Pmip6Timestamp? timestamp = null) =>
        new(pbu.ProxyCoa, status, pbu.Sequence, TimeSpan.Zero, pbu.MobileNodeId, pbu.HomeNetworkPrefixes, pbu.Handoff,
            pbu.AccessTechnology, pbu.LinkLayerId, pbu.LinkLocalAddress, timestamp ?? pbu.Timestamp);

    /// <summary>Encodes the PBA's Mobility Header (checksum left to the kernel).</summary>
    public bool TryWrite(Span<byte> buffer, out int length)
    {
        var w = MobilityHeaderWriter.BindingAcknowledgement(buffer, Status, BindingAcknowledgementFlags.ProxyRegistration,
            Sequence, LifetimeUnit.FromTimeSpan(Lifetime));
        if (MobileNodeId is not null) WireText.WriteMobileNodeIdentifier(ref w, MobileNodeId);
        foreach (var prefix in HomeNetworkPrefixes)
            w.HomeNetworkPrefix(prefix);
        if (Handoff is { } hi) w.HandoffIndicator(hi);
        if (AccessTechnology is { } att) w.AccessTechnologyType(att);
        if (LinkLayerId is not null) WireText.WriteLinkLayerIdentifier(ref w, LinkLayerId);
        if (LinkLocalAddress is { } lla) w.LinkLocalAddress(lla);
        if (Timestamp is { } ts) w.Timestamp(ts);
        return w.TryFinish(out length);
    }
}

/// <summary>Text-to-wire helpers for the identifiers the control plane keeps as strings.</summary>
internal static class WireText
{
    public const int MaxIdentifierOctets = 254;

    public static void WriteMobileNodeIdentifier(ref MobilityHeaderWriter w, string mobileNodeId)
    {
        Span<byte> id = stackalloc byte[MaxIdentifierOctets];
        if (!System.Text.Encoding.UTF8.TryGetBytes(mobileNodeId, id, out var n) || n == 0)
        {
            w.MobileNodeIdentifier(default); // marks the writer as failed: TryFinish returns false
            return;
        }
        w.MobileNodeIdentifier(id[..n]);
    }

    public static void WriteLinkLayerIdentifier(ref MobilityHeaderWriter w, string hex)
    {
        Span<byte> id = stackalloc byte[MaxIdentifierOctets];
        var status = Convert.FromHexString(hex, id, out _, out var n);
        w.MobileNodeLinkLayerIdentifier(status == System.Buffers.OperationStatus.Done ? id[..n] : default);
    }
}
