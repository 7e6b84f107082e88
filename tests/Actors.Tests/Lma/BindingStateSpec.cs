// RFC 5213 §5.3-5.4 decisions of one MN's binding entity, driven without any actor.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BindingStateSpec
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a001::/64");
    private static readonly Ipv6Prefix Zero = new(default, 0);
    private static readonly MobileNodePolicy Policy = new(Mn, MaxLifetime: TimeSpan.FromHours(1));
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static ProxyBindingUpdate Pbu(Ipv6Address mag, HandoffIndicator hi, TimeSpan lifetime, DateTimeOffset at,
        Ipv6Prefix? prefix = null, ushort sequence = 1, string? linkLayerId = "020000000101") =>
        new(mag, sequence, lifetime, Mn, [prefix ?? Zero], hi, AccessTechnologyType.Ieee8023, linkLayerId, null,
            Pmip6Timestamp.FromDateTimeOffset(at));

    private static (BindingState State, BindingDecision.Accept Accept) Run(BindingState state, ProxyBindingUpdate pbu, DateTimeOffset now,
        ImmutableArray<Ipv6Prefix>? prefixes = null)
    {
        var decision = state.Decide(pbu, Policy, now, assignedPrefixes: prefixes);
        var accept = Assert.IsType<BindingDecision.Accept>(decision);
        return (accept.Events.Aggregate(state, (s, e) => s.Apply(e)), accept);
    }

    private static BindingState Registered()
    {
        var (state, _) = Run(BindingState.Empty(Mn), Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0), T0, [Hnp]);
        return state;
    }

    [Fact]
    public void First_registration_asks_the_pool_for_the_policy_s_prefix_count_then_creates_the_session()
    {
        var empty = BindingState.Empty(Mn);
        var pbu = Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(2), T0);
        var need = Assert.IsType<BindingDecision.NeedPrefixes>(empty.Decide(pbu, Policy with { HomeNetworkPrefixCount = 2 }, T0));
        Assert.Equal(2, need.Count);

        var (state, accept) = Run(empty, pbu, T0, [Hnp]);
        var registered = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events));
        Assert.Equal(RegistrationKind.Initial, registered.Kind);
        Assert.Equal(BindingAcknowledgementStatus.Accepted, accept.Reply.Status);
        Assert.Equal([Hnp], accept.Reply.HomeNetworkPrefixes.ToArray());
        Assert.Equal(TimeSpan.FromHours(1), accept.Reply.Lifetime); // capped by the policy
        Assert.Equal(pbu.Timestamp, accept.Reply.Timestamp);
        Assert.Equal(pbu.Sequence, accept.Reply.Sequence);
        var session = Assert.Single(state.Sessions);
        Assert.Equal(Mag1, session.ProxyCoa);
        Assert.Equal(T0 + TimeSpan.FromHours(1), session.ExpiresAt);
    }

    [Fact]
    public void An_empty_pool_answer_is_insufficient_resources()
    {
        var pbu = Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0);
        var reject = Assert.IsType<BindingDecision.Reject>(BindingState.Empty(Mn).Decide(pbu, Policy, T0, assignedPrefixes: []));
        Assert.Equal(BindingAcknowledgementStatus.InsufficientResources, reject.Reply.Status);
    }

    [Fact]
    public void Refresh_from_the_serving_mag_extends_the_lifetime_and_keeps_the_prefix()
    {
        var state = Registered();
        var later = T0.AddMinutes(30);
        var (refreshed, accept) = Run(state, Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), later, Hnp, 2), later);
        Assert.Equal(RegistrationKind.Refresh, Assert.IsType<SessionRegistered>(Assert.Single(accept.Events)).Kind);
        Assert.Equal(later + TimeSpan.FromHours(1), Assert.Single(refreshed.Sessions).ExpiresAt);
        Assert.Equal([Hnp], accept.Reply.HomeNetworkPrefixes.ToArray());
    }

    [Fact]
    public void A_refresh_shares_what_did_not_change_so_less_outlives_the_next_young_collection()
    {
        var state = Registered();
        var before = Assert.Single(state.Sessions);
        var later = T0.AddMinutes(30);
        // A link-layer identifier decoded from the new PBU: equal, but another string.
        var pbu = Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), later, Hnp, 2, new string("020000000101".ToCharArray()));
        var (refreshed, accept) = Run(state, pbu, later);
        var after = Assert.Single(refreshed.Sessions);
        Assert.Same(before.LinkLayerId, after.LinkLayerId);
        Assert.Equal((later, (ushort)2), (after.RegisteredAt, after.LastSequence));

        // Replayed from the journal, the event's prefixes are decoded afresh: equal, but another array.
        var replayed = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events)) with { Prefixes = [.. before.Prefixes] };
        Assert.True(before.Prefixes.Equals(Assert.Single(state.Apply(replayed).Sessions).Prefixes)); // the same array: ImmutableArray compares by reference
    }

    [Fact]
    public void The_bucket_s_renewal_writes_a_refresh_into_the_session_it_holds()
    {
        var state = Registered();
        var session = Assert.Single(state.Sessions);
        var later = T0.AddMinutes(30);
        var (_, accept) = Run(state, Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromMinutes(20), later, Hnp, 7), later);
        var refresh = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events));
        var applied = state.Apply(refresh); // the pure fold leaves the state it was given as it was
        Assert.Equal(T0 + TimeSpan.FromHours(1), session.ExpiresAt);

        Assert.True(state.TryRenew(refresh));

        Assert.Same(session, Assert.Single(state.Sessions));
        Assert.Equal((later, TimeSpan.FromMinutes(20), (ushort)7, refresh.Timestamp), (session.RegisteredAt, session.Lifetime, session.LastSequence, session.LastTimestamp));
        Assert.Equal(Assert.Single(applied.Sessions), session); // in place, the same session as the pure fold builds
    }

    [Fact]
    public void Only_a_refresh_that_changes_nothing_but_the_lease_is_renewed_in_place()
    {
        var state = Registered();
        var later = T0.AddMinutes(1);
        var (_, accept) = Run(state, Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), later, Hnp, 2), later);
        var refresh = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events));
        var (_, handover) = Run(state, Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), later, Hnp, 2), later);

        Assert.False(state.TryRenew(Assert.IsType<SessionRegistered>(Assert.Single(handover.Events))));
        Assert.False(state.TryRenew(refresh with { LinkLayerId = "020000000999" }));
        Assert.False(state.TryRenew(refresh with { LinkLocalAddress = Ipv6Address.Parse("fe80::1") }));
        Assert.False(state.TryRenew(refresh with { Prefixes = [Ipv6Prefix.Parse("2001:db8:a009::/64")] }));
        Assert.False(state.TryRenew(refresh with { SessionId = 9 }));
        Assert.False(state.TryRenew(refresh with { AccessTechnology = AccessTechnologyType.Ieee80211 }));
        Assert.False(state.TryRenew(refresh with { ProxyCoa = Mag2 }));
        Assert.False(state.TryRenew(refresh with { Kind = RegistrationKind.Handover }));
        var (deregistered, _) = Run(state, Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.Zero, later, Hnp, 3), later);
        Assert.False(deregistered.TryRenew(refresh));
        Assert.Equal(T0 + TimeSpan.FromHours(1), Assert.Single(state.Sessions).ExpiresAt); // none of them touched it
        Assert.True(state.TryRenew(refresh with { Prefixes = [Hnp] })); // equal prefixes in another array (a replayed event)
    }

    [Fact]
    public void A_refresh_of_a_session_that_is_not_the_last_is_left_to_the_pure_fold_which_puts_it_last()
    {
        var hnp2 = Ipv6Prefix.Parse("2001:db8:a002::/64");
        var (two, _) = Run(Registered(), Pbu(Mag2, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0.AddSeconds(1), null, 1, "020000000202"),
            T0.AddSeconds(1), [hnp2]);
        Assert.Equal([1, 2], two.Sessions.Select(s => s.Id));
        var later = T0.AddMinutes(1);
        var (_, accept) = Run(two, Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), later, Hnp, 2), later);
        var refresh = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events));
        Assert.Equal((RegistrationKind.Refresh, 1), (refresh.Kind, refresh.SessionId));

        Assert.False(two.TryRenew(refresh)); // in place it would stay first
        Assert.Equal([2, 1], two.Apply(refresh).Sessions.Select(s => s.Id));
        var (_, last) = Run(two, Pbu(Mag2, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), later, hnp2, 2, "020000000202"), later);
        Assert.True(two.TryRenew(Assert.IsType<SessionRegistered>(Assert.Single(last.Events)))); // the last one: in place
    }

    [Fact]
    public void A_registration_puts_its_session_last_and_keeps_the_others_in_order()
    {
        var state = Registered();
        foreach (var (mag, lli, hnp, at) in new[] { (Mag2, "020000000202", "2001:db8:a002::/64", 1), (Mag1, "020000000303", "2001:db8:a003::/64", 2) })
        {
            var pbu = Pbu(mag, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0.AddSeconds(at), linkLayerId: lli)
                with { AccessTechnology = AccessTechnologyType.Ieee80211 };
            (state, _) = Run(state, pbu, T0.AddSeconds(at), [Ipv6Prefix.Parse(hnp)]);
        }
        Assert.Equal([1, 2, 3], state.Sessions.Select(s => s.Id));
        var refresh = Pbu(Mag2, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), T0.AddSeconds(3), Ipv6Prefix.Parse("2001:db8:a002::/64"), 2, "020000000202")
            with { AccessTechnology = AccessTechnologyType.Ieee80211 };
        var (refreshed, _) = Run(state, refresh, T0.AddSeconds(3));
        Assert.Equal([1, 3, 2], refreshed.Sessions.Select(s => s.Id));
    }

    [Fact]
    public void Handover_with_the_deregistration_first_keeps_the_prefix_and_moves_the_session()
    {
        var state = Registered();
        var t1 = T0.AddSeconds(10);
        var (awaiting, dereg) = Run(state, Pbu(Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, t1, Hnp, 2), t1);
        var deregistered = Assert.IsType<SessionDeregistered>(Assert.Single(dereg.Events));
        Assert.Equal(t1 + TimeSpan.FromSeconds(10), deregistered.DeleteAt);
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(awaiting.Sessions).State);
        Assert.Equal(TimeSpan.Zero, dereg.Reply.Lifetime);

        var t2 = t1.AddMilliseconds(50);
        var (moved, accept) = Run(awaiting, Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), t2, sequence: 1), t2);
        Assert.Equal(RegistrationKind.Handover, Assert.IsType<SessionRegistered>(Assert.Single(accept.Events)).Kind);
        var session = Assert.Single(moved.Sessions);
        Assert.Equal(Mag2, session.ProxyCoa);
        Assert.Equal(SessionState.Active, session.State);
        Assert.Equal([Hnp], session.Prefixes.ToArray());
    }

    [Fact]
    public void Handover_with_the_deregistration_last_ignores_the_old_mag_s_deregistration()
    {
        var state = Registered();
        var t1 = T0.AddSeconds(10);
        var (moved, _) = Run(state, Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), t1), t1);
        Assert.Equal(Mag2, Assert.Single(moved.Sessions).ProxyCoa);

        var t2 = t1.AddMilliseconds(20);
        var (after, late) = Run(moved, Pbu(Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, t2, Hnp, 2), t2);
        Assert.Empty(late.Events);
        Assert.Equal(BindingAcknowledgementStatus.Accepted, late.Reply.Status);
        var session = Assert.Single(after.Sessions);
        Assert.Equal(Mag2, session.ProxyCoa);
        Assert.Equal(SessionState.Active, session.State);
    }

    [Fact]
    public void A_retransmitted_first_registration_refreshes_its_session_instead_of_creating_another()
    {
        var state = Registered();
        var again = Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0.AddSeconds(2));
        var (after, accept) = Run(state, again, T0.AddSeconds(2));
        Assert.Equal(RegistrationKind.Refresh, Assert.IsType<SessionRegistered>(Assert.Single(accept.Events)).Kind);
        Assert.Equal([Hnp], Assert.Single(after.Sessions).Prefixes.ToArray());
        Assert.Equal([Hnp], accept.Reply.HomeNetworkPrefixes.ToArray());
    }

    [Fact]
    public void A_stale_timestamp_is_rejected_with_157()
    {
        var state = Registered();
        var replay = Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), T0.AddSeconds(-1), Hnp);
        var reject = Assert.IsType<BindingDecision.Reject>(state.Decide(replay, Policy, T0.AddSeconds(1)));
        Assert.Equal(BindingAcknowledgementStatus.TimestampLowerThanPreviouslyAccepted, reject.Reply.Status);
        Assert.Equal(TimeSpan.Zero, reject.Reply.Lifetime);
    }

    [Fact]
    public void A_prefix_that_is_not_the_mn_s_is_rejected_with_155()
    {
        var state = Registered();
        var pbu = Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), T0.AddSeconds(1), Ipv6Prefix.Parse("2001:db8:bad::/64"));
        var reject = Assert.IsType<BindingDecision.Reject>(state.Decide(pbu, Policy, T0.AddSeconds(1)));
        Assert.Equal(BindingAcknowledgementStatus.NotAuthorizedForHomeNetworkPrefix, reject.Reply.Status);
    }

    [Fact]
    public void A_prefix_set_that_differs_from_the_session_s_is_rejected_with_159()
    {
        var two = ImmutableArray.Create(Hnp, Ipv6Prefix.Parse("2001:db8:a002::/64"));
        var (state, _) = Run(BindingState.Empty(Mn), Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0), T0, two);
        var pbu = Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), T0.AddSeconds(1), Hnp);
        var reject = Assert.IsType<BindingDecision.Reject>(state.Decide(pbu, Policy, T0.AddSeconds(1)));
        Assert.Equal(BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch, reject.Reply.Status);
    }

    [Fact]
    public void Named_prefixes_are_one_session_s_all_of_them_each_counted_once_and_an_unknown_one_is_155_before_anything_else()
    {
        var other = Ipv6Prefix.Parse("2001:db8:a002::/64");
        var two = ImmutableArray.Create(Hnp, other);
        var (state, _) = Run(BindingState.Empty(Mn), Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0), T0, two);
        var second = Pbu(Mag2, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0, linkLayerId: "020000000102");
        (state, _) = Run(state, second, T0, [Ipv6Prefix.Parse("2001:db8:a003::/64")]);
        var at = T0.AddSeconds(1);
        BindingAcknowledgementStatus Status(params Ipv6Prefix[] named) =>
            state.Decide(Pbu(Mag1, HandoffIndicator.HandoffStateNotChanged, TimeSpan.FromHours(1), at) with { HomeNetworkPrefixes = [.. named] }, Policy, at) switch
            {
                BindingDecision.Reject r => r.Reply.Status,
                BindingDecision.Accept a => a.Reply.Status,
                var d => throw new Xunit.Sdk.XunitException($"unexpected {d}"),
            };

        Assert.Equal(BindingAcknowledgementStatus.Accepted, Status(other, Hnp));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, Status(Hnp, other, Hnp)); // named twice: still the session's two
        Assert.Equal(BindingAcknowledgementStatus.Accepted, Status(Zero, Hnp, other)); // the all-zero prefix names nothing
        Assert.Equal(BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch, Status(Hnp, Hnp)); // one of two
        Assert.Equal(BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch, Status(Hnp, Ipv6Prefix.Parse("2001:db8:a003::/64"))); // two sessions'
        Assert.Equal(BindingAcknowledgementStatus.NotAuthorizedForHomeNetworkPrefix,
            Status(Hnp, Ipv6Prefix.Parse("2001:db8:a003::/64"), Ipv6Prefix.Parse("2001:db8:bad::/64")));
    }

    [Fact]
    public void Policy_decides_152_and_administratively_prohibited_access_technologies()
    {
        var pbu = Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0);
        var disabled = Assert.IsType<BindingDecision.Reject>(BindingState.Empty(Mn).Decide(pbu, Policy with { ProxyRegistrationEnabled = false }, T0));
        Assert.Equal(BindingAcknowledgementStatus.ProxyRegistrationNotEnabled, disabled.Reply.Status);
        var wifiOnly = Policy with { AllowedAccessTechnologies = [AccessTechnologyType.Ieee80211] };
        var prohibited = Assert.IsType<BindingDecision.Reject>(BindingState.Empty(Mn).Decide(pbu, wifiOnly, T0));
        Assert.Equal(BindingAcknowledgementStatus.AdministrativelyProhibited, prohibited.Reply.Status);
    }

    [Fact]
    public void A_second_interface_is_a_second_session_under_the_same_mn_id()
    {
        var state = Registered();
        var second = Pbu(Mag2, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0.AddSeconds(1), linkLayerId: "020000000202")
            with { AccessTechnology = AccessTechnologyType.Ieee80211 };
        Assert.IsType<BindingDecision.NeedPrefixes>(state.Decide(second, Policy, T0.AddSeconds(1)));
        var (both, _) = Run(state, second, T0.AddSeconds(1), [Ipv6Prefix.Parse("2001:db8:a002::/64")]);
        Assert.Equal(2, both.Sessions.Length);
        Assert.Equal([1, 2], both.Sessions.Select(s => s.Id).Order());
    }

    [Fact]
    public void Lifetime_expiry_removes_the_session_and_releases_its_prefixes()
    {
        var state = Registered();
        Assert.Empty(state.Expire(T0.AddMinutes(59)));
        var removed = Assert.IsType<SessionRemoved>(Assert.Single(state.Expire(T0.AddHours(1))));
        Assert.Equal(RemovalReason.LifetimeExpired, removed.Reason);
        Assert.Equal([Hnp], removed.ReleasedPrefixes.ToArray());
        Assert.True(state.Apply(removed).IsEmpty);
    }

    [Fact]
    public void A_deregistered_session_is_deleted_after_min_delay_before_bce_delete()
    {
        var t1 = T0.AddSeconds(10);
        var (awaiting, _) = Run(Registered(), Pbu(Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, t1, Hnp, 2), t1);
        Assert.Equal(t1.AddSeconds(10), awaiting.NextDeadline);
        Assert.Empty(awaiting.Expire(t1.AddSeconds(9)));
        var removed = Assert.IsType<SessionRemoved>(Assert.Single(awaiting.Expire(t1.AddSeconds(10))));
        Assert.Equal(RemovalReason.DeregistrationDelayElapsed, removed.Reason);
    }

    [Fact]
    public void Revocation_removes_every_session()
    {
        var removed = Registered().Revoke(T0.AddMinutes(1));
        Assert.Equal(RemovalReason.Revoked, Assert.IsType<SessionRemoved>(Assert.Single(removed)).Reason);
    }

    [Fact]
    public void The_pba_encodes_with_every_option_the_pbu_carried()
    {
        var (_, accept) = Run(BindingState.Empty(Mn), Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0), T0, [Hnp]);
        var buffer = new byte[512];
        Assert.True(accept.Reply.TryWrite(buffer, out var length));
        Assert.True(BindingAcknowledgement.TryDecode(buffer.AsSpan(0, length), out var pba, out var error), error.ToString());
        Assert.True(pba.IsProxy);
        Assert.Equal(900, pba.LifetimeUnits);
        Assert.True(pba.Options.TryGetMobileNodeIdentifier(out var id));
        Assert.Equal(Mn, id.ToString());
        Assert.Equal(1, pba.Options.HomeNetworkPrefixCount);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pba.Options.HandoffIndicator);
        Assert.Equal(AccessTechnologyType.Ieee8023, pba.Options.AccessTechnologyType);
        Assert.True(pba.Options.TryGetLinkLayerIdentifier(out _));
        Assert.NotNull(pba.Options.Timestamp);
    }
}

public class MaxDelayBeforeNewBceAssignSpec
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a001::/64");
    private static readonly MobileNodePolicy Policy = new(Mn);
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static ProxyBindingUpdate Pbu(Ipv6Address mag, HandoffIndicator hi, TimeSpan lifetime, DateTimeOffset at, string? ll) =>
        new(mag, 1, lifetime, Mn, [lifetime == TimeSpan.Zero ? Hnp : new Ipv6Prefix(default, 0)], hi, AccessTechnologyType.Ieee8023, ll, null,
            Pmip6Timestamp.FromDateTimeOffset(at));

    private static BindingState Registered()
    {
        var d = (BindingDecision.Accept)BindingState.Empty(Mn).Decide(Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0, "0A"),
            Policy, T0, assignedPrefixes: [Hnp]);
        return d.Events.Aggregate(BindingState.Empty(Mn), (s, e) => s.Apply(e));
    }

    [Fact]
    public void An_unknown_handoff_from_another_mag_waits_for_the_previous_mag_s_deregistration()
    {
        var state = Registered();
        var pbu = Pbu(Mag2, HandoffIndicator.HandoffStateUnknown, TimeSpan.FromHours(1), T0.AddSeconds(1), "0B");
        var defer = Assert.IsType<BindingDecision.Defer>(state.Decide(pbu, Policy, T0.AddSeconds(1)));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), defer.After);

        // The de-registration arrives within the delay: the deferred PBU becomes a handover of the same prefix.
        var dereg = (BindingDecision.Accept)state.Decide(Pbu(Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, T0.AddSeconds(1.2), "0A"), Policy, T0.AddSeconds(1.2));
        var awaiting = dereg.Events.Aggregate(state, (s, e) => s.Apply(e));
        var accept = Assert.IsType<BindingDecision.Accept>(awaiting.Decide(pbu, Policy, T0.AddSeconds(2.5), mayDefer: false));
        var moved = Assert.IsType<SessionRegistered>(Assert.Single(accept.Events));
        Assert.Equal(RegistrationKind.Handover, moved.Kind);
        Assert.Equal([Hnp], moved.Prefixes.ToArray());
    }

    [Fact]
    public void Without_a_deregistration_the_deferred_pbu_gets_a_new_session()
    {
        var state = Registered();
        var pbu = Pbu(Mag2, HandoffIndicator.HandoffStateUnknown, TimeSpan.FromHours(1), T0.AddSeconds(1), "0B");
        Assert.IsType<BindingDecision.Defer>(state.Decide(pbu, Policy, T0.AddSeconds(1)));
        Assert.IsType<BindingDecision.NeedPrefixes>(state.Decide(pbu, Policy, T0.AddSeconds(2.5), mayDefer: false));
    }
}
