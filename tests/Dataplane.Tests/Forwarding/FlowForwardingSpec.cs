// The Anchor's encapsulation with flow classification switched on (issue 8): off by default; when on,
// each downlink packet takes its flow's tunnel, and forwarding still allocates nothing.
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Forwarding.FlowPackets;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class FlowForwardingSpec
{
    private static TunnelForwarder Anchor(FlowTableSettings? flows)
    {
        var lma = new TunnelForwarder(TunnelRole.Anchor, new TunnelTable(), new ForwardingCounters(), flows);
        lma.Table.Set(Hnp, Mag1);
        return lma;
    }

    [Fact]
    public void Flow_classification_is_off_unless_asked_for_and_never_at_a_MAG()
    {
        Assert.Null(Anchor(null).Flows);
        Assert.Null(new TunnelForwarder(TunnelRole.Gateway, new TunnelTable(), new ForwardingCounters(), FlowTableSettings.Default).Flows);
        Assert.NotNull(Anchor(FlowTableSettings.Default).Flows);
    }

    [Fact]
    public void With_flows_on_a_moved_flow_is_encapsulated_towards_its_new_MAG_and_counted_there()
    {
        var lma = Anchor(FlowTableSettings.Default);
        var voice = Udp(40000, 5004);
        var bulk = Tcp(443, 50000);
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(voice, out var endpoint));
        Assert.Equal(Mag1, endpoint.Remote);
        lma.Encapsulate(bulk, out _);
        Assert.True(lma.Flows!.TryMove(2, lma.Table.Endpoint(Mag2)));
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(bulk, out endpoint));
        Assert.Equal(Mag2, endpoint.Remote);
        lma.Encapsulate(voice, out endpoint);
        Assert.Equal(Mag1, endpoint.Remote);
        Assert.Equal(1, lma.Table.Endpoint(Mag2).PacketsOut);
        Assert.Equal(3, lma.Table.Endpoint(Mag1).PacketsOut);
        Assert.Equal(4, lma.Counters.Encapsulated);
        Assert.Equal(2, lma.Flows.Count);
    }

    [Fact]
    public void With_flows_on_unbound_link_scope_and_malformed_downlink_are_refused_as_before()
    {
        var lma = Anchor(FlowTableSettings.Default);
        Assert.Equal(ForwardingVerdict.NoBinding, lma.Encapsulate(Build(Cn, Ipv6Address.Parse("2001:db8:a000:77::1"), 0, IpProtocol.Udp, Ports(1, 2, 8)), out _));
        Assert.Equal(ForwardingVerdict.LinkScope, lma.Encapsulate(Build(Cn, Ipv6Address.Parse("ff02::1"), 0, IpProtocol.Udp, Ports(1, 2, 8)), out _));
        Assert.Equal(ForwardingVerdict.Malformed, lma.Encapsulate(new byte[30], out _));
        Assert.Equal(1, lma.Counters.EncapsulateDrops(ForwardingVerdict.NoBinding));
        Assert.Equal(0, lma.Flows!.Count);
    }

    [Fact]
    public void With_flows_on_encapsulation_allocates_nothing()
    {
        var lma = Anchor(new FlowTableSettings { MaxFlows = 128 });
        var packets = Enumerable.Range(0, 500).Select(i => Udp((ushort)i, 5001)).ToArray();
        foreach (var packet in packets)
            lma.Encapsulate(packet, out _);
        lma.Flows!.TryMove(1, lma.Table.Endpoint(Mag2));
        // Let tiered compilation settle first (its call counting and tier-1 promotion, 100 ms after the first
        // calls, allocate on this thread): measured with it off, the loop allocates nothing either way.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 20_000; i++)
                lma.Encapsulate(packets[i % packets.Length], out _);
            Thread.Sleep(150);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50_000; i++)
            lma.Encapsulate(packets[i % packets.Length], out _);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(lma.Flows.Counters.UntrackedPackets > 0);
    }
}
