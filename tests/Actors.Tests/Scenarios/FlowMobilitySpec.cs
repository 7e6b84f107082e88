// IP flow mobility across a whole domain (issue 8): a mobile node attached through two interfaces, one
// at each MAG; the LMA tells both MAGs all its prefixes and each routes the other interface's prefix onto
// the node's link too. Real LMA and MAG actors over the in-memory network; each MAG's dataplane tapped.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public sealed class FlowMobilitySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly FlowMobilitySettings Flows = new()
    {
        Enabled = true, InitialRetransmitDelay = TimeSpan.FromMilliseconds(200), MaxRetransmitDelay = TimeSpan.FromMilliseconds(400),
    };

    /// <summary>Everything a MAG tells its dataplane goes to a probe; signalling goes on to the network as well.</summary>
    private sealed class Tap : ReceiveActor
    {
        public Tap(IActorRef dataplane, IActorRef probe) => ReceiveAny(m =>
        {
            probe.Forward(m);
            if (m is SendMobilityMessage or RegisterEndpoint)
                dataplane.Forward(m);
        });
    }

    private (IActorRef Mag, TestProbe Reports, TestProbe Dataplane) StartMag(Domain domain, Ipv6Address address)
    {
        var dataplane = CreateTestProbe();
        var (mag, _, reports) = domain.StartMag(address, tap: d => Sys.ActorOf(Props.Create(() => new Tap(d, dataplane.Ref))));
        return (mag, reports, dataplane);
    }

    private static Attachment Interface(string linkLayerId, int ifIndex) =>
        Domain.Attach(Mn, HandoffIndicator.AttachmentOverNewInterface, linkLayerId) with { IfIndex = ifIndex };

    private static InstallAccessRoute ExtraRoute(TestProbe dataplane, ImmutableArray<Ipv6Prefix> own) =>
        dataplane.FishForMessage<InstallAccessRoute>(i => !i.Prefixes.Intersect(own).Any(), Timeout);

    [Fact]
    public void An_mn_attached_through_two_mags_gets_every_prefix_routed_onto_both_of_its_links()
    {
        var domain = new Domain(this, [Mn], flows: Flows);
        var (mag1, reports1, dataplane1) = StartMag(domain, Domain.Mag1Address);
        var (mag2, reports2, dataplane2) = StartMag(domain, Domain.Mag2Address);
        // The first Initiate to MAG2 is lost: the LMA sends it again.
        var dropped = 0;
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m => m.Destination == Domain.Mag2Address
            && MobilityHeader.TryDecode(m.Message, out var mh, out _) && mh.Type == MobilityHeaderType.UpdateNotification && Interlocked.Increment(ref dropped) == 1));

        mag1.Tell(new MobileNodeAttached(Interface("020000000101", 11)));
        var p1 = Domain.Expect(reports1, Mn, MagSessionPhase.Registered).Prefixes;
        mag2.Tell(new MobileNodeAttached(Interface("020000000202", 22)));
        var p2 = Domain.Expect(reports2, Mn, MagSessionPhase.Registered).Prefixes;
        Assert.Empty(p1.Intersect(p2)); // a prefix per interface (weak-host model)

        var at1 = ExtraRoute(dataplane1, p1);
        Assert.Equal((Mn, 11, Domain.LmaAddress), (at1.MobileNodeId, at1.IfIndex, at1.Lma));
        Assert.Equal(p2.ToArray(), at1.Prefixes);
        var at2 = ExtraRoute(dataplane2, p2);
        Assert.Equal(22, at2.IfIndex);
        Assert.Equal(p1.ToArray(), at2.Prefixes);
        Assert.True(Volatile.Read(ref dropped) >= 1);
        AwaitAssert(() => Assert.Equal([Domain.Mag1Address, Domain.Mag2Address],
            domain.Lma.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout).Result.AnnouncedTo.Order()), Timeout);
        Assert.True(domain.LmaCounters.Get("flow_mobility_initiates_sent_total", "attempt", "retransmission") >= 1);

        // A flow moved through the LMA node (as `pmip6 flow move` does), and gone once the flow table expires it.
        var flow = new Pmip6Akka.Dataplane.Forwarding.FlowKey(Ipv6Address.Parse("2001:db8:cc::2"), new Ipv6Address(p1[0].Address.Value | 1), 0, 17, 9, 9, true);
        var moved = domain.Lma.Ask<FlowRouteAnswer>(new RouteFlow(Mn, flow, Domain.Mag2Address), Timeout).Result;
        Assert.True(moved.Accepted, moved.Error);
        Assert.Equal(Domain.Mag2Address, Assert.Single(domain.Lma.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout).Result.Routes).Via);
        domain.Lma.Tell(new FlowExpired(Mn, moved.RouteId, flow)); // what the LMA's dataplane reports
        AwaitAssert(() => Assert.Empty(domain.Lma.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout).Result.Routes), Timeout);

        // The interface at MAG2 goes: MAG2 withdraws the other prefix from the link with the session.
        mag2.Tell(new MobileNodeDetached(Mn));
        var removed = dataplane2.FishForMessage<RemoveAccessRoute>(r => r.Prefixes.SequenceEqual(p1), Timeout);
        Assert.Equal(22, removed.IfIndex);
        Domain.Expect(reports2, Mn, MagSessionPhase.Closed);
    }

    [Fact]
    public void In_the_shared_prefix_model_each_mag_also_advertises_the_other_interfaces_prefixes_and_keeps_them_through_an_outage()
    {
        var domain = new Domain(this, [Mn], flows: Flows);
        var shared = new InMemoryPolicyStore([new MobileNodePolicy(Mn) { SharedPrefix = true }]);
        var (mag1, _, reports1) = domain.StartMag(Domain.Mag1Address, policies: shared);
        var (mag2, _, reports2) = domain.StartMag(Domain.Mag2Address, policies: shared);

        mag1.Tell(new MobileNodeAttached(Interface("020000000101", 11)));
        var p1 = Domain.Expect(reports1, Mn, MagSessionPhase.Registered).Prefixes;
        mag2.Tell(new MobileNodeAttached(Interface("020000000202", 22)));
        var p2 = Domain.Expect(reports2, Mn, MagSessionPhase.Registered).Prefixes;

        // What each MAG's access link is told to advertise besides the session's own prefix.
        Assert.Equal(p2.ToArray(), reports1.FishForMessage<SharedPrefixesChanged>(c => c.MobileNodeId == Mn, Timeout).Prefixes.ToArray());
        Assert.Equal(p1.ToArray(), reports2.FishForMessage<SharedPrefixesChanged>(c => c.MobileNodeId == Mn, Timeout).Prefixes.ToArray());

        mag2.Tell(new MobileNodeDetached(Mn));
        Assert.Empty(reports2.FishForMessage<SharedPrefixesChanged>(c => c.MobileNodeId == Mn, Timeout).Prefixes);
        // MAG1 goes on advertising MAG2's prefix: the interface's outage leaves its prefix with the node through MAG1 (the LMA keeps
        // the session's prefix while the node is active elsewhere), so the node's addresses from it stay valid on its other interface.
        var later = reports1.ReceiveWhile(TimeSpan.FromSeconds(1.5), m => m as SharedPrefixesChanged);
        Assert.DoesNotContain(later, c => c is not null && c.MobileNodeId == Mn && !c.Prefixes.Contains(p2[0]));
    }

    [Fact]
    public void With_signalling_authenticated_the_dataplanes_flow_reports_still_reach_the_node_and_its_routes_the_dataplane()
    {
        var inner = CreateTestProbe();
        var node = CreateTestProbe();
        var guard = Sys.ActorOf(Pmip6Akka.Actors.Dataplane.SignallingGuard.Props(inner.Ref, new StaticKeys(), Pmip6Akka.Dataplane.Security.AuthenticationSettings.Default,
            new SignallingGuard.SignallingGuardSettings(TimeSpan.FromMinutes(1)), new Pmip6Akka.Actors.Observability.Counters()));
        guard.Tell(new RegisterEndpoint(Domain.LmaAddress), node.Ref);
        inner.ExpectMsg<RegisterEndpoint>();
        inner.Reply(new EndpointRegistered(Domain.LmaAddress));
        node.ExpectMsg<EndpointRegistered>();

        var key = new Pmip6Akka.Dataplane.Forwarding.FlowKey(Domain.LmaAddress, Domain.Mag1Address, 0, 17, 1, 2, true);
        guard.Tell(new FlowExpired(Mn, 3, key), inner.Ref); // the dataplane's report goes up...
        Assert.Equal(new FlowExpired(Mn, 3, key), node.ExpectMsg<FlowExpired>());
        guard.Tell(new PinFlow(Mn, 3, key, Domain.Mag2Address), node.Ref); // ...the node's route down
        Assert.Equal(Domain.Mag2Address, inner.ExpectMsg<PinFlow>().Via);
    }

    private sealed class StaticKeys : Pmip6Akka.Dataplane.Security.IKeyRingSource
    {
        public Pmip6Akka.Dataplane.Security.KeyRing Current { get; } = new([]);
        public Pmip6Akka.Dataplane.Security.KeyRingPoll Poll() => Pmip6Akka.Dataplane.Security.KeyRingPoll.Unchanged;
    }

    [Fact]
    public void A_mag_answers_an_initiate_for_a_node_it_does_not_serve_with_mn_not_attached()
    {
        var domain = new Domain(this, [Mn], flows: Flows);
        var (mag1, _, dataplane1) = StartMag(domain, Domain.Mag1Address);
        var buffer = new byte[256];
        Assert.True(new FlowMobilityInitiateMessage("stranger@pmip6.example", 77, [Ipv6Prefix.Parse("2001:db8:a000:1::/64")]).TryWrite(buffer, out var length));
        mag1.Tell(new MobilityMessageReceived(buffer[..length], Domain.LmaAddress, Domain.Mag1Address, DateTimeOffset.UtcNow));

        var answer = dataplane1.FishForMessage<SendMobilityMessage>(m => m.Destination == Domain.LmaAddress
            && MobilityHeader.TryDecode(m.Message, out var mh, out _) && mh.Type == MobilityHeaderType.UpdateNotificationAcknowledgement, Timeout);
        Assert.True(FlowMobilityAcknowledgement.TryDecode(answer.Message, out var ack, out var error), error.ToString());
        Assert.Equal((UpdateNotificationStatus.MobileNodeNotAttached, (ushort)77, "stranger@pmip6.example", 1),
            (ack.Status, ack.Sequence, ack.MobileNodeId.ToString(), ack.FlowCount));

        // From anyone but its LMA, an Initiate is not answered at all.
        mag1.Tell(new MobilityMessageReceived(buffer[..length], Domain.RogueMagAddress, Domain.Mag1Address, DateTimeOffset.UtcNow));
        Assert.DoesNotContain(dataplane1.ReceiveWhile<object>(TimeSpan.FromMilliseconds(300), o => o, msgs: int.MaxValue).OfType<SendMobilityMessage>(),
            m => MobilityHeader.TryDecode(m.Message, out var mh, out _) && mh.Type == MobilityHeaderType.UpdateNotificationAcknowledgement);
    }
}
