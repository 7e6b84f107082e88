// Messages of the LMA node: to and from binding entities (routed by MN-ID), the prefix pool, and
// the status queries the HTTP endpoint and the CLI use.
using System.Collections.Immutable;
using Akka.Actor;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>A PBU that passed admission, for the MN's binding entity.</summary>
public sealed record HandleProxyBindingUpdate(ProxyBindingUpdate Pbu, MobileNodePolicy Policy, long ReceivedAtTimestamp = 0) : IWithMobileNodeId, Persistence.IPmip6Serializable
{
    public string MobileNodeId => Pbu.MobileNodeId;
}

/// <summary>Administrative revocation of every session of an MN (RFC 5846).</summary>
public sealed record RevokeBinding(string MobileNodeId, RevocationTrigger Trigger = RevocationTrigger.AdministrativeReason) : IWithMobileNodeId, Persistence.IPmip6Serializable;

/// <summary>A MAG revoked all its bindings (RFC 5846 §8.1, G flag): drop this MN's sessions at that MAG, without a BRI back.</summary>
public sealed record RevokeSessionsAt(string MobileNodeId, Ipv6Address Mag) : IWithMobileNodeId, Persistence.IPmip6Serializable;

public sealed record RevocationStarted(string MobileNodeId, int Sessions) : Persistence.IPmip6Serializable;

/// <summary>A BRA from a MAG, for the binding entity that sent the BRI.</summary>
public sealed record RevocationAcknowledged(string MobileNodeId, ushort Sequence, BindingRevocationStatus Status, Ipv6Address Mag) : IWithMobileNodeId, Persistence.IPmip6Serializable;

/// <summary>Starts (recovers) one binding bucket ahead of traffic; answered with <see cref="BucketReady"/>.</summary>
/// <summary>A Context Reflection Acknowledgement from a MAG, for the binding entity holding the CCE.</summary>
public sealed record ContextReflectionAnswered(string MobileNodeId, Ipv6Address From, ushort Sequence, ContextReflectionStatus Status)
    : IWithMobileNodeId, Persistence.IPmip6Serializable;

public sealed record StartBucket(int Bucket) : Persistence.IPmip6Serializable;

public sealed record BucketReady(int Bucket, int MobileNodes) : Persistence.IPmip6Serializable;

public sealed record GetBinding(string MobileNodeId) : IWithMobileNodeId, Persistence.IPmip6Serializable;

public sealed record BindingSnapshot(string MobileNodeId, ImmutableArray<SessionView> Sessions) : Persistence.IPmip6Serializable;

public sealed record SessionView(int SessionId, ImmutableArray<Ipv6Prefix> Prefixes, Ipv6Address ProxyCoa, SessionState State,
    AccessTechnologyType AccessTechnology, string? LinkLayerId, DateTimeOffset ExpiresAt)
{
    /// <summary>What a query shows of each of the MN's sessions.</summary>
    public static ImmutableArray<SessionView> Of(BindingState state) =>
        [.. state.Sessions.Select(s => new SessionView(s.Id, s.Prefixes, s.ProxyCoa, s.State, s.AccessTechnology, s.LinkLayerId, s.ExpiresAt))];
}

/// <summary>A bucket this node hosts, recovered and answering <see cref="ListBindings"/> (to the node's <see cref="BindingIndex"/>).</summary>
public sealed record BucketHosted(int Bucket, IActorRef Actor);

/// <summary>The bucket stopped here (handed off, restarting, the node stopping).</summary>
public sealed record BucketLeft(int Bucket, IActorRef Actor);

/// <summary>
/// A bucket's part of a <see cref="GetBindingIndex"/>: its totals and up to <see cref="Limit"/> of its MNs (those with a session
/// at <see cref="AtMag"/>, when given). Built on the bucket's thread, so a view never mixes two refreshes of a session.
/// </summary>
public sealed record ListBindings(int Limit, Ipv6Address? AtMag);

public sealed record BucketBindings(int MobileNodes, int Sessions, ImmutableArray<BindingSnapshot> Bindings);


/// <summary>Query of the node's binding index: the first <see cref="Limit"/> MNs and the totals.</summary>
public sealed record GetBindingIndex(int Limit = 1000, Ipv6Address? AtMag = null);

public sealed record BindingIndexView(int MobileNodes, int Sessions, ImmutableArray<BindingSnapshot> Bindings);

/// <summary>
/// Tunnelled uplink (the inner packet) that reached an LMA node of a cluster which does not own the bucket of its
/// source prefix, from MAG <see cref="Mag"/>: relayed through the shard region to the bucket's owner, which
/// decapsulates it under the usual proxy-CoA check (RFC 5213 §5.6.2).
/// </summary>
public sealed record RelayedUplink(int Bucket, ImmutableArray<byte> Packet, Ipv6Address Mag) : Persistence.IPmip6Serializable;
