// How a MAG turns what happens on its access links into attach, detach, routes and Router
// Advertisements (RFC 5213 §6.9.1.1, §6.7, §6.8), as a pure state machine.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Wire;
using Xunit;

namespace Pmip6Akka.Actors.Tests.Mag;

public sealed class AccessLinkStateSpec
{
    private static readonly byte[] RouterMac = [0x02, 0x00, 0x5e, 0x00, 0x52, 0x13];
    private static readonly byte[] NodeMac = [0x02, 0, 0, 0, 0, 1];
    private static readonly byte[] StrangerMac = [0x02, 0, 0, 0, 0, 0x99];
    private static readonly Ipv6Address NodeLinkLocal = Ipv6Address.Parse("fe80::ff:fe00:1");
    private static readonly ImmutableArray<Ipv6Prefix> Hnps = [Ipv6Prefix.Parse("2001:db8:a000:5::/64")];
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T12:00:00Z");
    private const string Mn = "mn1@lab.pmip6";

    private static string? Identify(byte[] mac) => mac.AsSpan().SequenceEqual(NodeMac) ? Mn : null;

    private static AccessLinkState Up(int ifIndex = 7) => AccessLinkState.Empty.OnLink(ifIndex, "mn1", true, false, RouterMac, Now).State;

    private static AccessLinkState Registered()
    {
        var state = Up().OnNodeSeen(7, NodeMac, NodeLinkLocal, false, Identify, Now).State;
        return state.OnSession(Mn, MagSessionPhase.Registered, Hnps, TimeSpan.FromHours(1), Now).State;
    }

    [Fact]
    public void A_link_that_comes_up_is_probed_at_once_and_again_with_a_doubling_back_off_until_its_node_speaks()
    {
        var (state, effects) = AccessLinkState.Empty.OnLink(7, "mn1", true, false, RouterMac, Now);
        Assert.Equal(new AccessEffect.Probe(7), Assert.Single(effects));
        Assert.Equal(Now.AddMilliseconds(10), state.NextProbeDue);
        Assert.Empty(state.OnProbeTimer(Now.AddMilliseconds(9)).Effects);
        var (again, more) = state.OnProbeTimer(Now.AddMilliseconds(10));
        Assert.Equal(new AccessEffect.Probe(7), Assert.Single(more));
        Assert.Equal(2, again.Ports[7].Probes);
        Assert.Equal(Now.AddMilliseconds(30), again.NextProbeDue); // then 20 ms later, 40, 80 ... capped at 1 s
    }

    [Fact]
    public void Probing_stops_after_MaxProbes_and_then_waits_for_the_nodes_own_solicitation()
    {
        var state = Up();
        var at = Now;
        for (var i = 1; i < AccessLinkState.MaxProbes; i++)
        {
            at = state.NextProbeDue!.Value;
            state = state.OnProbeTimer(at).State;
        }
        Assert.True(at - Now < TimeSpan.FromSeconds(10), $"the last probe went out {at - Now} after link-up");
        Assert.False(state.AnyWaiting);
        Assert.Null(state.NextProbeDue);
        Assert.Empty(state.OnProbeTimer(at.AddHours(1)).Effects);
        var attach = state.OnNodeSeen(7, NodeMac, NodeLinkLocal, true, Identify, Now).Effects;
        Assert.Contains(attach, e => e is AccessEffect.Attach);
    }

    [Fact]
    public void The_node_that_speaks_is_attached_under_the_MN_ID_its_link_layer_address_names()
    {
        var (state, effects) = Up().OnNodeSeen(7, NodeMac, NodeLinkLocal, true, Identify, Now);
        var attach = Assert.IsType<AccessEffect.Attach>(Assert.Single(effects));
        Assert.Equal(Mn, attach.MobileNodeId);
        Assert.Equal(NodeLinkLocal, attach.LinkLocal);
        Assert.False(state.AnyWaiting);
        Assert.Equal(Mn, state.Ports[7].MobileNodeId);
    }

    [Fact]
    public void A_node_no_profile_names_is_refused_and_not_probed_for_again()
    {
        var (state, effects) = Up().OnNodeSeen(7, StrangerMac, NodeLinkLocal, true, Identify, Now);
        var refused = Assert.IsType<AccessEffect.Refused>(Assert.Single(effects));
        Assert.Equal("020000000099", refused.LinkLayerId);
        Assert.False(state.AnyWaiting);
    }

    [Fact]
    public void Once_registered_the_prefixes_are_routed_onto_the_link_and_advertised_with_the_bindings_lifetime()
    {
        var seen = Up().OnNodeSeen(7, NodeMac, NodeLinkLocal, false, Identify, Now).State;
        var (_, effects) = seen.OnSession(Mn, MagSessionPhase.Registered, Hnps, TimeSpan.FromHours(1), Now);
        Assert.Equal(2, effects.Length);
        var install = Assert.IsType<AccessEffect.InstallRoutes>(effects[0]);
        Assert.Equal((7, Hnps), (install.IfIndex, install.Prefixes));
        var ra = Assert.IsType<AccessEffect.Advertise>(effects[1]);
        Assert.Equal(NodeLinkLocal, ra.Destination); // unicast (RFC 5213 §6.7)
        Assert.Equal(RouterMac, ra.RouterLinkLayerAddress);
        Assert.Equal(TimeSpan.FromHours(1), ra.Lifetime);
    }

    [Fact]
    public void A_refresh_with_the_same_prefixes_only_re_advertises()
    {
        var (_, effects) = Registered().OnSession(Mn, MagSessionPhase.Registered, Hnps, TimeSpan.FromHours(1), Now.AddMinutes(48));
        Assert.IsType<AccessEffect.Advertise>(Assert.Single(effects));
    }

    [Fact]
    public void A_router_solicitation_from_a_registered_node_is_answered_at_once()
    {
        var (_, effects) = Registered().OnNodeSeen(7, NodeMac, NodeLinkLocal, true, Identify, Now.AddMinutes(10));
        var ra = Assert.IsType<AccessEffect.Advertise>(Assert.Single(effects));
        Assert.Equal(TimeSpan.FromMinutes(50), ra.Lifetime);
    }

    [Fact]
    public void A_neighbor_solicitation_from_a_registered_node_only_shows_it_is_alive()
    {
        var state = Registered();
        var (after, effects) = state.OnNodeSeen(7, NodeMac, NodeLinkLocal, false, Identify, Now.AddSeconds(5));
        Assert.Empty(effects);
        Assert.Equal(Now.AddSeconds(5), after.Ports[7].LastHeard);
        Assert.Equal(state.Ports[7].Prefixes, after.Ports[7].Prefixes);
    }

    [Fact]
    public void A_node_silent_for_the_liveness_interval_is_asked_directly()
    {
        var (_, effects) = Registered().OnLivenessTimer(Now.AddSeconds(1.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.Equal(new AccessEffect.Probe(7, NodeLinkLocal), Assert.Single(effects));
        Assert.Empty(Registered().OnLivenessTimer(Now.AddSeconds(0.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)).Effects);
    }

    [Fact]
    public void A_node_silent_for_the_liveness_timeout_is_detached_and_the_link_looked_at_again()
    {
        var (state, effects) = Registered().OnLivenessTimer(Now.AddSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.IsType<AccessEffect.RemoveRoutes>(effects[0]);
        var detach = Assert.IsType<AccessEffect.Detach>(effects[1]);
        Assert.StartsWith("no answer for 3.0 s", detach.Why);
        Assert.Null(state.PortOf(Mn));
        Assert.True(state.AnyWaiting);
    }

    [Fact]
    public void An_answer_resets_the_liveness_clock()
    {
        var state = Registered().OnNodeSeen(7, NodeMac, NodeLinkLocal, false, Identify, Now.AddSeconds(2.5)).State;
        Assert.Empty(state.OnLivenessTimer(Now.AddSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)).Effects);
    }

    [Theory]
    [InlineData(false, true, "access link down")]
    [InlineData(true, true, "access link removed")]
    public void The_link_going_down_or_away_removes_the_routes_and_detaches_the_node(bool gone, bool _, string why)
    {
        var (state, effects) = Registered().OnLink(7, "mn1", false, gone, RouterMac);
        Assert.Equal(2, effects.Length);
        Assert.IsType<AccessEffect.RemoveRoutes>(effects[0]);
        Assert.Equal(new AccessEffect.Detach(7, Mn, why), effects[1]);
        Assert.Null(state.PortOf(Mn));
        Assert.Equal(gone, !state.Ports.ContainsKey(7));
    }

    [Fact]
    public void A_NUD_failure_for_the_nodes_address_detaches_it()
    {
        var (_, effects) = Registered().OnNeighborFailed(7, Ipv6Address.Parse("2001:db8:a000:5::abcd"));
        Assert.Contains(new AccessEffect.Detach(7, Mn, "neighbour unreachable (NUD failed)"), effects);
        Assert.Empty(Registered().OnNeighborFailed(7, Ipv6Address.Parse("2001:db8:cc::2")).Effects);
    }

    [Fact]
    public void A_closed_or_failed_session_removes_the_routes_but_keeps_the_node_known()
    {
        var (state, effects) = Registered().OnSession(Mn, MagSessionPhase.Failed, [], TimeSpan.Zero, Now);
        Assert.IsType<AccessEffect.RemoveRoutes>(Assert.Single(effects));
        Assert.Equal(Mn, state.Ports[7].MobileNodeId);
        Assert.False(state.Ports[7].Registered);
        Assert.False(state.AnyWaiting);
    }

    [Fact]
    public void The_same_node_appearing_on_another_link_leaves_the_first_one()
    {
        var state = Registered().OnLink(8, "mn1b", true, false, RouterMac, Now).State;
        var (after, effects) = state.OnNodeSeen(8, NodeMac, NodeLinkLocal, true, Identify, Now);
        Assert.Contains(new AccessEffect.Detach(7, Mn, "the node re-appeared on another link"), effects);
        Assert.IsType<AccessEffect.Attach>(effects[^1]);
        Assert.Equal(8, after.PortOf(Mn)!.IfIndex);
    }

    [Fact]
    public void Periodic_advertisements_go_to_every_registered_node_only()
    {
        var state = Registered().OnLink(8, "mn2", true, false, RouterMac, Now).State;
        var effects = state.OnAdvertiseTimer(Now.AddSeconds(10));
        Assert.Equal(7, Assert.IsType<AccessEffect.Advertise>(Assert.Single(effects)).IfIndex);
    }

    [Fact]
    public void Shared_prefix_flow_mobility_advertises_the_nodes_other_prefixes_on_its_link_too_until_they_leave_the_set()
    {
        var other = Ipv6Prefix.Parse("2001:db8:a000:6::/64");
        var (state, effects) = Registered().OnSharedPrefixes(Mn, [other], Now.AddSeconds(10));

        var ra = Assert.IsType<AccessEffect.Advertise>(Assert.Single(effects));
        Assert.Equal([Hnps[0], other], ra.Prefixes.ToArray());
        Assert.Equal(TimeSpan.FromSeconds(3590), ra.Lifetime);
        Assert.Equal([Hnps[0], other], Assert.IsType<AccessEffect.Advertise>(Assert.Single(state.OnAdvertiseTimer(Now.AddSeconds(20)))).Prefixes.ToArray());

        // The set shrinks (the other interface's session ended): the prefix is no longer advertised, not withdrawn.
        var (after, none) = state.OnSharedPrefixes(Mn, [], Now.AddSeconds(30));
        Assert.Empty(none);
        Assert.Equal(Hnps.ToArray(), Assert.IsType<AccessEffect.Advertise>(Assert.Single(after.OnAdvertiseTimer(Now.AddSeconds(40)))).Prefixes.ToArray());
        Assert.Empty(Up().OnSharedPrefixes("someone-else", [other], Now).Effects);
    }
}
