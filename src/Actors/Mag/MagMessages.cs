// Messages of the MAG node: attach and detach events (from the access-link dataplane or a test),
// session reports, and status queries.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

/// <summary>An MN appeared on the access link (RFC 5213 §6.9.1.1: e.g. a Router Solicitation from a new MAC).</summary>
public sealed record MobileNodeAttached(Attachment Attachment);

/// <summary>The MN left the access link (link down, NUD failure).</summary>
public sealed record MobileNodeDetached(string MobileNodeId);

/// <summary>Reported to the MAG node (and its subscribers) when a session changes.</summary>
public sealed record SessionReport(string MobileNodeId, MagSessionPhase Phase, ImmutableArray<Ipv6Prefix> Prefixes, TimeSpan Lifetime, string? Detail)
{
    /// <summary>On an established registration: the PBU→PBA round trip that established it.</summary>
    public TimeSpan? RoundTrip { get; init; }

    /// <summary>The node's QoS profile (from AAA or a reflected context), for the access link to apply.</summary>
    public QosProfile? Qos { get; init; }
}

/// <summary>Subscribe to every SessionReport of this MAG (tests, the access-link dataplane for RAs).</summary>
public sealed record SubscribeSessionReports;

public sealed record GetBindingUpdateList;

public sealed record BindingUpdateListView(ImmutableArray<SessionReport> Entries);

/// <summary>Send a Binding Revocation for every session to the LMA (at shutdown), RFC 5846 §8.1.</summary>
public sealed record RevokeAllSessions;

/// <summary>
/// Context Reflector: the node is about to move to <paramref name="NextMag"/> (`pmip6 hint`, standing in
/// for the access network's report, RFC 5949 predictive mode). Answered with <see cref="HintAnswer"/>.
/// </summary>
public sealed record HandoverHint(string MobileNodeId, Ipv6Address NextMag);

public sealed record HintAnswer(bool Accepted, string? Detail);

/// <summary>
/// Flow mobility, shared-prefix model: the prefixes of the node's other interfaces that the MAG advertises on the node's link
/// besides its own session's (empty: none any more). To the session-report subscribers (the access link).
/// </summary>
public sealed record SharedPrefixesChanged(string MobileNodeId, System.Collections.Immutable.ImmutableArray<Pmip6Akka.Dataplane.Wire.Ipv6Prefix> Prefixes);
