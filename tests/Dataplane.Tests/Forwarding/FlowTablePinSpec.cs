// Routes by flow key in the LMA's flow table (issue 8): how the control plane's flow routes (PinFlow) reach
// the forwarding path — for the flow in the table now, for one that starts later (after a restart), and
// how a route ends with its flow.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Forwarding.FlowPackets;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class FlowTablePinSpec
{
    private static readonly long Second = Stopwatch.Frequency;
    private readonly TunnelTable _tunnels = new();
    private readonly FlowTable _table;

    public FlowTablePinSpec()
    {
        _tunnels.Set(Hnp, Mag1);
        _table = new FlowTable(_tunnels, new FlowTableSettings { IdleTimeout = TimeSpan.FromSeconds(30), SweepPerPacket = 64 });
    }

    private Ipv6Address Via(byte[] packet, long now)
    {
        Assert.Equal(ForwardingVerdict.Forward, _table.Classify(packet, now, out var endpoint));
        return endpoint.Remote;
    }

    private static FlowKey Key(byte[] packet)
    {
        Assert.True(FlowKey.TryRead(packet, out var key));
        return key;
    }

    [Fact]
    public void A_route_set_before_its_flow_starts_carries_the_flows_first_packet_and_no_other_flow()
    {
        var bulk = Tcp(443, 50000);
        _table.Pin(Key(bulk), _tunnels.Endpoint(Mag2), 0);
        Assert.Equal(Mag2, Via(bulk, 1));
        Assert.Equal(Mag1, Via(Tcp(443, 50001), 1));
        var row = _table.Snapshot(2).Single(r => r.Key == Key(bulk));
        Assert.Equal((Mag2, (Ipv6Address?)Mag2), (row.Via, row.MovedTo));
    }

    [Fact]
    public void A_route_set_for_a_running_flow_moves_it_from_its_next_packet_and_clearing_it_brings_it_home()
    {
        var voice = Udp(40000, 5004);
        Assert.Equal(Mag1, Via(voice, 0));
        _table.Pin(Key(voice), _tunnels.Endpoint(Mag2), 1);
        Assert.Equal(Mag2, Via(voice, 2));
        Assert.Equal(1, _table.Counters.FlowMoves);
        _table.Pin(Key(voice), null, 3);
        Assert.Equal(Mag1, Via(voice, 4));
        Assert.Equal(0, _table.PinCount);
        Assert.Empty(_table.TakeEndedPins(5 * Second)); // cleared by the control plane: nothing to report
    }

    [Fact]
    public void A_routed_flow_that_expires_ends_its_route_once_and_a_later_flow_with_that_key_goes_home()
    {
        var voice = Udp(40000, 5004);
        _table.Pin(Key(voice), _tunnels.Endpoint(Mag2), 0);
        Assert.Equal(Mag2, Via(voice, 0));
        Assert.Empty(_table.TakeEndedPins(Second));
        Assert.Equal(1, _table.ExpireIdle(31 * Second));

        Assert.Equal([Key(voice)], _table.TakeEndedPins(31 * Second));
        Assert.Empty(_table.TakeEndedPins(32 * Second));
        Assert.Equal(Mag1, Via(voice, 33 * Second));
    }

    [Fact]
    public void A_route_whose_flow_never_comes_back_ends_after_the_idle_timeout()
    {
        var key = Key(Tcp(443, 50000));
        _table.Pin(key, _tunnels.Endpoint(Mag2), 0);
        Assert.Empty(_table.TakeEndedPins(29 * Second));
        Assert.Equal([key], _table.TakeEndedPins(30 * Second));
        Assert.Equal(0, _table.PinCount);
    }
}
