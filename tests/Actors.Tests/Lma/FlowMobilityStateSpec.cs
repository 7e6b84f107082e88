// The pure flow-mobility state of one mobile node (issue 8), driven without actors: when the MAGs are
// told the prefixes again, how routes follow sessions, and how route ids are handed out.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class FlowMobilityStateSpec
{
    private const string Mn = "mn1";
    private static readonly DateTimeOffset T = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2"), Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Prefix P1 = Ipv6Prefix.Parse("2001:db8:a000:1::/64"), P2 = Ipv6Prefix.Parse("2001:db8:a000:2::/64");
    private static readonly FlowMobilitySettings On = new() { Enabled = true };

    private static BindingState Two() => BindingState.Empty(Mn)
        .Apply(Registered(1, P1, Mag1))
        .Apply(Registered(2, P2, Mag2));

    private static SessionRegistered Registered(int id, Ipv6Prefix prefix, Ipv6Address mag) =>
        new(Mn, id, RegistrationKind.Initial, [prefix], mag, AccessTechnologyType.Ieee8023, $"0{id}", null, T, TimeSpan.FromHours(1), null, 1);

    private static FlowKey Flow(Ipv6Prefix to, ushort port) => new(Ipv6Address.Parse("2001:db8:cc::2"), new Ipv6Address(to.Address.Value | 1), 0, 17, 1, port, true);

    [Fact]
    public void Each_mag_is_told_once_and_again_only_when_the_nodes_prefix_set_changes()
    {
        var (state, sent) = FlowMobilityState.Empty(Mn).Reconcile(Two(), T, On);
        Assert.Equal([Mag1, Mag2], sent.Cast<FlowEffect.SendInitiate>().Select(s => s.Mag));
        Assert.Empty(state.Reconcile(Two(), T, On).Effects);

        // Interface 2 leaves (de-registered): MAG1 keeps routing P2 (it still holds the outage's traffic)...
        var left = Two().Apply(new SessionDeregistered(Mn, 2, T, T.AddSeconds(10), null));
        (state, sent) = state.Reconcile(left, T, On);
        Assert.Empty(sent);
        // ...until the binding is gone: then MAG1 is told the smaller set, and withdraws P2 from the link.
        var gone = left.Apply(new SessionRemoved(Mn, 2, RemovalReason.DeregistrationDelayElapsed, T, [P2]));
        (_, sent) = state.Apply(new SessionRemoved(Mn, 2, RemovalReason.DeregistrationDelayElapsed, T, [P2])).Reconcile(gone, T, On);
        var again = Assert.IsType<FlowEffect.SendInitiate>(Assert.Single(sent));
        Assert.Equal(Mag1, again.Mag);
        Assert.Equal([P1], again.Message.Prefixes.ToArray());
    }

    [Fact]
    public void A_mag_that_did_not_know_the_node_is_asked_again_at_the_next_registration_one_that_refused_otherwise_is_not()
    {
        var (state, sent) = FlowMobilityState.Empty(Mn).Reconcile(Two(), T, On);
        var to1 = sent.Cast<FlowEffect.SendInitiate>().Single(s => s.Mag == Mag1).Message.Sequence;
        var to2 = sent.Cast<FlowEffect.SendInitiate>().Single(s => s.Mag == Mag2).Message.Sequence;
        state = state.OnAcknowledgement(Mag1, to1, UpdateNotificationStatus.MobileNodeNotAttached).State;
        state = state.OnAcknowledgement(Mag2, to2, UpdateNotificationStatus.FailedToUpdateSessionParameters).State;
        Assert.Null(state.NextDeadline(On)); // neither is retransmitted

        var again = Assert.IsType<FlowEffect.SendInitiate>(Assert.Single(state.Reconcile(Two(), T.AddSeconds(5), On).Effects));
        Assert.Equal(Mag1, again.Mag);
        Assert.NotEqual(to1, again.Message.Sequence);
    }

    [Fact]
    public void A_node_at_one_mag_only_is_told_nothing_and_with_flow_mobility_off_nobody_is()
    {
        var oneMag = BindingState.Empty(Mn).Apply(Registered(1, P1, Mag1)).Apply(Registered(2, P2, Mag1));
        Assert.Empty(FlowMobilityState.Empty(Mn).Reconcile(oneMag, T, On).Effects);
        Assert.Empty(FlowMobilityState.Empty(Mn).Reconcile(Two(), T, FlowMobilitySettings.Default).Effects);
        // Its uplink comes through its one MAG; at two MAGs, each prefix's also through the other.
        Assert.All(FlowMobilityState.UplinkAlternates(oneMag), a => Assert.Empty(a.AlsoFrom));
        Assert.Equal([(1, Mag2), (2, Mag1)], FlowMobilityState.UplinkAlternates(Two()).Select(a => (a.SessionId, Assert.Single(a.AlsoFrom))));
        // Three interfaces at three MAGs: each prefix's uplink is accepted through both other MAGs.
        var mag3 = Ipv6Address.Parse("2001:db8:3::2");
        var three = Two().Apply(Registered(3, Ipv6Prefix.Parse("2001:db8:a000:3::/64"), mag3));
        Assert.Equal([Mag2, mag3], FlowMobilityState.UplinkAlternatesOf(three, 1).ToArray());
        Assert.Equal([Mag1, Mag2], FlowMobilityState.UplinkAlternatesOf(three, 3).ToArray());
        Assert.Empty(FlowMobilityState.UplinkAlternatesOf(three, 9));
    }

    [Fact]
    public void Routes_through_a_removed_session_go_and_moving_a_routed_flow_again_keeps_its_route_id()
    {
        var binding = Two();
        var state = FlowMobilityState.Empty(Mn);
        var first = Assert.IsType<FlowRouted>(Assert.Single(state.DecideMove(binding, Flow(P1, 80), Mag2, FlowMoveReason.Command, T, On).Events));
        state = state.Apply(first);
        var second = Assert.IsType<FlowRouted>(Assert.Single(state.DecideMove(binding, Flow(P1, 81), Mag2, FlowMoveReason.Command, T, On).Events));
        Assert.NotEqual(first.RouteId, second.RouteId);
        state = state.Apply(second);

        var removed = new SessionRemoved(Mn, 2, RemovalReason.LifetimeExpired, T, [P2]);
        var follow = state.Follow(binding, [removed], T);
        Assert.All(follow, e => Assert.Equal(FlowRouteRemoval.SessionGone, Assert.IsType<FlowRouteRemoved>(e).Reason));
        Assert.Equal([first.RouteId, second.RouteId], follow.Cast<FlowRouteRemoved>().Select(r => r.RouteId).Order());
        Assert.Empty(state.Apply(removed).Routes);
    }

    [Fact]
    public void The_limit_on_routes_per_node_is_kept()
    {
        var binding = Two();
        var limited = On with { MaxRoutesPerMobileNode = 1 };
        var state = FlowMobilityState.Empty(Mn);
        state = state.Apply(Assert.Single(state.DecideMove(binding, Flow(P1, 80), Mag2, FlowMoveReason.Command, T, limited).Events));
        Assert.Equal(FlowMoveRefusal.TooManyRoutes, state.DecideMove(binding, Flow(P1, 81), Mag2, FlowMoveReason.Command, T, limited).Refusal);
    }
}
