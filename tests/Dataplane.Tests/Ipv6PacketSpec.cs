// RFC 8200: the fixed header and the extension-header walk that finds the Mobility Header.
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class Ipv6PacketSpec
{
    private const string Src = "20010DB8000100000000000000000002";
    private const string Dst = "20010DB8010000000000000000000001";
    private const string Mh = "3B01 0D00 0000 0001 00000001 01020000"; // heartbeat, 16 octets

    [Fact]
    public void Header_fields_match_rfc_8200_layout()
    {
        var golden = Hex($"612ABCDE | 0010 87 40 | {Src} | {Dst} | {Mh}");
        Assert.True(Ipv6Packet.TryDecode(golden, out var ip, out var error), error.ToString());
        Assert.Equal(0x12, ip.TrafficClass);
        Assert.Equal(0xABCDEu, ip.FlowLabel);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::2"), ip.Source);
        Assert.Equal(Ipv6Address.Parse("2001:db8:100::1"), ip.Destination);
        Assert.Equal(IpProtocol.MobilityHeader, ip.UpperLayerProtocol);
        Assert.Equal(40, ip.UpperLayerOffset);
        Assert.Equal(16, ip.UpperLayer.Length);

        var written = new byte[40];
        Assert.True(Ipv6Packet.TryWriteHeader(written, ip.Source, ip.Destination, IpProtocol.MobilityHeader, 16, 64, 0x12, 0xABCDE));
        Assert.Equal(Show(golden.AsSpan(0, 40)), Show(written));
    }

    [Fact]
    public void The_walk_skips_hop_by_hop_and_destination_options_to_reach_the_mobility_header()
    {
        // Hop-by-hop (8 octets, next 60) -> destination options (16 octets, next 135) -> MH.
        var packet = Hex($"60000000 | 0028 00 40 | {Src} | {Dst} | 3C 00 0104 00000000 | 87 01 010C 000000000000000000000000 | {Mh}");
        Assert.True(Ipv6Packet.TryDecode(packet, out var ip, out var error), error.ToString());
        Assert.Equal(IpProtocol.MobilityHeader, ip.UpperLayerProtocol);
        Assert.Equal(64, ip.UpperLayerOffset);
        Assert.True(PacketDecoder.TryDecode(packet, out var summary, out error, verifyChecksum: false), error.ToString());
        Assert.Equal(PacketKind.Mobility, summary.Kind);
        Assert.Equal((byte)MobilityHeaderType.Heartbeat, summary.MessageType);
    }

    [Fact]
    public void An_extension_header_longer_than_the_payload_is_a_length_overrun()
    {
        var packet = Hex($"60000000 | 0008 00 40 | {Src} | {Dst} | 3C 05 0104 00000000");
        Assert.False(Ipv6Packet.TryDecode(packet, out _, out var error));
        Assert.Equal(DecodeErrorReason.LengthOverrun, error.Reason);
        Assert.Equal(41, error.Offset);
    }

    [Fact]
    public void Payload_length_beyond_the_buffer_is_refused_and_link_padding_is_ignored()
    {
        Assert.False(Ipv6Packet.TryDecode(Hex($"60000000 | 0020 87 40 | {Src} | {Dst} | {Mh}"), out _, out var error));
        Assert.Equal("ipv6.payload_length", error.Field);
        Assert.True(Ipv6Packet.TryDecode(Hex($"60000000 | 0010 87 40 | {Src} | {Dst} | {Mh} | 0000"), out var ip, out _));
        Assert.Equal(16, ip.UpperLayer.Length);
    }

    [Fact]
    public void Version_other_than_6_is_refused()
    {
        Assert.False(Ipv6Packet.TryDecode(Hex($"40000000 | 0010 87 40 | {Src} | {Dst} | {Mh}"), out _, out var error));
        Assert.Equal("ipv6.version", error.Field);
    }

    [Fact]
    public void Too_many_extension_headers_hit_the_limit()
    {
        var chain = string.Concat(Enumerable.Repeat("3C 00 0104 00000000", 3));
        var packet = Hex($"60000000 | 0018 3C 40 | {Src} | {Dst} | {chain}");
        Assert.False(Ipv6Packet.TryDecode(packet, out _, out var error, new DecodeLimits { MaxExtensionHeaders = 2 }));
        Assert.Equal(DecodeErrorReason.LimitExceeded, error.Reason);
    }

    [Fact]
    public void Address_and_prefix_helpers_behave()
    {
        var prefix = Ipv6Prefix.Parse("2001:db8:a001::/64");
        Assert.True(prefix.Contains(Ipv6Address.Parse("2001:db8:a001::42")));
        Assert.False(prefix.Contains(Ipv6Address.Parse("2001:db8:a002::42")));
        Assert.True(Ipv6Address.Parse("fe80::1").IsLinkLocal);
        Assert.False(Ipv6Address.Parse("2001:db8::1").IsLinkLocal);
        Assert.Equal("2001:db8:a001::/64", prefix.ToString());
        Assert.Throws<FormatException>(() => Ipv6Prefix.Parse("2001:db8::/129"));
        Assert.False(Ipv6Address.TryParse("192.0.2.1", out _));
    }

    [Fact]
    public void Full_packets_with_a_bad_checksum_are_refused_by_the_packet_decoder()
    {
        foreach (var sample in WireSamples.All())
        {
            Assert.True(PacketDecoder.TryDecode(sample.Packet, out _, out var error), $"{sample.Name}: {error}");
            var broken = (byte[])sample.Packet.Clone();
            broken[8] ^= 0x40; // the source address: only the pseudo-header changes
            Assert.False(PacketDecoder.TryDecode(broken, out _, out error), sample.Name);
            Assert.Equal(DecodeErrorReason.BadChecksum, error.Reason);
        }
    }
}
