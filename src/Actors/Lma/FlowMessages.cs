// Messages of flow mobility (issue 8) to and from the binding entity, routed by MN-ID.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>Route the MN's flow <see cref="Key"/> through its session at MAG <see cref="To"/>; answered with <see cref="FlowRouteAnswer"/>.</summary>
public sealed record RouteFlow(string MobileNodeId, FlowKey Key, Ipv6Address To, FlowMoveReason Reason = FlowMoveReason.Command)
    : IWithMobileNodeId, Persistence.IPmip6Serializable;

/// <param name="RouteId">The route now carrying the flow; 0 when the move put it back on its prefix's own session, or was refused.</param>
/// <param name="Error">Why the move was refused; null when accepted.</param>
public sealed record FlowRouteAnswer(string MobileNodeId, ushort RouteId, string? Error) : Persistence.IPmip6Serializable
{
    public bool Accepted => Error is null;
}

/// <summary>A Flow Mobility Acknowledgement from a MAG, for the binding entity that sent the Initiate.</summary>
public sealed record FlowMobilityAnswered(string MobileNodeId, Ipv6Address From, ushort Sequence, UpdateNotificationStatus Status)
    : IWithMobileNodeId, Persistence.IPmip6Serializable;

/// <summary>The LMA's flow table expired the (idle) flow of a route (reported by the dataplane).</summary>
public sealed record FlowExpired(string MobileNodeId, ushort RouteId, FlowKey Key) : IWithMobileNodeId, Persistence.IPmip6Serializable;

public sealed record GetFlowRoutes(string MobileNodeId) : IWithMobileNodeId, Persistence.IPmip6Serializable;

public sealed record FlowRouteView(ushort RouteId, FlowKey Key, int SessionId, Ipv6Address Via, FlowMoveReason Reason, DateTimeOffset At);

/// <summary>The MN's flow routes and which of its MAGs hold (acknowledged) all its prefixes.</summary>
public sealed record FlowRoutesView(string MobileNodeId, ImmutableArray<FlowRouteView> Routes, ImmutableArray<Ipv6Address> AnnouncedTo)
    : Persistence.IPmip6Serializable;
