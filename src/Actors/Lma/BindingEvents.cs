// Events the binding entity persists. Each is a fact about one mobility session of one MN
// (RFC 5213 §5.1: a Binding Cache Entry per mobility session).
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public interface IBindingEvent : IWithMobileNodeId, Persistence.IPmip6Serializable
{
    int SessionId { get; }
}

public enum RegistrationKind : byte
{
    /// <summary>A new mobility session (new prefixes).</summary>
    Initial = 0,
    /// <summary>Re-registration from the serving MAG.</summary>
    Refresh = 1,
    /// <summary>The session moved to another MAG (proxy-CoA changed).</summary>
    Handover = 2,
}

/// <summary>A session was registered, refreshed or handed over: the BCE as it now stands.</summary>
public sealed record SessionRegistered(
    string MobileNodeId,
    int SessionId,
    RegistrationKind Kind,
    ImmutableArray<Ipv6Prefix> Prefixes,
    Ipv6Address ProxyCoa,
    AccessTechnologyType AccessTechnology,
    string? LinkLayerId,
    Ipv6Address? LinkLocalAddress,
    DateTimeOffset RegisteredAt,
    TimeSpan Lifetime,
    Pmip6Timestamp? Timestamp,
    ushort Sequence) : IBindingEvent;

/// <summary>
/// The serving MAG de-registered the session (RFC 5213 §5.3.5): the BCE is kept until
/// <see cref="DeleteAt"/> (MinDelayBeforeBCEDelete) in case a new MAG registers it.
/// </summary>
public sealed record SessionDeregistered(string MobileNodeId, int SessionId, DateTimeOffset At, DateTimeOffset DeleteAt,
    Pmip6Timestamp? Timestamp) : IBindingEvent;

public enum RemovalReason : byte
{
    LifetimeExpired = 0,
    DeregistrationDelayElapsed = 1,
    Revoked = 2,
}

/// <summary>The BCE is gone and its prefixes go back to the pool.</summary>
public sealed record SessionRemoved(string MobileNodeId, int SessionId, RemovalReason Reason, DateTimeOffset At,
    ImmutableArray<Ipv6Prefix> ReleasedPrefixes) : IBindingEvent;
