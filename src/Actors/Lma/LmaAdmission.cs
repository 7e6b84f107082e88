// The LMA's protocol-handler checks before a PBU reaches a binding entity (RFC 5213 §5.3.1):
// authorised MAG (154), mandatory options (160, 158, 161, 162), the MN's policy profile (153), and
// the timestamp validity window (156, answered with the LMA's current time, §5.5).
using System.Collections.Immutable;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record LmaAdmissionSettings(ImmutableHashSet<Ipv6Address> AuthorizedMags, bool AllowAnyMag = false)
{
    public TimeSpan TimestampValidityWindow { get; init; } = ProtocolConstants.TimestampValidityWindow;
}

public static class LmaAdmission
{
    public static bool IsAuthorized(LmaAdmissionSettings settings, Ipv6Address mag) =>
        settings.AllowAnyMag || settings.AuthorizedMags.Contains(mag);

    /// <summary>
    /// For a PBU from an authorised MAG (<see cref="IsAuthorized"/>, checked first, before its options
    /// are even read) with every mandatory option: null when it may go to its binding entity,
    /// otherwise the PBA that rejects it (156, 153).
    /// </summary>
    public static ProxyBindingAcknowledgement? Check(ProxyBindingUpdate pbu, LmaAdmissionSettings settings, IPolicyStore policies,
        DateTimeOffset now, out MobileNodePolicy? policy)
    {
        policy = null;
        if (pbu.Timestamp is { } ts && (ts.ToDateTimeOffset() - now).Duration() > settings.TimestampValidityWindow)
            return ProxyBindingAcknowledgement.Reject(pbu, BindingAcknowledgementStatus.TimestampMismatch, Pmip6Timestamp.FromDateTimeOffset(now));
        policy = policies.Find(pbu.MobileNodeId);
        if (policy is null)
            return ProxyBindingAcknowledgement.Reject(pbu, BindingAcknowledgementStatus.NotLmaForThisMobileNode);
        return null;
    }

    /// <summary>
    /// The PBA for a PBU that cannot be admitted as a whole (unauthorised MAG, missing mandatory
    /// option): it echoes the sequence number and, when the PBU carried one, the MN-ID, so the MAG
    /// can tell which session failed.
    /// </summary>
    public static ProxyBindingAcknowledgement RejectUndecodable(Ipv6Address mag, in BindingUpdate bu, BindingAcknowledgementStatus status) =>
        new(mag, status, bu.Sequence, TimeSpan.Zero,
            bu.Options.TryGetMobileNodeIdentifier(out var id) && id.Subtype == MobileNodeIdentifierSubtype.Nai ? id.ToString() : null,
            [], null, null, null, null, bu.Options.Timestamp);
}
