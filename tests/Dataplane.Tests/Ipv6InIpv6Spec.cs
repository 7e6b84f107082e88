// RFC 2473 IPv6-in-IPv6: golden bytes written by hand from RFC 8200 §3 and RFC 2473 §6, round trips,
// and the refusals of the exit point.
using System.Buffers.Binary;
using FsCheck;
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Tests;

public class Ipv6InIpv6Spec
{
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");

    // Traffic class 0x12, flow label 0x34567, UDP (17), hop limit 64, 2001:db8:7::2 -> 2001:db8:7::1,
    // an 8-octet UDP header 1234 -> 5678, length 8, checksum 0 (not checked by the tunnel).
    private static readonly byte[] Inner = Bytes.Hex(
        "61234567 0008 11 40" +
        "20010db8000700000000000000000002" +
        "20010db8000700000000000000000001" +
        "1234 5678 0008 0000");

    private static readonly byte[] Outer = Bytes.Hex(
        "61200000 0030 29 3f" + // version 6, inner traffic class copied, flow label 0, payload 48, nh 41, hop limit 63
        "20010db8000100000000000000000002" +
        "20010db8010000000000000000000001" +
        "61234567 0008 11 40" +
        "20010db8000700000000000000000002" +
        "20010db8000700000000000000000001" +
        "1234 5678 0008 0000");

    [Fact]
    public void Encapsulation_prepends_a_tunnel_header_with_next_header_41_and_the_inner_traffic_class()
    {
        var buffer = new byte[200];
        Assert.True(Ipv6InIpv6.TryEncapsulate(Inner, buffer, Mag, Lma, 63, out var written));
        Assert.Equal(Bytes.Show(Outer), Bytes.Show(buffer.AsSpan(0, written)));
    }

    [Fact]
    public void A_configured_traffic_class_and_flow_label_replace_the_defaults()
    {
        var buffer = new byte[200];
        Assert.True(Ipv6InIpv6.TryEncapsulate(Inner, buffer, Mag, Lma, 63, out var written, trafficClass: 0xB8, flowLabel: 0xABCDE));
        Assert.Equal(0x6B8ABCDEu, BinaryPrimitives.ReadUInt32BigEndian(buffer));
        Assert.Equal(Bytes.Show(Outer.AsSpan(4)), Bytes.Show(buffer.AsSpan(4, written - 4)));
    }

    [Fact]
    public void Encapsulation_works_in_place_with_the_inner_packet_behind_the_header_room()
    {
        var buffer = new byte[Ipv6InIpv6.Overhead + Inner.Length];
        Inner.CopyTo(buffer, Ipv6InIpv6.Overhead);
        Assert.True(Ipv6InIpv6.TryEncapsulate(buffer.AsSpan(Ipv6InIpv6.Overhead), buffer, Mag, Lma, 63, out var written));
        Assert.Equal(Bytes.Show(Outer), Bytes.Show(buffer.AsSpan(0, written)));
        var front = new byte[Ipv6InIpv6.Overhead + Inner.Length];
        Inner.CopyTo(front, 0); // the inner at the front of the same buffer
        Assert.True(Ipv6InIpv6.TryEncapsulate(front.AsSpan(0, Inner.Length), front, Mag, Lma, 63, out written));
        Assert.Equal(Bytes.Show(Outer), Bytes.Show(front.AsSpan(0, written)));
    }

    [Fact]
    public void Decapsulation_returns_the_tunnel_endpoints_and_the_inner_packet()
    {
        Assert.True(Ipv6InIpv6.TryDecapsulate(Outer, out var source, out var destination, out var inner, out var error), error.ToString());
        Assert.Equal(Mag, source);
        Assert.Equal(Lma, destination);
        Assert.Equal(Bytes.Show(Inner), Bytes.Show(inner));
    }

    [Fact]
    public void Decapsulation_walks_extension_headers_before_next_header_41()
    {
        // A destination options header (8 octets of PadN) between the tunnel header and the inner packet.
        var outer = new List<byte>(Outer[..40]);
        outer[6] = IpProtocol.DestinationOptions;
        outer[5] = 48 + 8;
        outer.AddRange(Bytes.Hex("29 00 01 04 00000000"));
        outer.AddRange(Inner);
        Assert.True(Ipv6InIpv6.TryDecapsulate(outer.ToArray(), out _, out _, out var inner, out var error), error.ToString());
        Assert.Equal(Bytes.Show(Inner), Bytes.Show(inner));
    }

    [Fact]
    public void Link_padding_after_the_outer_payload_and_inner_padding_are_dropped()
    {
        var padded = Outer.Concat(new byte[] { 0xA5, 0xA5, 0xA5 }).ToArray();
        Assert.True(Ipv6InIpv6.TryDecapsulate(padded, out _, out _, out var inner, out _));
        Assert.Equal(Inner.Length, inner.Length);
    }

    [Fact]
    public void What_is_not_a_tunnelled_ipv6_packet_is_refused_with_the_field_named()
    {
        static DecodeError Refusal(byte[] packet)
        {
            Assert.False(Ipv6InIpv6.TryDecapsulate(packet, out _, out _, out var inner, out var error));
            Assert.Equal(0, inner.Length);
            return error;
        }

        var udp = (byte[])Outer.Clone();
        udp[6] = IpProtocol.Udp;
        Assert.Equal(new DecodeError(DecodeErrorReason.BadValue, "ipv6.next_header", 40), Refusal(udp));

        var ipv4Inside = (byte[])Outer.Clone();
        ipv4Inside[40] = 0x45;
        Assert.Equal(new DecodeError(DecodeErrorReason.BadValue, "tunnel.inner.version", 40), Refusal(ipv4Inside));

        var innerLies = (byte[])Outer.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(innerLies.AsSpan(44), 9);
        Assert.Equal(new DecodeError(DecodeErrorReason.LengthOverrun, "tunnel.inner.payload_length", 44), Refusal(innerLies));

        var innerJumbo = (byte[])Outer.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(innerJumbo.AsSpan(44), 0);
        Assert.Equal(new DecodeError(DecodeErrorReason.BadValue, "tunnel.inner.payload_length", 44), Refusal(innerJumbo));

        var shortInner = Outer[..(40 + 39)];
        BinaryPrimitives.WriteUInt16BigEndian(shortInner.AsSpan(4), 39);
        Assert.Equal(new DecodeError(DecodeErrorReason.ShortBuffer, "tunnel.inner.header", 40), Refusal(shortInner));

        Assert.Equal(DecodeErrorReason.LengthOverrun, Refusal(Outer[..^1]).Reason); // outer payload length lies
        Assert.Equal(DecodeErrorReason.ShortBuffer, Refusal(Outer[..39]).Reason);

        // A non-first fragment of a tunnelled packet: the exit point must reassemble first.
        var fragment = new List<byte>(Outer[..40]);
        fragment[6] = IpProtocol.Fragment;
        fragment[5] = 48 + 8;
        fragment.AddRange(Bytes.Hex("29 00 0008 00000001"));
        fragment.AddRange(Inner);
        Assert.Equal(new DecodeError(DecodeErrorReason.BadValue, "ipv6.fragment", 48), Refusal(fragment.ToArray()));
    }

    [Fact]
    public void Encapsulation_refuses_what_is_not_ipv6_too_long_or_does_not_fit()
    {
        var buffer = new byte[Ipv6InIpv6.Overhead + 70000];
        Assert.False(Ipv6InIpv6.TryEncapsulate(Inner, buffer.AsSpan(0, Ipv6InIpv6.Overhead + Inner.Length - 1), Mag, Lma, 64, out var written));
        Assert.Equal(0, written);
        Assert.False(Ipv6InIpv6.TryEncapsulate(Inner.AsSpan(0, 39), buffer, Mag, Lma, 64, out _));
        var ipv4 = (byte[])Inner.Clone();
        ipv4[0] = 0x45;
        Assert.False(Ipv6InIpv6.TryEncapsulate(ipv4, buffer, Mag, Lma, 64, out _));

        var largest = new byte[Ipv6InIpv6.MaxInnerLength];
        Inner.AsSpan(0, 40).CopyTo(largest);
        BinaryPrimitives.WriteUInt16BigEndian(largest.AsSpan(4), (ushort)(largest.Length - 40));
        Assert.True(Ipv6InIpv6.TryEncapsulate(largest, buffer, Mag, Lma, 64, out written));
        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(4)));
        Assert.True(Ipv6InIpv6.TryDecapsulate(buffer.AsSpan(0, written), out _, out _, out var inner, out var error), error.ToString());
        Assert.Equal(largest.Length, inner.Length);
        Assert.False(Ipv6InIpv6.TryEncapsulate(new byte[Ipv6InIpv6.MaxInnerLength + 1], buffer, Mag, Lma, 64, out _));
    }

    [Property(MaxTest = 2000)]
    public bool Any_ipv6_packet_round_trips(byte trafficClass, uint flowLabel, byte[] payload, UInt128 source, UInt128 destination, byte hopLimit, byte next)
    {
        var body = payload.Length == 0 ? [0] : payload.AsSpan(0, Math.Min(payload.Length, 2000)).ToArray();
        var inner = new byte[40 + body.Length];
        Ipv6Packet.TryWriteHeader(inner, new Ipv6Address(source), new Ipv6Address(destination), next, body.Length, hopLimit, trafficClass, flowLabel);
        body.CopyTo(inner, 40);
        var outer = new byte[inner.Length + Ipv6InIpv6.Overhead];
        if (!Ipv6InIpv6.TryEncapsulate(inner, outer, new Ipv6Address(destination), new Ipv6Address(source), hopLimit, out var written)
            || written != outer.Length)
            return false;
        return Ipv6InIpv6.TryDecapsulate(outer, out var ts, out var td, out var decoded, out _)
               && ts.Value == destination && td.Value == source
               && decoded.SequenceEqual(inner)
               && outer[1] >> 4 == (trafficClass & 0xF) && (outer[0] & 0xF) == trafficClass >> 4;
    }

    [Property(MaxTest = 10000)]
    public void Random_bytes_never_make_the_tunnel_codec_throw(byte[] bytes, byte prefix)
    {
        Ipv6InIpv6.TryDecapsulate(bytes, out _, out _, out _, out _);
        // The same bytes behind a valid tunnel header, so the inner checks are reached.
        var outer = new byte[40 + Math.Min(bytes.Length, 65535)];
        Ipv6Packet.TryWriteHeader(outer, default, default, prefix % 2 == 0 ? IpProtocol.Ipv6 : prefix, outer.Length - 40);
        bytes.AsSpan(0, outer.Length - 40).CopyTo(outer.AsSpan(40));
        if (Ipv6InIpv6.TryDecapsulate(outer, out _, out _, out var inner, out _))
        {
            var again = new byte[inner.Length + 40];
            Assert.True(Ipv6InIpv6.TryEncapsulate(inner, again, default, default, 1, out _));
        }
        var buffer = new byte[bytes.Length + prefix];
        Ipv6InIpv6.TryEncapsulate(bytes, buffer, default, default, prefix, out _);
    }
}
