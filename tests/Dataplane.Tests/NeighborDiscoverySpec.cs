// Golden bytes from the figures of RFC 4861 §4.1-4.4 and §4.6 (checksum octets zeroed in the golden
// and checked separately against the reference checksum).
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class NeighborDiscoverySpec
{
    private static readonly Ipv6Address MagLl = Ipv6Address.Parse("fe80::1");
    private static readonly Ipv6Address MnLl = Ipv6Address.Parse("fe80::2");
    private static readonly byte[] Mac = [0x02, 0, 0, 0, 0, 0xAA];

    private delegate bool Finish(Span<byte> buffer, out int length);

    /// <summary>Encodes, checks the checksum against the reference, and returns the bytes with the checksum zeroed.</summary>
    private static string EncodedWithoutChecksum(Finish encode, Ipv6Address source, Ipv6Address destination)
    {
        var buffer = new byte[256];
        Assert.True(encode(buffer, out var length));
        var message = buffer[..length];
        var zeroed = (byte[])message.Clone();
        zeroed[2] = zeroed[3] = 0;
        var s = new byte[16]; source.Write(s);
        var d = new byte[16]; destination.Write(d);
        Assert.Equal(ReferenceChecksum(s, d, 58, zeroed), (ushort)(message[2] << 8 | message[3]));
        Assert.True(NdMessage.VerifyChecksum(source, destination, message));
        return Show(zeroed);
    }

    [Fact]
    public void Router_solicitation_with_source_link_layer_address()
    {
        var golden = Hex("85 00 0000 | 00000000 | 01 01 02000000 00AA");
        Assert.Equal(Show(golden), EncodedWithoutChecksum((Span<byte> b, out int n) =>
        {
            var w = NdWriter.RouterSolicitation(b);
            w.SourceLinkLayerAddress(Mac);
            return w.TryFinish(MnLl, MagLl, out n);
        }, MnLl, MagLl));
        Assert.True(NdMessage.TryDecode(golden, out var rs, out _));
        Assert.Equal(Icmpv6Type.RouterSolicitation, rs.Type);
        Assert.True(rs.Options.TryGetSourceLinkLayerAddress(out var mac));
        Assert.Equal(Mac, mac.ToArray());
    }

    [Fact]
    public void Router_advertisement_with_mtu_and_prefix_information()
    {
        var golden = Hex("86 00 0000 | 40 00 0708 | 00000000 | 00000000" +
                         "| 01 01 02000000 00AA" +
                         "| 05 01 0000 000005B4" +
                         "| 03 04 40 C0 00000E10 00000708 00000000 20010DB8A0010000 0000000000000000");
        var prefix = new PrefixInformation(Ipv6Prefix.Parse("2001:db8:a001::/64"), PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800);
        Assert.Equal(Show(golden), EncodedWithoutChecksum((Span<byte> b, out int n) =>
        {
            var w = NdWriter.RouterAdvertisement(b, 64, RouterAdvertisementFlags.None, 1800);
            w.SourceLinkLayerAddress(Mac);
            w.Mtu(1460);
            w.PrefixInformation(prefix);
            return w.TryFinish(MagLl, MnLl, out n);
        }, MagLl, MnLl));
        Assert.True(NdMessage.TryDecode(golden, out var ra, out var error), error.ToString());
        Assert.Equal(64, ra.CurHopLimit);
        Assert.Equal(1800, ra.RouterLifetimeSeconds);
        Assert.Equal(1460u, ra.Options.Mtu);
        Assert.Equal(1, ra.Options.PrefixInformationCount);
        foreach (var pi in ra.Options.PrefixInformations)
            Assert.Equal(prefix, pi);
    }

    [Fact]
    public void Router_advertisement_flags_decode()
    {
        var golden = Hex("86 00 0000 | 40 C0 0000 | 00000000 | 00000000");
        Assert.True(NdMessage.TryDecode(golden, out var ra, out _));
        Assert.Equal(RouterAdvertisementFlags.ManagedAddressConfiguration | RouterAdvertisementFlags.OtherConfiguration, ra.RouterFlags);
    }

    [Fact]
    public void Neighbor_solicitation_and_advertisement()
    {
        var ns = Hex("87 00 0000 | 00000000 | FE800000000000000000000000000002 | 01 01 02000000 00AA");
        var na = Hex("88 00 0000 | 60000000 | FE800000000000000000000000000002 | 02 01 02000000 00AA");
        Assert.Equal(Show(ns), EncodedWithoutChecksum((Span<byte> b, out int n) =>
        {
            var w = NdWriter.NeighborSolicitation(b, MnLl);
            w.SourceLinkLayerAddress(Mac);
            return w.TryFinish(MagLl, MnLl, out n);
        }, MagLl, MnLl));
        Assert.Equal(Show(na), EncodedWithoutChecksum((Span<byte> b, out int n) =>
        {
            var w = NdWriter.NeighborAdvertisement(b, NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, MnLl);
            w.TargetLinkLayerAddress(Mac);
            return w.TryFinish(MnLl, MagLl, out n);
        }, MnLl, MagLl));
        Assert.True(NdMessage.TryDecode(na, out var decoded, out _));
        Assert.Equal(MnLl, decoded.TargetAddress);
        Assert.Equal(NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, decoded.NeighborFlags);
        Assert.True(decoded.Options.TryGetTargetLinkLayerAddress(out var mac));
        Assert.Equal(Mac, mac.ToArray());
    }

    [Fact]
    public void An_nd_option_of_length_zero_is_refused()
    {
        Assert.False(NdMessage.TryDecode(Hex("85 00 0000 | 00000000 | 01 00 000000000000"), out _, out var error));
        Assert.Equal(DecodeErrorReason.BadLength, error.Reason);
        Assert.Equal("nd.option.length", error.Field);
        Assert.Equal(9, error.Offset);
    }

    [Fact]
    public void An_nd_option_running_past_the_message_is_a_length_overrun()
    {
        Assert.False(NdMessage.TryDecode(Hex("85 00 0000 | 00000000 | 01 02 02000000 00AA"), out _, out var error));
        Assert.Equal(DecodeErrorReason.LengthOverrun, error.Reason);
    }

    [Fact]
    public void A_prefix_information_option_of_the_wrong_size_is_refused()
    {
        Assert.False(NdMessage.TryDecode(Hex("86 00 0000 | 40 00 0708 | 00000000 | 00000000 | 03 01 40 C0 00000E10"), out _, out var error));
        Assert.Equal(DecodeErrorReason.BadLength, error.Reason);
        Assert.Equal("nd.option.prefix_information", error.Field);
    }

    [Fact]
    public void A_non_zero_code_is_refused_per_rfc_4861()
    {
        Assert.False(NdMessage.TryDecode(Hex("85 01 0000 | 00000000"), out _, out var error));
        Assert.Equal("icmpv6.code", error.Field);
    }

    [Fact]
    public void A_truncated_body_is_a_short_buffer()
    {
        Assert.False(NdMessage.TryDecode(Hex("87 00 0000 | 00000000 | FE80"), out _, out var error));
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
    }
}
