// RFC 5847 heartbeats and RFC 5846 revocation between LMA and MAG actors.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public class HeartbeatAndRevocationSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn1 = "mn1@pmip6.example";

    [Fact]
    public void A_restarted_lma_is_detected_by_heartbeat_and_the_mag_registers_again()
    {
        var domain = new Domain(this, [Mn1], heartbeat: TimeSpan.FromMilliseconds(200));
        var (mag1, counters, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var first = Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        AwaitAssert(() => Assert.True(counters.Get("heartbeat_sent_total") >= 2), TimeSpan.FromSeconds(3));
        var sentBefore = counters.Get("pbu_sent_total");

        // The LMA process restarts: a new protocol handler with the next restart counter, the same
        // journal (the binding entities recover from it).
        Sys.Stop(domain.Lma);
        domain.StartLma();

        AwaitAssert(() => Assert.Equal(1, counters.Get("heartbeat_peer_restarts_total")), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        var again = Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        Assert.Equal(first.Prefixes.ToArray(), again.Prefixes.ToArray());
        Assert.True(counters.Get("pbu_sent_total") > sentBefore);
    }

    [Fact]
    public void A_silent_lma_is_reported_unreachable()
    {
        var domain = new Domain(this, [Mn1], heartbeat: TimeSpan.FromMilliseconds(100));
        var (_, counters, _) = domain.StartMag(Domain.Mag1Address);
        AwaitAssert(() => Assert.True(counters.Get("heartbeat_sent_total") >= 1), TimeSpan.FromSeconds(3));
        domain.Network.Tell(new Pmip6Akka.Actors.Dataplane.InMemoryNetwork.SetDropFilter(m => m.Source == Domain.LmaAddress));
        AwaitAssert(() => Assert.Equal(1, counters.Get("heartbeat_peer_unreachable_total")), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void An_lma_node_of_a_cluster_sends_no_heartbeats_but_answers_the_mags_so_neither_side_reports_the_other()
    {
        // 300 ms: three missed answers take 900 ms, a stall a loaded 2-core CI machine does not reach.
        var domain = new Domain(this, [Mn1], heartbeat: TimeSpan.FromMilliseconds(300), lmaInitiatesHeartbeats: false);
        var (_, counters, _) = domain.StartMag(Domain.Mag1Address);

        AwaitAssert(() => Assert.True(counters.Get("heartbeat_sent_total") >= 6), TimeSpan.FromSeconds(10));
        Assert.Equal(0, domain.LmaCounters.Get("heartbeat_sent_total"));
        Assert.Equal(0, counters.Get("heartbeat_peer_unreachable_total")); // the MAG's requests are answered
        Assert.Equal(0, domain.LmaCounters.Get("heartbeat_peer_unreachable_total"));
    }

    [Fact]
    public void Revocation_round_trip_removes_the_binding_at_both_ends()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, counters, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Registered);

        var started = domain.Lma.Ask<RevocationStarted>(new RevokeBinding(Mn1), TimeSpan.FromSeconds(5)).Result;
        Assert.Equal(1, started.Sessions);

        AwaitAssert(() => Assert.Equal(1, counters.Get("bri_received_total", "status", "Success")), TimeSpan.FromSeconds(5));
        AwaitAssert(() => Assert.Empty(mag1.Ask<BindingUpdateListView>(new GetBindingUpdateList()).Result.Entries), TimeSpan.FromSeconds(5));
        Assert.Empty(domain.Binding(Mn1).Sessions);
    }

    [Fact]
    public void A_binding_entity_recovers_its_sessions_from_the_journal()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var registered = Domain.Expect(reports, Mn1, MagSessionPhase.Registered);

        // Stop every entity (as a crash would), then ask again: the entity is recreated from its events.
        var region = Sys.ActorSelection(domain.Bindings.Path / "*").ResolveOne(TimeSpan.FromSeconds(3)).Result;
        Watch(region);
        Sys.Stop(region);
        ExpectTerminated(region);
        var recovered = domain.Binding(Mn1);
        Assert.Equal(registered.Prefixes.ToArray(), Domain.Prefixes(recovered).ToArray());
        Assert.Equal(Domain.Mag1Address, Assert.Single(recovered.Sessions).ProxyCoa);
    }
}
