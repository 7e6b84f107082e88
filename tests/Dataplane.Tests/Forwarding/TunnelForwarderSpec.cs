// The userspace tunnel's per-packet rules, without sockets: which tunnel a packet takes, which
// decapsulated packets may enter the node, and that every refusal is counted by reason.
using System.Buffers.Binary;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using Xunit;
using static Pmip6Akka.Dataplane.Tests.Forwarding.FlowPackets;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class TunnelForwarderSpec
{
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:ff::1");

    private static byte[] Packet(Ipv6Address source, Ipv6Address destination, int payload = 8)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + payload];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload);
        packet[6] = IpProtocol.Udp;
        packet[7] = 64;
        source.Write(packet.AsSpan(8));
        destination.Write(packet.AsSpan(24));
        return packet;
    }

    private static TunnelForwarder Lma_() => new(TunnelRole.Anchor, new TunnelTable(), new ForwardingCounters());

    [Fact]
    public void At_the_LMA_downlink_for_a_bound_prefix_goes_to_the_bindings_proxy_CoA()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag1);
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(Packet(Cn, Mn), out var endpoint));
        Assert.Equal(Mag1, endpoint.Remote);
        Assert.Equal(1, endpoint.PacketsOut);
        Assert.Equal(1, lma.Counters.Encapsulated);
    }

    [Fact]
    public void A_handover_re_points_the_prefix_and_keeps_both_tunnels()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag1);
        var first = lma.Table.Endpoint(Mag1);
        lma.Table.Set(Hnp, Mag2);
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(Packet(Cn, Mn), out var endpoint));
        Assert.Equal(Mag2, endpoint.Remote);
        Assert.Same(first, lma.Table.Endpoint(Mag1));
        Assert.Equal(2, lma.Table.Endpoints.Count);
        Assert.Equal(1, lma.Table.RouteCount);
    }

    [Fact]
    public void A_late_removal_for_the_previous_MAG_does_not_undo_the_new_route()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag2);
        Assert.True(lma.Table.IsRoutedVia(Hnp, Mag2));
        Assert.False(lma.Table.IsRoutedVia(Hnp, Mag1));
        lma.Table.Set(Ipv6Prefix.Parse("2001:db8:a000::/48"), Mag1);
        Assert.False(lma.Table.IsRoutedVia(Hnp, Mag1)); // the prefix itself, not one covering it
        Assert.True(lma.Table.Remove(Ipv6Prefix.Parse("2001:db8:a000::/48")));
        Assert.False(lma.Table.Remove(Hnp, onlyVia: Mag1));
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(Packet(Cn, Mn), out _));
        Assert.True(lma.Table.Remove(Hnp, onlyVia: Mag2));
        Assert.Equal(ForwardingVerdict.NoBinding, lma.Encapsulate(Packet(Cn, Mn), out _));
    }

    [Fact]
    public void Downlink_without_a_binding_is_dropped_and_counted()
    {
        var lma = Lma_();
        Assert.Equal(ForwardingVerdict.NoBinding, lma.Encapsulate(Packet(Cn, Mn), out _));
        Assert.Equal(1, lma.Counters.EncapsulateDrops(ForwardingVerdict.NoBinding));
        Assert.Equal(0, lma.Counters.Encapsulated);
    }

    [Fact]
    public void Uplink_of_a_prefix_is_also_accepted_from_each_mag_of_its_alternate_set_and_counted_on_that_mags_tunnel()
    {
        var lma = Lma_();
        var mag3 = Ipv6Address.Parse("2001:db8:ff::1:3");
        var stranger = Ipv6Address.Parse("2001:db8:ff::1:9");
        lma.Table.Set(Hnp, Mag1);
        lma.Alternates.Set(Hnp, [Mag2, mag3, Mag2]);

        Assert.Equal(ForwardingVerdict.Forward, lma.Decapsulate(Packet(Mn, Cn), Mag2));
        Assert.Equal(ForwardingVerdict.Forward, lma.Decapsulate(Packet(Mn, Cn), mag3));
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, lma.Decapsulate(Packet(Mn, Cn), stranger));
        Assert.Equal(1, lma.Table.Endpoint(mag3).PacketsIn); // one set of counters per MAG, shared with the main table
        Assert.Equal([(Hnp, new[] { Mag2, mag3 })], lma.Alternates.Entries().Select(e => (e.Prefix, e.Remotes)));

        // A new set replaces the old one; an empty one removes the prefix.
        lma.Alternates.Set(Hnp, [mag3]);
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, lma.Decapsulate(Packet(Mn, Cn), Mag2));
        lma.Alternates.Set(Hnp, []);
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, lma.Decapsulate(Packet(Mn, Cn), mag3));
        Assert.Equal(0, lma.Alternates.Count);
        Assert.Equal(ForwardingVerdict.Forward, lma.Decapsulate(Packet(Mn, Cn), Mag1));
    }

    [Fact]
    public void The_LMA_accepts_uplink_only_from_the_proxy_CoA_of_the_current_binding()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag2);
        Assert.Equal(ForwardingVerdict.Forward, lma.Decapsulate(Packet(Mn, Cn), Mag2));
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, lma.Decapsulate(Packet(Mn, Cn), Mag1));
        Assert.Equal(ForwardingVerdict.NoBinding, lma.Decapsulate(Packet(Cn, Ipv6Address.Parse("2001:db8:a000:77::1")), Mag2));
        Assert.Equal(1, lma.Counters.Decapsulated);
        Assert.Equal(1, lma.Counters.DecapsulateDrops(ForwardingVerdict.WrongTunnelEndpoint));
        Assert.Equal(1, lma.Counters.DecapsulateDrops(ForwardingVerdict.NoBinding));
    }

    [Fact]
    public void At_the_MAG_uplink_is_keyed_on_the_source_and_downlink_must_come_from_the_LMA()
    {
        var mag = new TunnelForwarder(TunnelRole.Gateway, new TunnelTable(), new ForwardingCounters());
        mag.Table.Set(Hnp, Lma);
        Assert.Equal(ForwardingVerdict.Forward, mag.Encapsulate(Packet(Mn, Cn), out var endpoint));
        Assert.Equal(Lma, endpoint.Remote);
        Assert.Equal(ForwardingVerdict.NoBinding, mag.Encapsulate(Packet(Cn, Ipv6Address.Parse("2001:db8:a000:77::1")), out _));
        Assert.Equal(ForwardingVerdict.Forward, mag.Decapsulate(Packet(Cn, Mn), Lma));
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, mag.Decapsulate(Packet(Cn, Mn), Mag1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    public void Packets_shorter_than_an_IPv6_header_are_malformed(int length)
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag1);
        Assert.Equal(ForwardingVerdict.Malformed, lma.Encapsulate(new byte[length], out _));
        Assert.Equal(ForwardingVerdict.Malformed, lma.Decapsulate(new byte[length], Mag1));
        Assert.Equal(1, lma.Counters.EncapsulateDrops(ForwardingVerdict.Malformed));
    }

    [Fact]
    public void An_IPv4_packet_or_a_payload_length_past_the_end_is_malformed()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag1);
        var v4 = Packet(Cn, Mn);
        v4[0] = 0x45;
        Assert.Equal(ForwardingVerdict.Malformed, lma.Encapsulate(v4, out _));
        var truncated = Packet(Cn, Mn, payload: 100)[..60];
        Assert.Equal(ForwardingVerdict.Malformed, lma.Encapsulate(truncated, out _));
    }

    [Fact]
    public void The_longest_matching_prefix_wins_when_lengths_differ()
    {
        var table = new TunnelTable();
        table.Set(Ipv6Prefix.Parse("2001:db8:a000::/48"), Mag1);
        table.Set(Hnp, Mag2);
        Assert.True(table.TryLookup(Mn, out var endpoint));
        Assert.Equal(Mag2, endpoint.Remote);
        Assert.True(table.TryLookup(Ipv6Address.Parse("2001:db8:a000:6::1"), out endpoint));
        Assert.Equal(Mag1, endpoint.Remote);
        Assert.False(table.TryLookup(Cn, out _));
    }

    [Fact]
    public void Forwarding_decisions_allocate_nothing()
    {
        var lma = Lma_();
        for (var i = 0; i < 1000; i++)
            lma.Table.Set(new Ipv6Prefix(new Ipv6Address(Hnp.Address.Value + ((UInt128)i << 64)), 64), i % 2 == 0 ? Mag1 : Mag2);
        var down = Packet(Cn, Mn);
        var up = Packet(Mn, Cn);
        lma.Encapsulate(down, out _);
        lma.Decapsulate(up, Mag2);
        Assert.Equal(0, Allocations.SteadyState(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                lma.Encapsulate(down, out _);
                lma.Decapsulate(up, Mag1);
            }
        }));
    }

    [Theory]
    [InlineData("ff02::2")]
    [InlineData("ff02::16")]
    [InlineData("fe80::1")]
    public void The_kernels_own_link_scope_traffic_on_the_TUN_is_not_tunnelled_and_not_a_binding_miss(string destination)
    {
        var lma = Lma_();
        Assert.Equal(ForwardingVerdict.LinkScope, lma.Encapsulate(Packet(Ipv6Address.Parse("fe80::9"), Ipv6Address.Parse(destination)), out _));
        Assert.Equal(0, lma.Counters.EncapsulateDrops(ForwardingVerdict.NoBinding));
        Assert.Equal(1, lma.Counters.EncapsulateDrops(ForwardingVerdict.LinkScope));
    }

    [Fact]
    public void At_the_LMA_a_downlink_packet_a_MAG_sends_back_is_recognised_as_returned()
    {
        var lma = Lma_();
        lma.Table.Set(Hnp, Mag1);
        Assert.Equal(ForwardingVerdict.Returned, lma.Decapsulate(Packet(Cn, Mn), Mag1));
        Assert.Equal(1, lma.Counters.DecapsulateDrops(ForwardingVerdict.Returned));
    }

    [Fact]
    public void A_MAG_returns_downlink_for_a_departed_node_to_the_LMA_it_came_from_and_only_to_it()
    {
        var mag = new TunnelForwarder(TunnelRole.Gateway, new TunnelTable(), new ForwardingCounters());
        mag.Departed.Set(Hnp, Lma);
        Assert.Equal(ForwardingVerdict.ReturnToAnchor, mag.Decapsulate(Packet(Cn, Mn), Lma));
        Assert.True(mag.TryReturnTarget(Packet(Cn, Mn), out var anchor));
        Assert.Equal(Lma, anchor.Remote);
        Assert.Equal(ForwardingVerdict.NoBinding, mag.Decapsulate(Packet(Cn, Mn), Mag2)); // not from that LMA: never bounced
        mag.Departed.Remove(Hnp);
        Assert.Equal(ForwardingVerdict.NoBinding, mag.Decapsulate(Packet(Cn, Mn), Lma));
    }

    [Fact]
    public void At_the_MAG_downlink_the_kernel_routes_back_into_the_tunnel_device_returns_to_the_nodes_LMA()
    {
        // The node's link vanished: the kernel dropped its access route and the fallback route sent its downlink to us.
        var mag = new TunnelForwarder(TunnelRole.Gateway, new TunnelTable(), new ForwardingCounters());
        mag.Table.Set(Hnp, Lma);
        Assert.Equal(ForwardingVerdict.ReturnToAnchor, mag.Encapsulate(Packet(Cn, Mn), out var anchor));
        Assert.Equal(Lma, anchor.Remote);
        mag.Table.Remove(Hnp);
        mag.Departed.Set(Hnp, Lma); // and after the detach, while the prefix is departed
        Assert.Equal(ForwardingVerdict.ReturnToAnchor, mag.Encapsulate(Packet(Cn, Mn), out anchor));
        Assert.Equal(Lma, anchor.Remote);
        Assert.Equal(2, mag.Counters.EncapsulateDrops(ForwardingVerdict.ReturnToAnchor));
        Assert.Contains(mag.Counters.All(), c => c is ("tunnel_returned_from_kernel_total", "", 2));
        var atLma = Lma_();
        atLma.Table.Set(Hnp, Mag1);
        Assert.Equal(ForwardingVerdict.Forward, atLma.Encapsulate(Packet(Cn, Mn), out _)); // the LMA's downlink is its normal path
    }

    [Fact]
    public void At_an_LMA_node_of_a_cluster_unbound_uplink_from_the_pool_is_for_another_node_and_relayed_uplink_never_again()
    {
        var pool = Ipv6Prefix.Parse("2001:db8:a000::/40");
        var node = new TunnelForwarder(TunnelRole.Anchor, new TunnelTable(), new ForwardingCounters()) { RelayPool = pool };
        var uplink = Packet(Mn, Cn);
        Assert.Equal(ForwardingVerdict.OtherAnchor, node.Decapsulate(uplink, Mag1));
        // Relayed here by the node that received it: our binding decides, as for uplink from the MAG itself.
        Assert.Equal(ForwardingVerdict.NoBinding, node.Decapsulate(uplink, Mag1, relayed: true));
        node.Table.Set(Hnp, Mag1);
        Assert.Equal(ForwardingVerdict.Forward, node.Decapsulate(uplink, Mag1, relayed: true));
        Assert.Equal(ForwardingVerdict.WrongTunnelEndpoint, node.Decapsulate(uplink, Mag2, relayed: true));
        // Outside the pool: nobody's, dropped here.
        Assert.Equal(ForwardingVerdict.NoBinding, node.Decapsulate(Packet(Ipv6Address.Parse("2001:db8:b000::1"), Cn), Mag1));
        Assert.Contains(("tunnel_relayed_to_owner_total", "", 1L), node.Counters.All());
        // A lone LMA relays nothing.
        Assert.Equal(ForwardingVerdict.NoBinding, Lma_().Decapsulate(uplink, Mag1));
    }
}
