// IP flow mobility in the binding entity (issue 8): an MN with two interfaces, one at each MAG. What the
// LMA persists, sends (Flow Mobility Initiates) and tells its dataplane (PinFlow, outage redirects) —
// driven with PBUs, acknowledgements and commands, watched through a probe standing for the dataplane.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;
using static Pmip6Akka.Actors.Tests.Lma.DataplaneProbe;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class FlowMobilityBucketSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Lma = Domain.LmaAddress;
    private static readonly Ipv6Address Mag1 = Domain.Mag1Address;
    private static readonly Ipv6Address Mag2 = Domain.Mag2Address;
    private static readonly Ipv6Address Cn = Ipv6Address.Parse("2001:db8:ffff::10");
    private static readonly TimeSpan Timeout = DataplaneProbe.Timeout;
    /// <summary>
    /// The first retransmission delay of an unacknowledged Initiate in these specs: long enough that an answer the spec
    /// gives after collecting the Initiates is taken before any of them is sent again, even on a loaded machine.
    /// </summary>
    private static readonly TimeSpan RetransmitDelay = TimeSpan.FromSeconds(1);
    /// <summary>Longer than <see cref="RetransmitDelay"/>: a window that would hold a retransmission if one were still due.</summary>
    private static readonly TimeSpan PastRetransmitDelay = RetransmitDelay + TimeSpan.FromMilliseconds(500);
    private ushort _sequence = 100;
    private readonly Counters _counters = new();

    private static BindingEntitySettings Settings(bool enabled = true, TimeSpan? retransmit = null) =>
        new(Lma, BindingSettings.Default, Domain.Pool, 64)
        {
            Admission = new LmaAdmissionSettings([Mag1, Mag2]),
            Flows = new FlowMobilitySettings
            {
                Enabled = enabled, InitialRetransmitDelay = retransmit ?? RetransmitDelay, MaxRetransmitDelay = 2 * (retransmit ?? RetransmitDelay),
                MaxAttempts = 20,
            },
        };

    private IActorRef Region(BindingEntitySettings settings, TestProbe dataplane) =>
        Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null, _counters)));

    private HandleProxyBindingUpdate Pbu(Ipv6Address mag, string linkLayerId, TimeSpan lifetime, ImmutableArray<Ipv6Prefix> prefixes = default,
        HandoffIndicator handoff = HandoffIndicator.AttachmentOverNewInterface) =>
        new(new ProxyBindingUpdate(mag, ++_sequence, lifetime, Mn, prefixes.IsDefault ? [new Ipv6Prefix(default, 0)] : prefixes,
            handoff, AccessTechnologyType.Ieee8023, linkLayerId, null,
            Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), new MobileNodePolicy(Mn));

    /// <summary>Initiates the bucket has sent, first attempts and retransmissions (each counted before it goes to the dataplane).</summary>
    private long InitiatesSent() =>
        _counters.Get("flow_mobility_initiates_sent_total", "attempt", "first") + _counters.Get("flow_mobility_initiates_sent_total", "attempt", "retransmission");

    /// <summary>
    /// After a sync point (the region answered a question asked after the MAGs' answers): no Initiate is sent within
    /// <paramref name="window"/>, neither to the probe nor by the count. What the probe held before was sent before the answers were taken.
    /// </summary>
    private void AssertNoMoreInitiates(TestProbe dataplane, TimeSpan window)
    {
        TakeAll(dataplane);
        var sent = InitiatesSent();
        Assert.Empty(Initiates(Collect(dataplane, window)));
        Assert.Equal(sent, InitiatesSent());
    }

    /// <summary>The Initiates of <paramref name="messages"/>, one per MAG (the first: any later one to the same MAG is its retransmission).</summary>
    private static List<(Ipv6Address To, byte[] Message)> FirstInitiates(IEnumerable<object> messages) =>
        [.. Initiates(messages).DistinctBy(s => s.To)];

    private static IEnumerable<(Ipv6Address To, byte[] Message)> Initiates(IEnumerable<object> messages) =>
        messages.OfType<SendMobilityMessage>()
            .Where(m => MobilityHeader.TryDecode(m.Message, out var mh, out _) && mh.Type == MobilityHeaderType.UpdateNotification)
            .Select(m => (m.Destination, m.Message));

    private static (ushort Sequence, ImmutableArray<Ipv6Prefix> Prefixes, int Flows) Decode(byte[] message)
    {
        Assert.True(FlowMobilityInitiate.TryDecode(message, out var fmi, out var error), error.ToString());
        Assert.Equal(Mn, fmi.MobileNodeId.ToString());
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>();
        foreach (var hnp in fmi.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        return (fmi.Sequence, prefixes.ToImmutable(), fmi.FlowCount);
    }

    /// <summary>Registers the MN's interface at <paramref name="mag"/>; returns its prefix.</summary>
    private Ipv6Prefix Attach(IActorRef region, TestProbe dataplane, Ipv6Address mag, string linkLayerId)
    {
        region.Tell(Pbu(mag, linkLayerId, TimeSpan.FromHours(1)));
        var install = dataplane.FishForMessage<InstallBinding>(i => i.ProxyCoa == mag, Timeout);
        return Assert.Single(install.Prefixes);
    }

    private (Ipv6Prefix P1, Ipv6Prefix P2) AttachBoth(IActorRef region, TestProbe dataplane)
    {
        var p1 = Attach(region, dataplane, Mag1, "020000000101");
        var p2 = Attach(region, dataplane, Mag2, "020000000202");
        return (p1, p2);
    }

    private static FlowKey Flow(Ipv6Prefix prefix, ushort port = 5001) =>
        new(Cn, new Ipv6Address(prefix.Address.Value | 0x10), 0, IpProtocol.Udp, 40000, port, true);

    /// <summary>Moves <paramref name="flow"/> to <paramref name="mag"/> and waits for the dataplane's pin; the answer.</summary>
    private static FlowRouteAnswer Move(IActorRef region, TestProbe dataplane, FlowKey flow, Ipv6Address mag)
    {
        var answer = region.Ask<FlowRouteAnswer>(new RouteFlow(Mn, flow, mag), Timeout).Result;
        Assert.True(answer.Accepted, answer.Error);
        dataplane.FishForMessage<PinFlow>(p => p.Key == flow, Timeout);
        return answer;
    }

    private static ImmutableArray<FlowRouteView> Routes(IActorRef region) => region.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout).Result.Routes;

    /// <summary>The MAGs that acknowledged their Initiate; asked through the region, so answered after whatever was told it before.</summary>
    private static Ipv6Address[] AnnouncedTo(IActorRef region) => [.. region.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout).Result.AnnouncedTo.Order()];

    private void Acknowledge(IActorRef region, IEnumerable<(Ipv6Address To, byte[] Message)> initiates)
    {
        foreach (var (to, bytes) in initiates)
            region.Tell(new FlowMobilityAnswered(Mn, to, Decode(bytes).Sequence, UpdateNotificationStatus.Success));
    }

    [Fact]
    public void Sessions_of_one_mn_at_two_mags_are_grouped_and_every_mag_is_told_all_its_prefixes()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var p1 = Attach(region, dataplane, Mag1, "020000000101");
        // One interface, one MAG: nothing to tell.
        Assert.Empty(Initiates(Collect(dataplane, TimeSpan.FromMilliseconds(300))));

        var p2 = Attach(region, dataplane, Mag2, "020000000202");
        var grouped = CollectUntil(dataplane, r => r.OfType<AcceptUplink>().Count() >= 2 && Initiates(r).Count() >= 2);
        var sent = Initiates(grouped).ToList();
        // Each interface's uplink is accepted through the other MAG too (weak host: any address, any interface).
        var uplink = grouped.OfType<AcceptUplink>().ToList();
        Assert.Equal(2, uplink.Count);
        Assert.Contains(uplink, u => u.Prefixes.SequenceEqual([p1]) && u.AlsoFrom.SequenceEqual([Mag2]));
        Assert.Contains(uplink, u => u.Prefixes.SequenceEqual([p2]) && u.AlsoFrom.SequenceEqual([Mag1]));
        Assert.Equal([Mag1, Mag2], sent.Select(s => s.To).Order());
        foreach (var (_, message) in sent)
        {
            var (_, prefixes, flows) = Decode(message);
            Assert.Equal(new[] { p1, p2 }, prefixes.ToArray());
            Assert.Equal(2, flows); // one Flow Identification (destination = the prefix) per prefix
        }
        var binding = region.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Result;
        Assert.Equal(2, binding.Sessions.Length); // one BCE per interface, one MN: the group

        Acknowledge(region, sent);
        AwaitAssert(() => Assert.Equal([Mag1, Mag2], AnnouncedTo(region)), Timeout);
        AssertNoMoreInitiates(dataplane, PastRetransmitDelay); // acknowledged: no more
    }

    [Fact]
    public void A_lost_initiate_is_sent_again_until_the_mag_acknowledges_it()
    {
        var dataplane = CreateTestProbe();
        // A short delay (back-off 200, 400, 400... ms): the retransmissions are what this spec watches.
        var region = Region(Settings(retransmit: TimeSpan.FromMilliseconds(200)), dataplane);
        AttachBoth(region, dataplane);
        var first = FirstInitiates(CollectUntil(dataplane, r => FirstInitiates(r).Count == 2));
        Acknowledge(region, first.Where(s => s.To == Mag1)); // MAG2's answer (or its Initiate) is lost
        AwaitAssert(() => Assert.Equal([Mag1], AnnouncedTo(region)), Timeout);
        TakeAll(dataplane); // sent before MAG1's answer was taken (MAG1's own retransmissions included)

        var again = Initiates(CollectUntil(dataplane, r => Initiates(r).Any())).ToList();
        Assert.NotEmpty(again);
        Assert.All(again, s => Assert.Equal(Mag2, s.To));
        Assert.All(again, s => Assert.Equal(Decode(first.Single(f => f.To == Mag2).Message).Sequence, Decode(s.Message).Sequence));
        Assert.True(_counters.Get("flow_mobility_initiates_sent_total", "attempt", "retransmission") >= 1);

        Acknowledge(region, [again[^1]]);
        AwaitAssert(() => Assert.Equal([Mag1, Mag2], AnnouncedTo(region)), Timeout);
        AssertNoMoreInitiates(dataplane, TimeSpan.FromMilliseconds(700)); // past the longest back-off (400 ms)
    }

    [Fact]
    public void A_mag_that_refuses_is_not_asked_again()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        AttachBoth(region, dataplane);
        var first = FirstInitiates(CollectUntil(dataplane, r => FirstInitiates(r).Count == 2));
        Acknowledge(region, first.Where(s => s.To == Mag1));
        region.Tell(new FlowMobilityAnswered(Mn, Mag2, Decode(first.Single(f => f.To == Mag2).Message).Sequence, UpdateNotificationStatus.FailedToUpdateSessionParameters));
        Assert.Equal([Mag1], AnnouncedTo(region)); // asked after both answers: both taken
        Assert.Equal(1, _counters.Get("flow_mobility_initiates_failed_total", "status", "128"));
        AssertNoMoreInitiates(dataplane, PastRetransmitDelay);
        Assert.Equal(1, _counters.Get("flow_mobility_initiates_failed_total", "status", "128"));
    }

    [Fact]
    public void A_flow_moves_on_command_to_the_other_mag_and_back()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var (p1, _) = AttachBoth(region, dataplane);
        var flow = Flow(p1);

        var answer = region.Ask<FlowRouteAnswer>(new RouteFlow(Mn, flow, Mag2), Timeout).Result;
        Assert.True(answer.Accepted, answer.Error);
        var pin = dataplane.FishForMessage<PinFlow>(_ => true, Timeout);
        Assert.Equal((Mn, answer.RouteId, flow, (Ipv6Address?)Mag2), (pin.MobileNodeId, pin.RouteId, pin.Key, pin.Via));
        var route = Assert.Single(Routes(region));
        Assert.Equal((flow, Mag2, FlowMoveReason.Command), (route.Key, route.Via, route.Reason));

        // Back to the interface owning its prefix: the route goes, the prefix's tunnel serves it again.
        Assert.True(region.Ask<FlowRouteAnswer>(new RouteFlow(Mn, flow, Mag1), Timeout).Result.Accepted);
        Assert.Null(dataplane.FishForMessage<PinFlow>(_ => true, Timeout).Via);
        Assert.Empty(Routes(region));
    }

    [Fact]
    public void A_move_that_cannot_be_made_is_refused_with_its_reason()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var (p1, _) = AttachBoth(region, dataplane);
        string? Refusal(RouteFlow move) => region.Ask<FlowRouteAnswer>(move, Timeout).Result.Error;

        Assert.Equal(FlowMoveDecision.Describe(FlowMoveRefusal.NoSessionAtMag), Refusal(new RouteFlow(Mn, Flow(p1), Domain.RogueMagAddress)));
        Assert.Equal(FlowMoveDecision.Describe(FlowMoveRefusal.NotTheMobileNodesPrefix),
            Refusal(new RouteFlow(Mn, Flow(Ipv6Prefix.Parse("2001:db8:eeee::/64")), Mag2)));
        Assert.Equal(FlowMoveDecision.Describe(FlowMoveRefusal.AlreadyThere), Refusal(new RouteFlow(Mn, Flow(p1), Mag1)));

        var off = CreateTestProbe();
        var disabled = Region(Settings(enabled: false), off);
        Attach(disabled, off, Mag1, "020000000101");
        Assert.Equal(FlowMoveDecision.Describe(FlowMoveRefusal.Disabled),
            disabled.Ask<FlowRouteAnswer>(new RouteFlow(Mn, Flow(p1), Mag1), Timeout).Result.Error);
    }

    [Fact]
    public void When_an_interface_goes_down_its_flows_move_to_the_remaining_one_instead_of_being_dropped()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var (p1, p2) = AttachBoth(region, dataplane);
        var moved = Flow(p1);
        Move(region, dataplane, moved, Mag2);

        // MAG2's interface goes: its de-registration.
        region.Tell(Pbu(Mag2, "020000000202", TimeSpan.Zero, [p2]));
        var after = CollectUntil(dataplane, r => r.OfType<PinFlow>().Any(p => p.Key == moved && p.Via is null) && r.OfType<InstallBinding>().Any());
        region.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Wait(); // answered after the de-registration: what it told the dataplane at once is here
        after.AddRange(TakeAll(dataplane));
        // The flow routed through MAG2 goes back to MAG1 (its own prefix's interface)...
        Assert.Contains(after.OfType<PinFlow>(), p => p.Key == moved && p.Via is null);
        // ...and MAG2's own prefix is sent through MAG1, which holds a route for it, instead of being held.
        var redirect = Assert.Single(after.OfType<InstallBinding>());
        Assert.Equal((p2, Mag1), (Assert.Single(redirect.Prefixes), redirect.ProxyCoa));
        Assert.Empty(after.OfType<BufferDownlink>());
        Assert.Equal(1, _counters.Get("flow_outage_redirects_total"));
    }

    [Fact]
    public void The_prefix_of_an_interface_that_stays_down_lives_on_through_the_other_interface_past_the_bce_delete_delay()
    {
        var dataplane = CreateTestProbe();
        var settings = Settings() with { Binding = BindingSettings.Default with { MinDelayBeforeBceDelete = TimeSpan.FromMilliseconds(200) } };
        var region = Region(settings, dataplane);
        var (p1, p2) = AttachBoth(region, dataplane);
        region.Tell(Pbu(Mag2, "020000000202", TimeSpan.Zero, [p2]));

        // Several delays later: not removed, still waiting for its interface, still sent through MAG1.
        var meanwhile = Collect(dataplane, TimeSpan.FromMilliseconds(900));
        Assert.Empty(meanwhile.OfType<RemoveBinding>());
        Assert.All(meanwhile.OfType<InstallBinding>(), i => Assert.Equal((p2, Mag1), (Assert.Single(i.Prefixes), i.ProxyCoa)));
        var sessions = region.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Result.Sessions;
        Assert.Contains(sessions, s => s.Prefixes.SequenceEqual([p2]) && s.State == SessionState.AwaitingNewMag);

        // The interface comes back (at MAG2, which cannot tell a return from a first attach): its session and prefix again, through MAG2.
        region.Tell(Pbu(Mag2, "020000000202", TimeSpan.FromHours(1), handoff: HandoffIndicator.HandoffStateUnknown));
        var back = dataplane.FishForMessage<InstallBinding>(i => i.ProxyCoa == Mag2, Timeout);
        Assert.Equal([p2], back.Prefixes);
        Assert.NotEqual(p1, p2);
    }

    [Fact]
    public void Without_flow_mobility_a_de_registered_interfaces_prefix_is_held_and_released_after_the_delay()
    {
        var dataplane = CreateTestProbe();
        var settings = Settings(enabled: false) with { Binding = BindingSettings.Default with { MinDelayBeforeBceDelete = TimeSpan.FromMilliseconds(200) } };
        var region = Region(settings, dataplane);
        var (_, p2) = AttachBoth(region, dataplane);
        region.Tell(Pbu(Mag2, "020000000202", TimeSpan.Zero, [p2]));
        Assert.Equal([p2], dataplane.FishForMessage<BufferDownlink>(_ => true, Timeout).Prefixes);
        Assert.Equal([p2], dataplane.FishForMessage<RemoveBinding>(_ => true, Timeout).Prefixes);
    }

    [Fact]
    public void A_flow_routed_through_an_interface_that_goes_down_follows_the_remaining_interface()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var p1 = Attach(region, dataplane, Mag1, "020000000101");
        var p2 = Attach(region, dataplane, Mag2, "020000000202");
        var p3 = Attach(region, dataplane, Mag1, "020000000303"); // a third interface, also at MAG1
        var flow = Flow(p3);
        Move(region, dataplane, flow, Mag2);

        region.Tell(Pbu(Mag2, "020000000202", TimeSpan.Zero, [p2]));
        var pin = dataplane.FishForMessage<PinFlow>(_ => true, Timeout);
        Assert.Equal((flow, (Ipv6Address?)Mag1), (pin.Key, pin.Via));
        var route = Assert.Single(Routes(region));
        Assert.Equal((FlowMoveReason.Outage, Mag1), (route.Reason, route.Via));
        Assert.NotEqual(p1, p3);
    }

    [Fact]
    public void A_flow_the_flow_table_expired_loses_its_route()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(), dataplane);
        var (p1, _) = AttachBoth(region, dataplane);
        var flow = Flow(p1);
        var routeId = Move(region, dataplane, flow, Mag2).RouteId;

        region.Tell(new FlowExpired(Mn, (ushort)(routeId + 1), flow)); // not this route's: nothing
        region.Tell(new FlowExpired(Mn, routeId, Flow(p1, 9))); // not this flow's: nothing
        Assert.Single(Routes(region));
        region.Tell(new FlowExpired(Mn, routeId, flow));
        Assert.Null(dataplane.FishForMessage<PinFlow>(_ => true, Timeout).Via);
        Assert.Empty(Routes(region));
    }

    [Fact]
    public async Task A_restarted_lma_keeps_its_flow_routes_and_applies_them_again()
    {
        using var db = new TempDb();
        var settings = Settings();
        async Task<(ActorSystem Node, IActorRef Region, TestProbe Dataplane)> Start()
        {
            var node = await ActorSystemFactory.StartAsync("lma", db.Node(), SpecConfig.Strict());
            var dataplane = CreateTestProbe(node);
            var region = await ClusterSharding.Get(node).StartAsync("binding",
                b => BindingBucket.Props(b, settings, dataplane.Ref, null, _counters), ClusterShardingSettings.Create(node), new MnIdMessageExtractor());
            return (node, region, dataplane);
        }

        var (node1, region1, dataplane1) = await Start();
        var (p1, p2) = AttachBoth(region1, dataplane1);
        var flow = Flow(p1);
        var routeId = (await region1.Ask<FlowRouteAnswer>(new RouteFlow(Mn, flow, Mag2), Timeout)).RouteId;
        await node1.Terminate();

        var (node2, region2, dataplane2) = await Start();
        try
        {
            // Recovered without any message: the route pinned again, every MAG told the prefixes again.
            var firstRecovered = dataplane2.FishForMessage<object>(_ => true, TimeSpan.FromSeconds(20));
            List<object> recovered = [firstRecovered, .. CollectUntil(dataplane2, r => r.Prepend(firstRecovered).OfType<PinFlow>().Any(p => p.Key == flow)
                && FirstInitiates(r.Prepend(firstRecovered)).Count == 2)];
            Assert.Contains(recovered.OfType<PinFlow>(), p => (p.MobileNodeId, p.RouteId, p.Key, p.Via) == (Mn, routeId, flow, Mag2));
            Assert.Equal([Mag1, Mag2], Initiates(recovered).Select(s => s.To).Distinct().Order());
            var route = Assert.Single((await region2.Ask<FlowRoutesView>(new GetFlowRoutes(Mn), Timeout)).Routes);
            Assert.Equal((routeId, flow, Mag2), (route.RouteId, route.Key, route.Via));
            Assert.Contains(db.JournalRows(), r => r.Manifest == "flow-routed.v1");
            Assert.NotEqual(p1, p2);
        }
        finally { await node2.Terminate(); }
    }
}
