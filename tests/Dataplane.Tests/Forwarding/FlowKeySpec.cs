// How a downlink packet is keyed (issue 8): the 5-tuple (the flow label only without ports), found behind any extension headers, with
// ports only where they are certain, and never a read past the packet's payload.
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Forwarding.FlowPackets;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class FlowKeySpec
{
    private static FlowKey Key(byte[] packet)
    {
        Assert.True(FlowKey.TryRead(packet, out var key));
        return key;
    }

    [Fact]
    public void A_UDP_or_TCP_packet_is_keyed_by_source_destination_protocol_and_ports_without_its_flow_label()
    {
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 40000, 5001, true), Key(Udp(40000, 5001, flowLabel: 0xABCDE)));
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Tcp, 443, 50000, true), Key(Tcp(443, 50000)));
    }

    [Fact]
    public void A_connection_keeps_its_key_when_the_sender_gives_it_a_new_flow_label_as_Linux_does_on_a_retransmission_timeout()
    {
        Assert.Equal(Key(Tcp(40000, 5002, flowLabel: 0x12345)), Key(Tcp(40000, 5002, flowLabel: 0xABCDE)));
        Assert.Equal(Key(Udp(40000, 5001, flowLabel: 0x12345)), Key(Udp(40000, 5001, flowLabel: 0xABCDE)));
        var fragment = FlowPackets.Extension.Fragment(185, false);
        Assert.NotEqual(Key(Build(Cn, Mn, 1, IpProtocol.Udp, Ports(1, 2, 16), fragment)), Key(Build(Cn, Mn, 2, IpProtocol.Udp, Ports(1, 2, 16), fragment)));
    }

    [Fact]
    public void Ports_are_found_behind_hop_by_hop_routing_destination_options_and_authentication_headers()
    {
        var ah = new FlowPackets.Extension(IpProtocol.AuthenticationHeader, new byte[16] { 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0 }); // (2 + 2) × 4 octets
        var packet = Build(Cn, Mn, 7, IpProtocol.Udp, Ports(1, 2, 8),
            FlowPackets.Extension.Options(IpProtocol.HopByHopOptions), FlowPackets.Extension.Options(IpProtocol.Routing, units: 2),
            ah, FlowPackets.Extension.Options(IpProtocol.DestinationOptions, units: 1));
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 1, 2, true), Key(packet));
    }

    [Theory]
    [InlineData(0, true)]    // the first fragment: ports present, still port-less so the datagram's fragments stay together
    [InlineData(185, false)] // a later fragment: no transport header at all
    public void Every_fragment_gets_a_port_less_key_on_its_upper_protocol(int offsetUnits, bool more)
    {
        var packet = Build(Cn, Mn, 9, IpProtocol.Udp, Ports(1, 2, 16), FlowPackets.Extension.Fragment((ushort)offsetUnits, more));
        Assert.Equal(new FlowKey(Cn, Mn, 9, IpProtocol.Udp, 0, 0, false), Key(packet));
    }

    [Theory]
    [InlineData(IpProtocol.Icmpv6)]
    [InlineData(IpProtocol.Esp)]
    [InlineData(IpProtocol.NoNextHeader)]
    [InlineData(253)]
    public void Protocols_without_certain_ports_get_a_port_less_key(byte protocol)
    {
        Assert.Equal(new FlowKey(Cn, Mn, 0, protocol, 0, 0, false), Key(Build(Cn, Mn, 0, protocol, Ports(1, 2, 8))));
    }

    [Fact]
    public void A_transport_header_cut_short_by_the_payload_length_gives_a_port_less_key()
    {
        var packet = Build(Cn, Mn, 0, IpProtocol.Udp, [0x9C, 0x40, 0x13]);
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 0, 0, false), Key(packet));
    }

    [Fact]
    public void An_extension_header_longer_than_the_payload_stops_the_walk_there_and_nothing_past_the_payload_is_read()
    {
        var packet = Build(Cn, Mn, 0, IpProtocol.Udp, Ports(1, 2, 8), FlowPackets.Extension.Options(IpProtocol.DestinationOptions));
        packet[41] = 200; // claims (200 + 1) × 8 octets
        var poisoned = new byte[packet.Length + 2048];
        packet.CopyTo(poisoned, 0);
        Array.Fill(poisoned, (byte)0x11, packet.Length, 2048);
        var expected = new FlowKey(Cn, Mn, 0, IpProtocol.DestinationOptions, 0, 0, false);
        Assert.Equal(expected, Key(packet));
        Assert.Equal(expected, Key(poisoned));
    }

    [Fact]
    public void A_chain_longer_than_the_limit_is_keyed_on_the_header_where_the_walk_stopped()
    {
        var chain = Enumerable.Repeat(FlowPackets.Extension.Options(IpProtocol.DestinationOptions), 3).ToArray();
        var packet = Build(Cn, Mn, 0, IpProtocol.Udp, Ports(1, 2, 8), chain);
        Assert.True(FlowKey.TryRead(packet, out var limited, maxExtensionHeaders: 2));
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.DestinationOptions, 0, 0, false), limited);
        Assert.True(FlowKey.TryRead(packet, out var full, maxExtensionHeaders: 3));
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 1, 2, true), full);
    }

    [Fact]
    public void An_unusable_fixed_header_is_malformed()
    {
        Assert.False(FlowKey.TryRead(new byte[39], out _));
        var v4 = Udp(1, 2);
        v4[0] = 0x45;
        Assert.False(FlowKey.TryRead(v4, out _));
        Assert.False(FlowKey.TryRead(Udp(1, 2)[..50], out _)); // payload length past the buffer
    }

    [Fact]
    public void A_zero_payload_length_leaves_nothing_to_walk_and_gives_a_port_less_key()
    {
        var empty = Udp(1, 2);
        empty[4] = empty[5] = 0;
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 0, 0, false), Key(empty));
    }

    [Property(MaxTest = 10000)]
    public bool Random_packets_never_throw_and_their_key_ignores_what_follows_the_payload(byte[] bytes, byte nextHeader)
    {
        if (bytes.Length >= Ipv6Packet.HeaderLength)
        {
            bytes[0] = 0x60;
            bytes[6] = nextHeader;
            var payload = bytes.Length - Ipv6Packet.HeaderLength;
            bytes[4] = (byte)(payload >> 8);
            bytes[5] = (byte)payload;
        }
        if (bytes.Length < Ipv6Packet.HeaderLength)
            return !FlowKey.TryRead(bytes, out _);
        var poisoned = bytes.Concat(Enumerable.Repeat((byte)0xFF, 64)).ToArray();
        var ok = FlowKey.TryRead(bytes, out var key);
        var okPoisoned = FlowKey.TryRead(poisoned, out var keyPoisoned);
        return ok == okPoisoned && key == keyPoisoned;
    }
}
