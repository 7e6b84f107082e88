// The Context Reflector end to end in one actor system (issue 7): a node moves from MAG1 to MAG2;
// MAG1 knows where it goes (a handover hint) and hands its context over through the LMA, so MAG2
// registers it without the AAA round trip, and the LMA revokes MAG1's state afterwards.
using Akka.Actor;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public sealed class ContextReflectorSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly TimeSpan AaaDelay = TimeSpan.FromMilliseconds(400);
    private static readonly QosProfile Gold = new(46, 20_000, 5_000);

    private static MagNodeSettings WithReflector(MagNodeSettings s) =>
        s with { AaaDelay = AaaDelay, Reflector = new MagReflectorSettings { Enabled = true } };

    private (Domain Domain, (IActorRef Mag, Counters Counters, Akka.TestKit.TestProbe Reports) Mag1,
        (IActorRef Mag, Counters Counters, Akka.TestKit.TestProbe Reports) Mag2) Start()
    {
        var domain = new Domain(this, [Mn], reflector: new ReflectorSettings { Enabled = true, Downlink = DownlinkMode.Forward });
        var policies = new InMemoryPolicyStore([new MobileNodePolicy(Mn) { Qos = Gold }]);
        return (domain, domain.StartMag(Domain.Mag1Address, policies: policies, configure: WithReflector),
            domain.StartMag(Domain.Mag2Address, policies: policies, configure: WithReflector));
    }

    private static TimeSpan TimeToRegister(IActorRef mag, Akka.TestKit.TestProbe reports, Attachment attachment)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        mag.Tell(new MobileNodeAttached(attachment));
        Domain.Expect(reports, Mn, MagSessionPhase.Registered);
        return started.Elapsed;
    }

    [Fact]
    public void The_next_mag_registers_the_node_from_the_reflected_context_without_the_aaa_round_trip_and_the_previous_mag_is_revoked()
    {
        var (domain, mag1, mag2) = Start();
        var first = TimeToRegister(mag1.Mag, mag1.Reports, Domain.Attach(Mn));
        Assert.True(first >= AaaDelay, $"the first attach waits for AAA ({first.TotalMilliseconds} ms)");
        var prefix = Assert.Single(Domain.Prefixes(domain.Binding(Mn)));

        // The access network tells MAG1 where the node goes; the node leaves MAG1.
        Assert.True(mag1.Mag.Ask<HintAnswer>(new HandoverHint(Mn, Domain.Mag2Address), TimeSpan.FromSeconds(3)).Result.Accepted);
        mag1.Mag.Tell(new MobileNodeDetached(Mn));
        Domain.Expect(mag1.Reports, Mn, MagSessionPhase.Closed);
        AwaitAssert(() => Assert.Equal(1, mag2.Counters.Get("context_reflections_received_total", "status", "0")), TimeSpan.FromSeconds(3));

        // It arrives at MAG2: routes at once from the context (Anticipated), then the PBA, without AAA. The count
        // is the proof: the AAA wait is the only one a MAG makes before registering, and it is counted when it starts
        // (a time limit under the AAA delay would prove no more, and fail on a loaded machine).
        mag2.Mag.Tell(new MobileNodeAttached(Domain.Attach(Mn, HandoffIndicator.HandoffStateUnknown)));
        var anticipated = Domain.Expect(mag2.Reports, Mn, MagSessionPhase.Anticipated);
        Assert.Equal(prefix, Assert.Single(anticipated.Prefixes));
        Domain.Expect(mag2.Reports, Mn, MagSessionPhase.Registered);
        Assert.Equal(0, mag2.Counters.Get("aaa_requests_total"));
        Assert.Equal(1, mag2.Counters.Get("context_arrivals_total", "result", "used"));

        var session = Assert.Single(domain.Binding(Mn).Sessions);
        Assert.Equal((Domain.Mag2Address, prefix, SessionState.Active), (session.ProxyCoa, Assert.Single(session.Prefixes), session.State));
        AwaitAssert(() => Assert.Equal(1, mag1.Counters.Get("bri_received_total", "status", nameof(BindingRevocationStatus.Success))),
            TimeSpan.FromSeconds(3));
        Assert.Equal(1, domain.LmaCounters.Get("context_reflection_acks_received_total", "status", "0"));
    }

    [Fact]
    public void Without_a_hint_the_move_is_standard_and_the_next_mag_waits_for_aaa()
    {
        var (domain, mag1, mag2) = Start();
        TimeToRegister(mag1.Mag, mag1.Reports, Domain.Attach(Mn));
        mag1.Mag.Tell(new MobileNodeDetached(Mn));
        Domain.Expect(mag1.Reports, Mn, MagSessionPhase.Closed);
        var second = TimeToRegister(mag2.Mag, mag2.Reports, Domain.Attach(Mn, HandoffIndicator.HandoffStateUnknown));
        Assert.True(second >= AaaDelay);
        Assert.Equal(1, mag2.Counters.Get("aaa_requests_total"));
        Assert.Equal(0, mag2.Counters.Get("context_reflections_received_total", "status", "0"));
        Assert.Equal(Domain.Mag2Address, Assert.Single(domain.Binding(Mn).Sessions).ProxyCoa);
    }

    [Fact]
    public void A_reflection_lost_on_the_way_is_retransmitted_and_the_handover_still_uses_the_context()
    {
        var domain = new Domain(this, [Mn], reflector: new ReflectorSettings
        {
            Enabled = true, InitialRetransmitDelay = TimeSpan.FromMilliseconds(200), MaxRetransmitDelay = TimeSpan.FromMilliseconds(400),
        });
        var policies = new InMemoryPolicyStore([new MobileNodePolicy(Mn)]);
        var mag1 = domain.StartMag(Domain.Mag1Address, policies: policies, configure: WithReflector);
        var mag2 = domain.StartMag(Domain.Mag2Address, policies: policies, configure: WithReflector);
        TimeToRegister(mag1.Mag, mag1.Reports, Domain.Attach(Mn));
        var dropped = 0;
        domain.Network.Tell(new Dataplane.InMemoryNetwork.SetDropFilter(m =>
            m.Destination == Domain.Mag2Address && MobilityHeader.TryDecode(m.Message, out var mh, out _)
            && mh.Type == MobilityHeaderType.Experimental && Interlocked.Increment(ref dropped) == 1));
        mag1.Mag.Ask<HintAnswer>(new HandoverHint(Mn, Domain.Mag2Address), TimeSpan.FromSeconds(3));
        mag1.Mag.Tell(new MobileNodeDetached(Mn));
        // The first reflection was dropped, so what MAG2 accepted was a retransmission. More than one when MAG2's
        // acknowledgement takes the LMA longer than the next back-off (400 ms) on a loaded machine: still the point.
        AwaitAssert(() => Assert.True(mag2.Counters.Get("context_reflections_received_total", "status", "0") >= 1), TimeSpan.FromSeconds(3));
        Assert.True(domain.LmaCounters.Get("context_reflections_sent_total", "attempt", "retransmission") >= 1);
        mag2.Mag.Tell(new MobileNodeAttached(Domain.Attach(Mn, HandoffIndicator.HandoffStateUnknown)));
        Domain.Expect(mag2.Reports, Mn, MagSessionPhase.Registered);
        Assert.Equal(1, mag2.Counters.Get("context_arrivals_total", "result", "used"));
    }
}
