// Move on loss, wired (issue 8): tunnel counters in, one RouteFlow (reason Loss) per tick out, only once the
// estimator calls the tunnel lossy.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class FlowLossMonitorSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = INFO", output)
{
    private static readonly Ipv6Address Cn = Ipv6Address.Parse("2001:db8:cc::2");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2"), Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Prefix P1 = Ipv6Prefix.Parse("2001:db8:a000:1::/64"), P2 = Ipv6Prefix.Parse("2001:db8:a000:2::/64");

    /// <summary>Counters the spec advances by hand: every read adds 100 packets per tunnel, with the given share lost.</summary>
    private sealed class FakeSource : ITunnelLossSource
    {
        private long _sent1, _lost1, _sent2;
        public volatile int LossPercent1;

        public IReadOnlyList<TunnelCounters> Read()
        {
            _sent1 += 100;
            _lost1 += LossPercent1;
            _sent2 += 100;
            return [new TunnelCounters(Mag1, _sent1, _lost1), new TunnelCounters(Mag2, _sent2, 0)];
        }
    }

    private static FlowSnapshot Flow(ulong id, double rate, Ipv6Address via) =>
        new(id, new FlowKey(Cn, new Ipv6Address(P1.Address.Value | 1), 0, 17, 1, (ushort)(5000 + id), true), 10, 10_000, rate,
            TimeSpan.FromSeconds(1), TimeSpan.Zero, via, null);

    [Fact]
    public void A_tunnel_that_turns_lossy_sheds_its_fastest_flow_to_the_nodes_other_mag_and_a_clean_one_nothing()
    {
        var index = CreateTestProbe();
        index.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is GetBindingIndex)
                sender.Tell(new BindingIndexView(1, 2, [new BindingSnapshot("mn-a",
                [
                    new SessionView(1, [P1], Mag1, SessionState.Active, AccessTechnologyType.Ieee8023, "01", DateTimeOffset.UtcNow.AddHours(1)),
                    new SessionView(2, [P2], Mag2, SessionState.Active, AccessTechnologyType.Ieee8023, "02", DateTimeOffset.UtcNow.AddHours(1)),
                ])]));
            return AutoPilot.KeepRunning;
        }));
        var bindings = CreateTestProbe();
        var source = new FakeSource();
        FlowSnapshot[] flows = [Flow(1, 1_000, Mag1), Flow(2, 50_000, Mag1), Flow(3, 90_000, Mag2)];
        Sys.ActorOf(FlowLossMonitor.Props(new FlowLossSettings(0.05, TimeSpan.FromMilliseconds(100)), source, () => flows, index.Ref, bindings.Ref));

        bindings.ExpectNoMsg(TimeSpan.FromMilliseconds(600)); // no loss: nothing moves
        source.LossPercent1 = 20;
        var move = bindings.ExpectMsg<RouteFlow>(TimeSpan.FromSeconds(5));
        Assert.Equal(new RouteFlow("mn-a", flows[1].Key, Mag2, FlowMoveReason.Loss), move);
    }
}
