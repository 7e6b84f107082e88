// The binding entity's state and decisions for one mobile node: every mobility session (BCE) of
// that MN, RFC 5213 §5.3 (PBU processing) and §5.4.1 (BCE lookup with the Handoff Indicator).
// Pure and immutable: Decide returns what should happen, Apply folds a persisted event in. One exception, for its owner
// only: TryRenew writes a refresh into the session it renews (the binding bucket's hot path; see there).
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public enum SessionState : byte
{
    Active = 0,
    /// <summary>De-registered by its MAG; kept until DeleteAt for a handover to another MAG.</summary>
    AwaitingNewMag = 1,
}

public sealed record MobilitySession(
    int Id,
    ImmutableArray<Ipv6Prefix> Prefixes,
    Ipv6Address ProxyCoa,
    AccessTechnologyType AccessTechnology,
    string? LinkLayerId,
    Ipv6Address? LinkLocalAddress,
    DateTimeOffset RegisteredAt,
    TimeSpan Lifetime,
    Pmip6Timestamp? LastTimestamp,
    ushort LastSequence,
    SessionState State,
    DateTimeOffset? DeleteAt)
{
    // The lease: what a refresh from the serving MAG changes. Settable only through Renew (BindingState.TryRenew), which
    // the binding bucket's table calls on the state it built for the PBU being handled, then writes the lease into its
    // rows (BindingTable.TryRenew): a refresh builds no second state (issue 4).
    public DateTimeOffset RegisteredAt { get; private set; } = RegisteredAt;
    public TimeSpan Lifetime { get; private set; } = Lifetime;
    public Pmip6Timestamp? LastTimestamp { get; private set; } = LastTimestamp;
    public ushort LastSequence { get; private set; } = LastSequence;

    /// <summary>A refresh of this very session (same MAG, identity and prefixes), written into it: no object changes but this one's fields.</summary>
    internal void Renew(SessionRegistered r)
    {
        RegisteredAt = r.RegisteredAt;
        Lifetime = r.Lifetime;
        LastTimestamp = r.Timestamp;
        LastSequence = r.Sequence;
    }

    /// <summary>Whether <paramref name="r"/> changes nothing of this session but its lease.</summary>
    internal bool IsRenewedBy(SessionRegistered r) =>
        r.Kind == RegistrationKind.Refresh && r.SessionId == Id && State == SessionState.Active && DeleteAt is null
        && r.ProxyCoa == ProxyCoa && r.AccessTechnology == AccessTechnology && r.LinkLayerId == LinkLayerId
        && r.LinkLocalAddress == LinkLocalAddress && (r.Prefixes == Prefixes || r.Prefixes.AsSpan().SequenceEqual(Prefixes.AsSpan()));

    public DateTimeOffset ExpiresAt => ExpiryOf(State, DeleteAt, RegisteredAt, Lifetime);

    /// <summary>When a session in <paramref name="state"/> expires or ends its de-registration delay (also read from a bucket's rows).</summary>
    internal static DateTimeOffset ExpiryOf(SessionState state, DateTimeOffset? deleteAt, DateTimeOffset registeredAt, TimeSpan lifetime) =>
        state == SessionState.AwaitingNewMag && deleteAt is { } d ? d : registeredAt + lifetime;

    public bool Owns(Ipv6Prefix prefix) => Prefixes.Contains(prefix);
}

/// <summary>The outcome of one PBU.</summary>
public abstract record BindingDecision
{
    /// <summary>Reject with this status; nothing changes.</summary>
    public sealed record Reject(ProxyBindingAcknowledgement Reply) : BindingDecision;

    /// <summary>A new session needs prefixes from the pool first; decide again with them.</summary>
    public sealed record NeedPrefixes(int Count) : BindingDecision;

    /// <summary>
    /// RFC 5213 §5.4.1.2 (Handoff Indicator 4): the PBU may be a handover whose de-registration from
    /// the previous MAG has not arrived yet; decide it again after <see cref="After"/>
    /// (MaxDelayBeforeNewBCEAssign) with deferral off, and only then assign new prefixes.
    /// </summary>
    public sealed record Defer(TimeSpan After) : BindingDecision;

    /// <summary>Persist these events (possibly none), then send the reply.</summary>
    public sealed record Accept(ImmutableArray<IBindingEvent> Events, ProxyBindingAcknowledgement Reply) : BindingDecision;
}

public sealed record BindingSettings
{
    public static readonly BindingSettings Default = new();

    public TimeSpan MinDelayBeforeBceDelete { get; init; } = ProtocolConstants.MinDelayBeforeBceDelete;

    /// <summary>Upper bound on any granted lifetime, whatever the policy says.</summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromHours(1);

    public TimeSpan MaxDelayBeforeNewBceAssign { get; init; } = ProtocolConstants.MaxDelayBeforeNewBceAssign;
}

public sealed record BindingState(string MobileNodeId, ImmutableArray<MobilitySession> Sessions, int NextSessionId) : Persistence.IPmip6Serializable
{
    public static BindingState Empty(string mobileNodeId) => new(mobileNodeId, [], 1);

    public bool IsEmpty => Sessions.IsEmpty;

    public IEnumerable<Ipv6Prefix> AllPrefixes => Sessions.SelectMany(s => s.Prefixes);

    /// <summary>The earliest moment a session expires or its de-registration delay ends (for the timer).</summary>
    public DateTimeOffset? NextDeadline
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var s in Sessions) // asked after every PBU: a loop, no enumerator or delegate (issue 4)
                if (next is not { } n || s.ExpiresAt < n)
                    next = s.ExpiresAt;
            return next;
        }
    }

    /// <summary>
    /// Decides a PBU that passed the protocol handler's checks (authorised MAG, mandatory options,
    /// timestamp window) against this MN's sessions. <paramref name="assignedPrefixes"/> are the
    /// pool's answer to an earlier <see cref="BindingDecision.NeedPrefixes"/>.
    /// </summary>
    public BindingDecision Decide(ProxyBindingUpdate pbu, MobileNodePolicy policy, DateTimeOffset now,
        BindingSettings? settings = null, ImmutableArray<Ipv6Prefix>? assignedPrefixes = null, bool mayDefer = true)
    {
        settings ??= BindingSettings.Default;
        if (!policy.ProxyRegistrationEnabled)
            return Reject(pbu, BindingAcknowledgementStatus.ProxyRegistrationNotEnabled);
        if (!policy.Allows(pbu.AccessTechnology))
            return Reject(pbu, BindingAcknowledgementStatus.AdministrativelyProhibited);

        MobilitySession? session;
        if (NamedPrefixes(pbu) is var (owner, status))
        {
            if (status != BindingAcknowledgementStatus.Accepted)
                return Reject(pbu, status);
            session = owner;
        }
        else
        {
            session = FindByHandoffIndicator(pbu);
        }

        if (pbu.IsDeregistration)
            return DecideDeregistration(pbu, session, now, settings);

        if (session is not null)
        {
            if (IsStale(pbu, session))
                return Reject(pbu, BindingAcknowledgementStatus.TimestampLowerThanPreviouslyAccepted);
            var kind = session.ProxyCoa == pbu.ProxyCoa && session.State == SessionState.Active
                ? RegistrationKind.Refresh
                : RegistrationKind.Handover;
            return Register(pbu, session.Id, kind, session.Prefixes, policy, now, settings);
        }

        // A new mobility session — unless the handoff state is unknown and another MAG still serves a
        // session of this MN over the same access technology: that may be this very session moving.
        if (mayDefer && pbu.Handoff == HandoffIndicator.HandoffStateUnknown && settings.MaxDelayBeforeNewBceAssign > TimeSpan.Zero
            && Sessions.Any(s => s.State == SessionState.Active && s.ProxyCoa != pbu.ProxyCoa && s.AccessTechnology == pbu.AccessTechnology))
            return new BindingDecision.Defer(settings.MaxDelayBeforeNewBceAssign);
        if (Sessions.Count(s => s.State == SessionState.Active) >= policy.MaxSessions)
            return Reject(pbu, BindingAcknowledgementStatus.InsufficientResources);
        if (assignedPrefixes is not { } prefixes)
            return new BindingDecision.NeedPrefixes(policy.HomeNetworkPrefixCount);
        if (prefixes.IsEmpty)
            return Reject(pbu, BindingAcknowledgementStatus.InsufficientResources);
        return Register(pbu, NextSessionId, RegistrationKind.Initial, prefixes, policy, now, settings);
    }

    /// <summary>
    /// §5.4.1.1: the session whose prefixes the PBU names (every named prefix must be one session's, and all of that
    /// session's), or why not; null when the PBU names none (the all-zero prefix asks for an assignment). Loops, not LINQ:
    /// every refresh names its prefixes, and at 10,000 PBUs/s the iterators and hash sets were ~15 % of what the LMA
    /// allocated (issue 4: allocations decide how often a young collection pauses the node).
    /// </summary>
    private (MobilitySession? Session, BindingAcknowledgementStatus Status)? NamedPrefixes(ProxyBindingUpdate pbu)
    {
        var named = pbu.HomeNetworkPrefixes;
        MobilitySession? session = null;
        var mixed = false; // 159 — decided only after every prefix, since an unknown one anywhere makes it 155
        var distinct = 0;
        for (var i = 0; i < named.Length; i++)
        {
            var prefix = named[i];
            if (IsAssignmentRequest(prefix))
                continue;
            if (Owner(prefix) is not { } owner)
                return (null, BindingAcknowledgementStatus.NotAuthorizedForHomeNetworkPrefix);
            mixed |= session is not null && owner.Id != session.Id;
            session ??= owner;
            if (named.IndexOf(prefix) == i) // the first of equal prefixes counts
                distinct++;
        }
        if (session is null)
            return null;
        return !mixed && session.Prefixes.Length == distinct
            ? (session, BindingAcknowledgementStatus.Accepted)
            : (null, BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch);
    }

    private static bool IsAssignmentRequest(Ipv6Prefix prefix) => prefix.Address == default && prefix.Length == 0;

    private MobilitySession? Owner(Ipv6Prefix prefix)
    {
        foreach (var s in Sessions)
            if (s.Owns(prefix))
                return s;
        return null;
    }

    /// <summary>
    /// §5.4.1.2: without named prefixes, the Handoff Indicator says whether the PBU continues an
    /// existing session (handoff between MAGs or interfaces, re-registration) or starts a new one.
    /// </summary>
    private MobilitySession? FindByHandoffIndicator(ProxyBindingUpdate pbu)
    {
        MobilitySession? ByLinkLayer() => pbu.LinkLayerId is null ? null
            : Sessions.FirstOrDefault(s => s.LinkLayerId == pbu.LinkLayerId && s.AccessTechnology == pbu.AccessTechnology);
        MobilitySession? SingleAwaiting()
        {
            var awaiting = Sessions.Where(s => s.State == SessionState.AwaitingNewMag).ToList();
            return awaiting.Count == 1 ? awaiting[0] : null;
        }
        return pbu.Handoff switch
        {
            // A new interface — unless this MAG already holds the session of that interface: then the PBU
            // is a retransmission whose PBA was lost (or a re-attach), and must not create a second session.
            HandoffIndicator.AttachmentOverNewInterface => pbu.IsDeregistration
                ? ByLinkLayer() ?? SessionAt(pbu)
                : Sessions.FirstOrDefault(s => s.ProxyCoa == pbu.ProxyCoa && s.AccessTechnology == pbu.AccessTechnology
                                               && s.LinkLayerId == pbu.LinkLayerId && s.State == SessionState.Active),
            HandoffIndicator.HandoffStateNotChanged => SessionAt(pbu) ?? ByLinkLayer(),
            HandoffIndicator.HandoffBetweenMagsForSameInterface => ByLinkLayer() ?? SingleAwaiting() ?? SingleSession(),
            HandoffIndicator.HandoffBetweenInterfacesOfMobileNode => SingleAwaiting() ?? SingleSession(),
            _ => ByLinkLayer() ?? SessionAt(pbu) ?? SingleAwaiting(),
        };
    }

    private MobilitySession? SessionAt(ProxyBindingUpdate pbu)
    {
        var at = Sessions.Where(s => s.ProxyCoa == pbu.ProxyCoa && (pbu.LinkLayerId is null || s.LinkLayerId is null || s.LinkLayerId == pbu.LinkLayerId)).ToList();
        return at.Count == 1 ? at[0] : null;
    }

    private MobilitySession? SingleSession() => Sessions.Length == 1 ? Sessions[0] : null;

    private static bool IsStale(ProxyBindingUpdate pbu, MobilitySession session) =>
        pbu.Timestamp is { } ts && session.LastTimestamp is { } last && ts.CompareTo(last) < 0;

    private BindingDecision DecideDeregistration(ProxyBindingUpdate pbu, MobilitySession? session, DateTimeOffset now, BindingSettings settings)
    {
        // §5.3.5: a de-registration from a MAG that no longer serves the session (the handover already
        // happened) or for a session that does not exist changes nothing, and is acknowledged.
        if (session is null || session.ProxyCoa != pbu.ProxyCoa || session.State == SessionState.AwaitingNewMag)
            return new BindingDecision.Accept([], Reply(pbu, session?.Prefixes ?? pbu.HomeNetworkPrefixes, TimeSpan.Zero));
        if (IsStale(pbu, session))
            return Reject(pbu, BindingAcknowledgementStatus.TimestampLowerThanPreviouslyAccepted);
        var deregistered = new SessionDeregistered(MobileNodeId, session.Id, now, now + settings.MinDelayBeforeBceDelete, pbu.Timestamp);
        return new BindingDecision.Accept([deregistered], Reply(pbu, session.Prefixes, TimeSpan.Zero));
    }

    private BindingDecision Register(ProxyBindingUpdate pbu, int sessionId, RegistrationKind kind, ImmutableArray<Ipv6Prefix> prefixes,
        MobileNodePolicy policy, DateTimeOffset now, BindingSettings settings)
    {
        var lifetime = Min(pbu.Lifetime, Min(policy.MaxLifetime ?? settings.MaxLifetime, settings.MaxLifetime));
        var registered = new SessionRegistered(MobileNodeId, sessionId, kind, prefixes, pbu.ProxyCoa, pbu.AccessTechnology,
            pbu.LinkLayerId, pbu.LinkLocalAddress, now, lifetime, pbu.Timestamp, pbu.Sequence);
        return new BindingDecision.Accept([registered], Reply(pbu, prefixes, lifetime));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static ProxyBindingAcknowledgement Reply(ProxyBindingUpdate pbu, ImmutableArray<Ipv6Prefix> prefixes, TimeSpan lifetime) =>
        new(pbu.ProxyCoa, BindingAcknowledgementStatus.Accepted, pbu.Sequence, lifetime, pbu.MobileNodeId, prefixes, pbu.Handoff,
            pbu.AccessTechnology, pbu.LinkLayerId, pbu.LinkLocalAddress, pbu.Timestamp);

    private static BindingDecision.Reject Reject(ProxyBindingUpdate pbu, BindingAcknowledgementStatus status) =>
        new(ProxyBindingAcknowledgement.Reject(pbu, status));

    /// <summary>Sessions whose lifetime or de-registration delay has run out by <paramref name="now"/>.</summary>
    public ImmutableArray<IBindingEvent> Expire(DateTimeOffset now) =>
        [.. Sessions.Where(s => s.ExpiresAt <= now).Select(s => (IBindingEvent)new SessionRemoved(MobileNodeId, s.Id,
            s.State == SessionState.AwaitingNewMag ? RemovalReason.DeregistrationDelayElapsed : RemovalReason.LifetimeExpired, now, s.Prefixes))];

    /// <summary>Administrative revocation (RFC 5846): every session, or those at one MAG.</summary>
    public ImmutableArray<IBindingEvent> Revoke(DateTimeOffset now, Ipv6Address? atMag = null) =>
        [.. Sessions.Where(s => atMag is null || s.ProxyCoa == atMag)
            .Select(s => (IBindingEvent)new SessionRemoved(MobileNodeId, s.Id, RemovalReason.Revoked, now, s.Prefixes))];

    /// <summary>
    /// The binding bucket's fold of a refresh from the serving MAG: the session's lease is written in place and true is
    /// returned (the bucket's table then writes the same lease into its rows). False, and nothing changed, for anything
    /// else: the bucket then folds with <see cref="Apply"/>, which stays pure. Only the owner of a state may call this: the
    /// states another thread keeps (a snapshot's) are built anew from the bucket's rows.
    /// </summary>
    public bool TryRenew(SessionRegistered r)
    {
        // Only the last session: Apply puts a registered session last, and the order is what /status shows and what
        // FirstOrDefault lookups meet first, so a renewal must leave the state exactly as Apply would (one session: always).
        if (Sessions.IsEmpty || Sessions[^1] is not { } last || !last.IsRenewedBy(r))
            return false;
        last.Renew(r);
        return true;
    }

    public BindingState Apply(IBindingEvent e) => e switch
    {
        SessionRegistered r => this with
        {
            Sessions = Registered(r),
            NextSessionId = Math.Max(NextSessionId, r.SessionId + 1),
        },
        SessionDeregistered d => this with
        {
            Sessions = Sessions.Select(s => s.Id == d.SessionId
                // The de-registration does not advance the session's timestamp: the new MAG's PBU may carry
                // an earlier one (it can be sent before the old MAG noticed the MN left) and is still current.
                ? s with { State = SessionState.AwaitingNewMag, DeleteAt = d.DeleteAt }
                : s).ToImmutableArray(),
        },
        SessionRemoved r => this with { Sessions = Sessions.RemoveAll(s => s.Id == r.SessionId) },
        _ => this,
    };

    /// <summary>
    /// The sessions after <paramref name="r"/>: the registered one last, in one new array. Every PBU replaces its node's
    /// state, and the new objects live until the next one, so they are promoted by the collector: a refresh keeps the
    /// old link-layer identifier string and allocates no list nodes (issue 4: the pause grows with what survives).
    /// </summary>
    private ImmutableArray<MobilitySession> Registered(SessionRegistered r)
    {
        MobilitySession? previous = null;
        foreach (var s in Sessions)
            if (s.Id == r.SessionId)
                previous = s;
        var linkLayerId = previous?.LinkLayerId is { } known && known == r.LinkLayerId ? known : r.LinkLayerId;
        // A refresh decided here carries the session's own array already; only a replayed event brings an equal copy.
        var prefixes = previous is { } p && p.Prefixes != r.Prefixes && p.Prefixes.SequenceEqual(r.Prefixes) ? p.Prefixes : r.Prefixes;
        var sessions = new MobilitySession[Sessions.Length + (previous is null ? 1 : 0)];
        var i = 0;
        foreach (var s in Sessions)
            if (s.Id != r.SessionId)
                sessions[i++] = s;
        sessions[i] = new MobilitySession(r.SessionId, prefixes, r.ProxyCoa, r.AccessTechnology, linkLayerId, r.LinkLocalAddress,
            r.RegisteredAt, r.Lifetime, r.Timestamp, r.Sequence, SessionState.Active, null);
        return ImmutableCollectionsMarshal.AsImmutableArray(sessions);
    }
}
