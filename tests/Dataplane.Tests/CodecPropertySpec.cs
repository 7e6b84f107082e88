// Properties over random and mutated input (FsCheck): every encodable message round-trips, and no
// input, however broken, makes a decoder throw or look past the end of its span.
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;

namespace Pmip6Akka.Dataplane.Tests;

public class CodecPropertySpec
{
    private static readonly byte[][] Corpus = WireSamples.All().Select(s => s.Packet).ToArray();

    [Property(MaxTest = 2000)]
    public bool Proxy_binding_update_round_trips(ushort sequence, ushort lifetime, NonEmptyArray<byte> mnId, byte hiRaw, byte attRaw,
        ulong stamp, byte prefixCount, UInt128 prefixBits)
    {
        var id = mnId.Get.Take(200).ToArray();
        var hi = (HandoffIndicator)(1 + hiRaw % 5);
        var att = (AccessTechnologyType)(1 + attRaw % 8);
        var prefixes = Enumerable.Range(0, prefixCount % 5)
            .Select(i => new Ipv6Prefix(new Ipv6Address(prefixBits + (UInt128)i), (byte)(48 + i * 8))).ToArray();
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration, lifetime);
        w.MobileNodeIdentifier(id);
        foreach (var prefix in prefixes)
            w.HomeNetworkPrefix(prefix);
        w.HandoffIndicator(hi);
        w.AccessTechnologyType(att);
        w.Timestamp(new Pmip6Timestamp(stamp));
        if (!w.TryFinish(out var length) || length % 8 != 0)
            return false;
        if (!BindingUpdate.TryDecode(buffer.AsSpan(0, length), out var bu, out _))
            return false;
        var decoded = new List<Ipv6Prefix>();
        foreach (var hnp in bu.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            decoded.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        return bu.Sequence == sequence && bu.LifetimeUnits == lifetime && bu.IsProxy
               && bu.Options.TryGetMobileNodeIdentifier(out var mn) && mn.Identifier.SequenceEqual(id)
               && bu.Options.HandoffIndicator == hi && bu.Options.AccessTechnologyType == att
               && bu.Options.Timestamp == new Pmip6Timestamp(stamp)
               && decoded.SequenceEqual(prefixes);
    }

    [Property(MaxTest = 2000)]
    public bool Proxy_binding_acknowledgement_round_trips(byte status, ushort sequence, ushort lifetime, uint restart)
    {
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.BindingAcknowledgement(buffer, (BindingAcknowledgementStatus)status, BindingAcknowledgementFlags.ProxyRegistration, sequence, lifetime);
        w.RestartCounter(restart);
        if (!w.TryFinish(out var length) || !BindingAcknowledgement.TryDecode(buffer.AsSpan(0, length), out var ba, out _))
            return false;
        return (byte)ba.Status == status && ba.Sequence == sequence && ba.LifetimeUnits == lifetime
               && ba.Options.RestartCounter == restart && ba.IsAccepted == status < 128;
    }

    [Property(MaxTest = 2000)]
    public bool Router_advertisement_round_trips(byte hopLimit, ushort routerLifetime, uint mtu, uint valid, uint preferred, UInt128 prefixBits, byte prefixLength)
    {
        var prefix = new Ipv6Prefix(new Ipv6Address(prefixBits).Mask(prefixLength % 129), (byte)(prefixLength % 129));
        var info = new PrefixInformation(prefix, PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, valid, preferred);
        var buffer = new byte[256];
        var w = NdWriter.RouterAdvertisement(buffer, hopLimit, RouterAdvertisementFlags.None, routerLifetime);
        w.Mtu(mtu);
        w.PrefixInformation(info);
        var src = Ipv6Address.Parse("fe80::1");
        var dst = Ipv6Address.Parse("ff02::1");
        if (!w.TryFinish(src, dst, out var length) || !NdMessage.TryDecode(buffer.AsSpan(0, length), out var ra, out _))
            return false;
        var decoded = new List<PrefixInformation>();
        foreach (var pi in ra.Options.PrefixInformations)
            decoded.Add(pi);
        return NdMessage.VerifyChecksum(src, dst, buffer.AsSpan(0, length)) && ra.CurHopLimit == hopLimit
               && ra.RouterLifetimeSeconds == routerLifetime && ra.Options.Mtu == mtu && decoded.SequenceEqual([info]);
    }

    [Property(MaxTest = 10000)]
    public void Random_bytes_never_make_a_decoder_throw(byte[] bytes)
    {
        PacketDecoder.TryDecode(bytes, out _, out _);
        PacketDecoder.TryDecodeMobility(bytes, out _, out _);
        NdMessage.TryDecode(bytes, out _, out _);
        // The same bytes behind a valid IPv6 header with next header MH and ICMPv6.
        foreach (var next in new[] { IpProtocol.MobilityHeader, IpProtocol.Icmpv6, IpProtocol.HopByHopOptions })
        {
            var packet = new byte[40 + Math.Min(bytes.Length, 65535)];
            Ipv6Packet.TryWriteHeader(packet, default, default, next, packet.Length - 40);
            bytes.AsSpan(0, packet.Length - 40).CopyTo(packet.AsSpan(40));
            PacketDecoder.TryDecode(packet, out _, out _, verifyChecksum: false);
        }
    }

    [Property(MaxTest = 10000)]
    public bool Mutated_packets_decode_the_same_whatever_follows_them(int seed)
    {
        var mutator = new PacketMutator(Corpus, seed);
        var work = new byte[PacketMutator.MaxPacketLength];
        var length = mutator.Next(work, out _);
        var exact = work.AsSpan(0, length).ToArray(); // an array that ends exactly where the packet does
        var poisoned = new byte[length + 64];
        exact.CopyTo(poisoned, 0);
        poisoned.AsSpan(length).Fill(0xA5);
        var okExact = PacketDecoder.TryDecode(exact, out var s1, out var e1, verifyChecksum: seed % 2 == 0);
        var okPoisoned = PacketDecoder.TryDecode(poisoned.AsSpan(0, length), out var s2, out var e2, verifyChecksum: seed % 2 == 0);
        return okExact == okPoisoned && s1 == s2 && e1 == e2 && (okExact || e1.IsError);
    }

    [Fact]
    public void Every_sample_decodes_and_survives_every_truncation()
    {
        foreach (var packet in Corpus)
        {
            Assert.True(PacketDecoder.TryDecode(packet, out _, out var error), error.ToString());
            for (var cut = 0; cut < packet.Length; cut++)
            {
                var truncated = packet.AsSpan(0, cut).ToArray();
                Assert.False(PacketDecoder.TryDecode(truncated, out _, out error), $"truncated to {cut}");
                Assert.True(error.IsError);
            }
        }
    }
}
