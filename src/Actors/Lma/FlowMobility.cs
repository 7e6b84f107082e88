// IP flow mobility, LMA side (issue 8, RFC 7864 on RFC 7077/6089 formats). An MN attached through
// several interfaces has one mobility session per interface in its BindingState (the flow-mob list).
// When its active sessions are at more than one MAG, every serving MAG is told all of the MN's prefixes
// with a Flow Mobility Initiate (Update Notification, reason FLOW-MOBILITY), resent until acknowledged,
// so each MAG routes all of them onto the MN's interface on its link. Single flows (flow keys) are routed
// through another session's MAG on command, on loss (FlowLossPolicy) and on outage (a de-registered
// interface's routes move to a remaining session).
//
// Pure and immutable, beside BindingState like ContextReflectorState: the routes are persisted as events
// (flow-routed.v1, flow-route-removed.v1) in the bucket's journal; the announcements are derived from the
// BindingState (re-announced after a restart) and their retransmission bookkeeping is not persisted.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record FlowMobilitySettings
{
    public static readonly FlowMobilitySettings Default = new();

    /// <summary>Off unless the operator switches it on (flow-mobility.enabled).</summary>
    public bool Enabled { get; init; }

    /// <summary>First retransmission delay of an unacknowledged Flow Mobility Initiate; doubles up to <see cref="MaxRetransmitDelay"/>.</summary>
    public TimeSpan InitialRetransmitDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetransmitDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Initiates sent (the first included) before the LMA stops asking a MAG.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Most flow routes one MN may hold.</summary>
    public int MaxRoutesPerMobileNode { get; init; } = 64;

    /// <summary>The wait after attempt <paramref name="attempts"/> before the next one.</summary>
    public TimeSpan RetransmitDelay(int attempts) =>
        new ReflectorSettings { InitialRetransmitDelay = InitialRetransmitDelay, MaxRetransmitDelay = MaxRetransmitDelay }.RetransmitDelay(attempts);
}

public enum FlowMoveReason : byte
{
    Command = 0,
    Loss = 1,
    /// <summary>The session the flow was routed through was de-registered (its interface went down).</summary>
    Outage = 2,
}

public enum FlowRouteRemoval : byte
{
    /// <summary>Moved back to the session owning its destination prefix: the prefix's route serves it again.</summary>
    MovedHome = 0,
    /// <summary>The flow table expired the idle flow.</summary>
    Expired = 1,
    /// <summary>The session it was routed through is gone and no other session of the MN remains.</summary>
    SessionGone = 2,
}

/// <summary>A flow of the MN is routed through session <see cref="IBindingEvent.SessionId"/> (its MAG) instead of its prefix's home session.</summary>
public sealed record FlowRouted(string MobileNodeId, int SessionId, ushort RouteId, FlowKey Key, FlowMoveReason Reason, DateTimeOffset At) : IBindingEvent;

/// <summary>A flow route is gone: the flow follows its destination prefix's session again (or has ended).</summary>
public sealed record FlowRouteRemoved(string MobileNodeId, int SessionId, ushort RouteId, FlowKey Key, FlowRouteRemoval Reason, DateTimeOffset At) : IBindingEvent;

/// <summary>One flow route: the flow key and the session whose MAG carries it.</summary>
public sealed record FlowRoute(ushort RouteId, FlowKey Key, int SessionId, FlowMoveReason Reason, DateTimeOffset At);

/// <summary>
/// The MN's prefixes told to one session's MAG. <see cref="Sequence"/>, <see cref="Attempts"/> and
/// <see cref="LastSentAt"/> are bookkeeping, not persisted.
/// </summary>
public sealed record FlowAnnouncement(int SessionId, Ipv6Address Mag, ImmutableArray<Ipv6Prefix> Prefixes, ushort Sequence,
    bool Acknowledged, int Attempts, DateTimeOffset LastSentAt, UpdateNotificationStatus? Refused = null)
{
    public bool Pending => !Acknowledged && Refused is null;
}

/// <summary>The Flow Mobility Initiate to one MAG: the MN's prefixes, one Flow Identification per prefix.</summary>
public sealed record FlowMobilityInitiateMessage(string MobileNodeId, ushort Sequence, ImmutableArray<Ipv6Prefix> Prefixes)
{
    /// <summary>
    /// MN-ID, an HNP option per prefix, then one Flow Identification (FID = its position, priority 1) per
    /// prefix whose traffic selector is the prefix's destination range: "all of this prefix, to the MN here".
    /// </summary>
    public bool TryWrite(Span<byte> buffer, out int length)
    {
        var w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, Sequence);
        WireText.WriteMobileNodeIdentifier(ref w, MobileNodeId);
        foreach (var prefix in Prefixes)
            w.HomeNetworkPrefix(prefix);
        for (var i = 0; i < Prefixes.Length; i++)
            w.Flow((ushort)(i + 1), 1, FlowIdentificationStatus.Success, DestinationOf(Prefixes[i]), action: FlowBindingAction.Add);
        return w.TryFinish(out length);
    }

    public static Ipv6TrafficSelector DestinationOf(Ipv6Prefix prefix)
    {
        var first = prefix.Address.Mask(prefix.Length);
        var last = new Ipv6Address(first.Value | (prefix.Length >= 128 ? UInt128.Zero : UInt128.MaxValue >> prefix.Length));
        return new Ipv6TrafficSelector { Destination = SelectorRange<Ipv6Address>.Between(first, last) };
    }
}

/// <summary>What the caller must do besides persisting events.</summary>
public abstract record FlowEffect
{
    /// <summary>Send (or resend) the Flow Mobility Initiate to a MAG.</summary>
    public sealed record SendInitiate(Ipv6Address Mag, FlowMobilityInitiateMessage Message, int Attempt) : FlowEffect;

    /// <summary>A MAG refused (or never answered) the announcement: log and count.</summary>
    public sealed record AnnouncementFailed(Ipv6Address Mag, UpdateNotificationStatus? Status, int Attempts) : FlowEffect;
}

/// <summary>Why a move was refused (each with its own text for the CLI).</summary>
public enum FlowMoveRefusal : byte
{
    Disabled = 1,
    NotTheMobileNodesPrefix = 2,
    NoSessionAtMag = 3,
    TooManyRoutes = 4,
    AlreadyThere = 5,
}

/// <summary>The result of a move: events to persist, or a refusal.</summary>
public sealed record FlowMoveDecision(ImmutableArray<IBindingEvent> Events, FlowMoveRefusal? Refusal)
{
    public static string Describe(FlowMoveRefusal refusal) => refusal switch
    {
        FlowMoveRefusal.Disabled => "flow mobility is off at this LMA (flow-mobility.enabled)",
        FlowMoveRefusal.NotTheMobileNodesPrefix => "the flow's destination is not in any prefix of this mobile node",
        FlowMoveRefusal.NoSessionAtMag => "the mobile node has no active session at that MAG",
        FlowMoveRefusal.TooManyRoutes => "the mobile node holds the most flow routes allowed (flow-mobility.max-routes-per-mn)",
        FlowMoveRefusal.AlreadyThere => "the flow already goes through that MAG",
        _ => refusal.ToString(),
    };
}

/// <summary>The flow routes and announcements of one mobile node.</summary>
public sealed record FlowMobilityState(string MobileNodeId, ImmutableList<FlowRoute> Routes, ushort NextRouteId,
    ImmutableList<FlowAnnouncement> Announcements, ushort NextSequence) : Persistence.IPmip6Serializable
{
    public static FlowMobilityState Empty(string mobileNodeId) => new(mobileNodeId, [], 1, [], 1);

    /// <summary>Nothing worth keeping: no route, no announcement.</summary>
    public bool IsEmpty => Routes.IsEmpty && Announcements.IsEmpty;

    public FlowRoute? RouteFor(FlowKey key) => Routes.FirstOrDefault(r => r.Key == key);

    /// <summary>The MAGs the MN is active at, in session order: more than one makes a flow-mobility group.</summary>
    public static ImmutableArray<Ipv6Address> ActiveMags(BindingState binding) =>
        [.. binding.Sessions.Where(s => s.State == SessionState.Active).OrderBy(s => s.Id).Select(s => s.ProxyCoa).Distinct()];

    /// <summary>The session a flow to <paramref name="destination"/> takes without a route: the one owning its prefix.</summary>
    public static MobilitySession? HomeOf(BindingState binding, Ipv6Address destination) =>
        binding.Sessions.FirstOrDefault(s => s.Prefixes.Any(p => p.Contains(destination)));

    /// <summary>Where the flow's packets go now: its route's session's MAG, else its prefix's.</summary>
    public Ipv6Address? ViaOf(BindingState binding, FlowKey key)
    {
        var sessionId = RouteFor(key)?.SessionId ?? HomeOf(binding, key.Destination)?.Id;
        return binding.Sessions.FirstOrDefault(s => s.Id == sessionId)?.ProxyCoa;
    }

    /// <summary>
    /// Brings the announcements in line with <paramref name="binding"/>: while the MN is active at two MAGs
    /// or more (or a MAG was told before, and must hear that the set shrank), every active session's MAG is
    /// to hold all of the MN's prefixes; a new or changed set is sent at once (attempt 1).
    /// </summary>
    public (FlowMobilityState State, ImmutableArray<FlowEffect> Effects) Reconcile(BindingState binding, DateTimeOffset now, FlowMobilitySettings settings)
    {
        if (!settings.Enabled)
            return (this with { Announcements = [] }, []);
        var prefixes = binding.Sessions.OrderBy(s => s.Id).SelectMany(s => s.Prefixes).Distinct().ToImmutableArray();
        var grouped = ActiveMags(binding).Length >= 2;
        var effects = ImmutableArray.CreateBuilder<FlowEffect>();
        var announcements = ImmutableList.CreateBuilder<FlowAnnouncement>();
        var sequence = NextSequence;
        foreach (var session in binding.Sessions.Where(s => s.State == SessionState.Active).OrderBy(s => s.Id))
        {
            var told = Announcements.FirstOrDefault(a => a.SessionId == session.Id && a.Mag == session.ProxyCoa);
            if (!grouped && told is null)
                continue;
            // A MAG that answered 132 (it had no session for the MN, e.g. it had just restarted) is asked again at
            // the MN's next registration there.
            if (told is not null && told.Prefixes.SequenceEqual(prefixes) && told.Refused != UpdateNotificationStatus.MobileNodeNotAttached)
            {
                announcements.Add(told);
                continue;
            }
            var message = new FlowMobilityInitiateMessage(MobileNodeId, sequence, prefixes);
            announcements.Add(new FlowAnnouncement(session.Id, session.ProxyCoa, prefixes, sequence, false, 1, now));
            effects.Add(new FlowEffect.SendInitiate(session.ProxyCoa, message, 1));
            sequence = Next(sequence);
        }
        return (this with { Announcements = announcements.ToImmutable(), NextSequence = sequence }, effects.ToImmutable());
    }

    /// <summary>A Flow Mobility Acknowledgement from <paramref name="from"/>; one that matches nothing changes nothing (false).</summary>
    public (FlowMobilityState State, ImmutableArray<FlowEffect> Effects, bool Matched) OnAcknowledgement(Ipv6Address from, ushort sequence, UpdateNotificationStatus status)
    {
        var told = Announcements.FirstOrDefault(a => a.Mag == from && a.Sequence == sequence);
        if (told is null || !told.Pending)
            return (this, [], false);
        if (status == UpdateNotificationStatus.Success)
            return (this with { Announcements = Announcements.Replace(told, told with { Acknowledged = true }) }, [], true);
        return (this with { Announcements = Announcements.Replace(told, told with { Refused = status }) },
            [new FlowEffect.AnnouncementFailed(from, status, told.Attempts)], true);
    }

    /// <summary>The earliest due retransmission (for the timer).</summary>
    public DateTimeOffset? NextDeadline(FlowMobilitySettings settings)
    {
        DateTimeOffset? next = null;
        foreach (var a in Announcements.Where(a => a.Pending))
        {
            var at = a.LastSentAt + settings.RetransmitDelay(a.Attempts);
            if (next is null || at < next)
                next = at;
        }
        return next;
    }

    /// <summary>Resends every unacknowledged Initiate whose back-off has passed; gives up after MaxAttempts.</summary>
    public (FlowMobilityState State, ImmutableArray<FlowEffect> Effects) Tick(DateTimeOffset now, FlowMobilitySettings settings)
    {
        var effects = ImmutableArray.CreateBuilder<FlowEffect>();
        var announcements = Announcements;
        foreach (var a in Announcements.Where(a => a.Pending && now >= a.LastSentAt + settings.RetransmitDelay(a.Attempts)))
        {
            if (a.Attempts >= settings.MaxAttempts)
            {
                effects.Add(new FlowEffect.AnnouncementFailed(a.Mag, null, a.Attempts));
                announcements = announcements.Replace(a, a with { Refused = UpdateNotificationStatus.ReasonUnspecified });
                continue;
            }
            effects.Add(new FlowEffect.SendInitiate(a.Mag, new FlowMobilityInitiateMessage(MobileNodeId, a.Sequence, a.Prefixes), a.Attempts + 1));
            announcements = announcements.Replace(a, a with { Attempts = a.Attempts + 1, LastSentAt = now });
        }
        return (this with { Announcements = announcements }, effects.ToImmutable());
    }

    /// <summary>
    /// Routes the flow <paramref name="key"/> through the MN's active session at <paramref name="toMag"/>.
    /// Moving it to its prefix's own session removes its route.
    /// </summary>
    public FlowMoveDecision DecideMove(BindingState binding, FlowKey key, Ipv6Address toMag, FlowMoveReason reason, DateTimeOffset now,
        FlowMobilitySettings settings)
    {
        static FlowMoveDecision Refuse(FlowMoveRefusal why) => new([], why);
        if (!settings.Enabled)
            return Refuse(FlowMoveRefusal.Disabled);
        if (HomeOf(binding, key.Destination) is not { } home)
            return Refuse(FlowMoveRefusal.NotTheMobileNodesPrefix);
        var target = binding.Sessions.Where(s => s.State == SessionState.Active && s.ProxyCoa == toMag).OrderBy(s => s.Id).FirstOrDefault();
        if (target is null)
            return Refuse(FlowMoveRefusal.NoSessionAtMag);
        var existing = RouteFor(key);
        if (existing?.SessionId == target.Id)
            return Refuse(FlowMoveRefusal.AlreadyThere);
        if (home.Id == target.Id || (home.State == SessionState.Active && home.ProxyCoa == toMag))
            return existing is null
                ? Refuse(FlowMoveRefusal.AlreadyThere)
                : new([new FlowRouteRemoved(MobileNodeId, existing.SessionId, existing.RouteId, key, FlowRouteRemoval.MovedHome, now)], null);
        if (existing is null && Routes.Count >= settings.MaxRoutesPerMobileNode)
            return Refuse(FlowMoveRefusal.TooManyRoutes);
        var id = existing?.RouteId ?? FreeRouteId();
        return new([new FlowRouted(MobileNodeId, target.Id, id, key, reason, now)], null);
    }

    /// <summary>The flow table expired the flow of route <paramref name="routeId"/>: its route goes (nothing when it is no longer that flow's).</summary>
    public ImmutableArray<IBindingEvent> OnFlowExpired(ushort routeId, FlowKey key, DateTimeOffset now) =>
        Routes.FirstOrDefault(r => r.RouteId == routeId && r.Key == key) is { } route
            ? [new FlowRouteRemoved(MobileNodeId, route.SessionId, route.RouteId, route.Key, FlowRouteRemoval.Expired, now)]
            : [];

    /// <summary>
    /// What the MN's sessions changing means for its routes, decided on the state before
    /// <paramref name="events"/> and persisted with them: routes through a de-registered session move to a
    /// remaining active session (outage), or go when none remains; routes through a removed session go.
    /// </summary>
    public ImmutableArray<IBindingEvent> Follow(BindingState before, ImmutableArray<IBindingEvent> events, DateTimeOffset now)
    {
        if (Routes.IsEmpty)
            return [];
        var after = events.Aggregate(before, (s, e) => s.Apply(e));
        var result = ImmutableArray.CreateBuilder<IBindingEvent>();
        foreach (var e in events)
        {
            if (e is not (SessionDeregistered or SessionRemoved))
                continue;
            var remaining = after.Sessions.Where(s => s.State == SessionState.Active && s.Id != e.SessionId).OrderBy(s => s.Id).FirstOrDefault();
            foreach (var route in Routes.Where(r => r.SessionId == e.SessionId))
            {
                var home = HomeOf(after, route.Key.Destination);
                if (e is SessionDeregistered && remaining is not null && home is not null && home.Id != remaining.Id)
                    result.Add(new FlowRouted(MobileNodeId, remaining.Id, route.RouteId, route.Key, FlowMoveReason.Outage, now));
                else
                    result.Add(new FlowRouteRemoved(MobileNodeId, route.SessionId, route.RouteId, route.Key,
                        e is SessionDeregistered && remaining is not null ? FlowRouteRemoval.MovedHome : FlowRouteRemoval.SessionGone, now));
            }
        }
        return result.ToImmutable();
    }

    /// <summary>
    /// While a de-registered session waits for a new MAG and the MN is active elsewhere, the session's
    /// prefixes are sent through that other session's MAG (its flows move there instead of being held).
    /// </summary>
    public static MobilitySession? OutageFallback(BindingState binding, int deregisteredSessionId) =>
        binding.Sessions.FirstOrDefault(s => s.Id == deregisteredSessionId) is { State: SessionState.AwaitingNewMag } left
            ? binding.Sessions.Where(s => s.State == SessionState.Active && s.ProxyCoa != left.ProxyCoa).OrderBy(s => s.Id).FirstOrDefault()
            : null;

    /// <summary>
    /// The MN's uplink through the group: each active session's prefixes are also accepted from every other MAG of
    /// the group (a weak-host MN sends from any of its addresses out of any interface); empty when the MN is at one
    /// MAG only.
    /// </summary>
    public static ImmutableArray<(int SessionId, ImmutableArray<Ipv6Prefix> Prefixes, ImmutableArray<Ipv6Address> AlsoFrom)> UplinkAlternates(BindingState binding)
    {
        var active = binding.Sessions.Where(s => s.State == SessionState.Active).OrderBy(s => s.Id).ToList();
        return [.. active.Select(s => (s.Id, s.Prefixes, active.Where(o => o.ProxyCoa != s.ProxyCoa).Select(o => o.ProxyCoa).Distinct().ToImmutableArray()))];
    }

    /// <summary>The other MAGs of the group whose uplink for session <paramref name="sessionId"/>'s prefixes is accepted (empty: none).</summary>
    public static ImmutableArray<Ipv6Address> UplinkAlternatesOf(BindingState binding, int sessionId) =>
        UplinkAlternates(binding).FirstOrDefault(a => a.SessionId == sessionId).AlsoFrom is { IsDefault: false } set ? set : [];

    /// <summary>
    /// Outage beyond MinDelayBeforeBCEDelete: a de-registered interface's BCE whose delay ran out is kept (its
    /// delay extended to the remaining session's expiry, at least MinDelayBeforeBCEDelete) while the MN is
    /// active at another MAG, so its prefix — and the flows on it, sent through that MAG — live on instead of
    /// the prefix going back to the pool. Other expiries pass unchanged.
    /// </summary>
    public static ImmutableArray<IBindingEvent> KeepOutagePrefixes(BindingState binding, ImmutableArray<IBindingEvent> expired, DateTimeOffset now,
        BindingSettings settings) =>
        [.. expired.Select(e => e is SessionRemoved { Reason: RemovalReason.DeregistrationDelayElapsed } removed
                && OutageFallback(binding, removed.SessionId) is { } fallback && fallback.ExpiresAt > now
            ? new SessionDeregistered(binding.MobileNodeId, removed.SessionId, now, Max(fallback.ExpiresAt, now + settings.MinDelayBeforeBceDelete), null)
            : e)];

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private ushort FreeRouteId()
    {
        var id = NextRouteId;
        while (id == 0 || Routes.Any(r => r.RouteId == id))
            id = Next(id);
        return id;
    }

    private static ushort Next(ushort value) => value == ushort.MaxValue ? (ushort)1 : (ushort)(value + 1);

    public FlowMobilityState Apply(IBindingEvent e) => e switch
    {
        FlowRouted r => this with
        {
            Routes = Routes.RemoveAll(x => x.RouteId == r.RouteId || x.Key == r.Key).Add(new FlowRoute(r.RouteId, r.Key, r.SessionId, r.Reason, r.At)),
            NextRouteId = Next(r.RouteId),
        },
        FlowRouteRemoved r => this with { Routes = Routes.RemoveAll(x => x.RouteId == r.RouteId) },
        // The BCE is gone: no route outlives it, no announcement is owed to its MAG.
        SessionRemoved r => this with
        {
            Routes = Routes.RemoveAll(x => x.SessionId == r.SessionId),
            Announcements = Announcements.RemoveAll(a => a.SessionId == r.SessionId),
        },
        _ => this,
    };
}
