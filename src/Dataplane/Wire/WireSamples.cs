// One complete IPv6 packet (valid checksums) per message kind and option set we encode. Used by
// `pmip6 wire samples` (checked by tshark as an independent decoder), the fuzzer's seed corpus and
// the codec benchmark. Each sample says what a dissector should find in it.
using System.Text;

namespace Pmip6Akka.Dataplane.Wire;

public sealed record WireSample(string Name, byte[] Packet, IReadOnlyDictionary<string, string> Expected);

public static class WireSamples
{
    public static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    public static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    public static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    public static readonly Ipv6Address MagLinkLocal = Ipv6Address.Parse("fe80::1");
    public static readonly Ipv6Address MnLinkLocal = Ipv6Address.Parse("fe80::200:ff:fe00:101");
    public static readonly Ipv6Address AllNodes = Ipv6Address.Parse("ff02::1");
    public static readonly Ipv6Address AllRouters = Ipv6Address.Parse("ff02::2");
    public static readonly Ipv6Prefix Hnp1 = Ipv6Prefix.Parse("2001:db8:a001::/64");
    public static readonly Ipv6Prefix Hnp2 = Ipv6Prefix.Parse("2001:db8:a002::/64");
    public static readonly byte[] MnId = Encoding.ASCII.GetBytes("mn1@pmip6.example");
    public static readonly byte[] MnMac = [0x02, 0x00, 0x00, 0x00, 0x01, 0x01];
    public static readonly byte[] MagMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0xAA];
    /// <summary>2026-11-25T12:00:00Z plus half a second.</summary>
    public static readonly Pmip6Timestamp Timestamp = new(((ulong)1795608000 << 16) | 0x8000);

    public delegate bool Encoder(Span<byte> buffer, out int length);

    /// <summary>A typical first-registration PBU, as a MAG sends it (the benchmark's subject).</summary>
    public static bool WriteProxyBindingUpdate(Span<byte> mh, ushort sequence, out int length)
    {
        var w = MobilityHeaderWriter.BindingUpdate(mh, sequence,
            BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration,
            LifetimeUnit.FromTimeSpan(TimeSpan.FromHours(1)));
        w.MobileNodeIdentifier(MnId);
        w.HomeNetworkPrefix(new Ipv6Prefix(default, 0));
        w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        w.MobileNodeLinkLayerIdentifier(MnMac);
        w.LinkLocalAddress(MagLinkLocal);
        w.Timestamp(Timestamp);
        return w.TryFinish(Mag1, Lma, out length);
    }

    /// <summary>A typical accepting PBA, as the LMA sends it (the benchmark's subject).</summary>
    public static bool WriteProxyBindingAcknowledgement(Span<byte> mh, ushort sequence, out int length)
    {
        var w = MobilityHeaderWriter.BindingAcknowledgement(mh, BindingAcknowledgementStatus.Accepted,
            BindingAcknowledgementFlags.ProxyRegistration, sequence, LifetimeUnit.FromTimeSpan(TimeSpan.FromHours(1)));
        w.MobileNodeIdentifier(MnId);
        w.HomeNetworkPrefix(Hnp1);
        w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        w.MobileNodeLinkLayerIdentifier(MnMac);
        w.LinkLocalAddress(MagLinkLocal);
        w.Timestamp(Timestamp);
        return w.TryFinish(Lma, Mag1, out length);
    }

    /// <summary>Sample context items: AAA session state, QoS profile, accounting counters, header-compression state.</summary>
    public static readonly (ContextFeature Feature, byte[] Blob)[] Context =
    [
        (ContextFeature.AaaSessionState, "aaa:session=42;auth=ok"u8.ToArray()),
        (ContextFeature.QosProfile, [0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x4E, 0x20]),
        (ContextFeature.AccountingCounters, [0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x20, 0]),
        (ContextFeature.HeaderCompressionState, [0x01, 0x02, 0x03]),
    ];

    /// <summary>The previous MAG's de-registration carrying the next MAG's address and the MN's context (Context Reflector step 1).</summary>
    public static bool WriteContextDeregistration(Span<byte> mh, ushort sequence, out int length)
    {
        var w = MobilityHeaderWriter.BindingUpdate(mh, sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 0);
        w.MobileNodeIdentifier(MnId);
        w.HomeNetworkPrefix(Hnp1);
        w.HandoffIndicator(HandoffIndicator.HandoffStateUnknown);
        w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        w.Timestamp(Timestamp);
        w.ContextNextMag(Mag2);
        foreach (var (feature, blob) in Context)
            w.ContextData(feature, blob);
        return w.TryFinish(Mag1, Lma, out length);
    }

    /// <summary>The LMA's Context Reflection to the next MAG (Context Reflector step 2).</summary>
    public static bool WriteContextReflection(Span<byte> mh, ushort sequence, out int length)
    {
        var w = MobilityHeaderWriter.ContextReflection(mh);
        w.MobileNodeIdentifier(MnId);
        w.HomeNetworkPrefix(Hnp1);
        w.ContextSequence(sequence);
        w.ContextLifetime(10);
        foreach (var (feature, blob) in Context)
            w.ContextData(feature, blob);
        return w.TryFinish(Lma, Mag2, out length);
    }

    /// <summary>Sample flows (RFC 6088 selectors): a TCP transfer to the MN's port 5001, and UDP from a CN range to ports 9000-9099.</summary>
    public static readonly Ipv6TrafficSelector TcpFlow = new()
    {
        Source = SelectorRange<Ipv6Address>.Exactly(Ipv6Address.Parse("2001:db8:cc::2")),
        Destination = SelectorRange<Ipv6Address>.Exactly(Ipv6Address.Parse("2001:db8:a001::1234")),
        NextHeader = SelectorRange<byte>.Exactly(IpProtocol.Tcp),
        DestinationPort = SelectorRange<ushort>.Exactly(5001),
    };

    public static readonly Ipv6TrafficSelector UdpFlows = new()
    {
        Source = SelectorRange<Ipv6Address>.Between(Ipv6Address.Parse("2001:db8:cc::1"), Ipv6Address.Parse("2001:db8:cc::ff")),
        FlowLabel = SelectorRange<uint>.Exactly(0x12345),
        NextHeader = SelectorRange<byte>.Exactly(IpProtocol.Udp),
        DestinationPort = SelectorRange<ushort>.Between(9000, 9099),
    };

    /// <summary>The LMA's Flow Mobility Initiate moving two flows of an MN to a MAG (RFC 7864).</summary>
    public static bool WriteFlowMobilityInitiate(Span<byte> mh, ushort sequence, out int length)
    {
        var w = MobilityHeaderWriter.FlowMobilityInitiate(mh, sequence);
        w.MobileNodeIdentifier(MnId);
        w.HomeNetworkPrefix(Hnp1);
        w.HomeNetworkPrefix(Hnp2);
        w.Flow(1, 1, FlowIdentificationStatus.Success, TcpFlow, [5], FlowBindingAction.Modify);
        w.Flow(2, 2, FlowIdentificationStatus.Success, UdpFlows, [5]);
        return w.TryFinish(Lma, Mag2, out length);
    }

    public static IReadOnlyList<WireSample> All() =>
    [
        Mh("pbu-first-registration", Mag1, Lma, (Span<byte> b, out int n) => WriteProxyBindingUpdate(b, 7, out n),
            ("mip6.mhtype", "5"), ("mip6.bu.seqnr", "7"), ("mip6.bu.p_flag", "1"), ("mip6.bu.a_flag", "1"),
            ("mip6.bu.lifetime", "900"), ("mip6.mnid.identifier", "mn1@pmip6.example"), ("mip6.hi", "1"),
            ("mip6.att", "3"), ("mip6.nemo.mnp.pfl", "0"), ("mip6.lila_lla", "fe80::1")),
        Mh("pba-accepted", Lma, Mag1, (Span<byte> b, out int n) => WriteProxyBindingAcknowledgement(b, 7, out n),
            ("mip6.mhtype", "6"), ("mip6.ba.status", "0"), ("mip6.ba.p_flag", "1"), ("mip6.ba.seqnr", "7"),
            ("mip6.ba.lifetime", "900"), ("mip6.mnid.identifier", "mn1@pmip6.example"),
            ("mip6.nemo.mnp.mnp", "2001:db8:a001::"), ("mip6.nemo.mnp.pfl", "64"), ("mip6.hi", "1"), ("mip6.att", "3")),
        Mh("pbu-handover-two-prefixes", Mag2, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingUpdate(b, 8, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 150);
                w.MobileNodeIdentifier(MnId);
                w.HomeNetworkPrefix(Hnp1);
                w.HomeNetworkPrefix(Hnp2);
                w.HandoffIndicator(HandoffIndicator.HandoffBetweenMagsForSameInterface);
                w.AccessTechnologyType(AccessTechnologyType.Ieee80211);
                w.Timestamp(Timestamp);
                return w.TryFinish(Mag2, Lma, out n);
            },
            ("mip6.mhtype", "5"), ("mip6.bu.seqnr", "8"), ("mip6.bu.p_flag", "1"), ("mip6.bu.lifetime", "150"),
            ("mip6.hi", "3"), ("mip6.att", "4"), ("mip6.nemo.mnp.mnp", "2001:db8:a001::,2001:db8:a002::")),
        Mh("pbu-deregistration", Mag1, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingUpdate(b, 9, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 0);
                w.MobileNodeIdentifier(MnId);
                w.HomeNetworkPrefix(Hnp1);
                w.HandoffIndicator(HandoffIndicator.HandoffStateUnknown);
                w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
                w.Timestamp(Timestamp);
                return w.TryFinish(Mag1, Lma, out n);
            },
            ("mip6.mhtype", "5"), ("mip6.bu.seqnr", "9"), ("mip6.bu.lifetime", "0"), ("mip6.hi", "4")),
        Mh("pba-timestamp-mismatch", Lma, Mag1, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingAcknowledgement(b, BindingAcknowledgementStatus.TimestampMismatch, BindingAcknowledgementFlags.ProxyRegistration, 10, 0);
                w.MobileNodeIdentifier(MnId);
                w.Timestamp(Timestamp);
                return w.TryFinish(Lma, Mag1, out n);
            },
            ("mip6.mhtype", "6"), ("mip6.ba.status", "156"), ("mip6.ba.seqnr", "10"), ("mip6.ba.lifetime", "0")),
        Mh("binding-error", Lma, Mag1, (Span<byte> b, out int n) =>
                MobilityHeaderWriter.BindingError(b, 2, Hnp1.Address).TryFinish(Lma, Mag1, out n),
            ("mip6.mhtype", "7"), ("mip6.be.status", "2"), ("mip6.be.haddr", "2001:db8:a001::")),
        Mh("heartbeat-request", Mag1, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.Heartbeat(b, response: false, 0x01020304);
                w.RestartCounter(3);
                return w.TryFinish(Mag1, Lma, out n);
            },
            ("mip6.mhtype", "13"), ("mip6.hb.r_flag", "0"), ("mip6.hb.seqnr", "16909060"), ("mip6.rc", "3")),
        Mh("heartbeat-response", Lma, Mag1, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.Heartbeat(b, response: true, 0x01020304);
                w.RestartCounter(42);
                return w.TryFinish(Lma, Mag1, out n);
            },
            ("mip6.mhtype", "13"), ("mip6.hb.r_flag", "1"), ("mip6.hb.seqnr", "16909060"), ("mip6.rc", "42")),
        Mh("binding-revocation-indication", Lma, Mag1, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingRevocationIndication(b, RevocationTrigger.AdministrativeReason, 21, BindingRevocation.ProxyFlag);
                w.MobileNodeIdentifier(MnId);
                return w.TryFinish(Lma, Mag1, out n);
            },
            ("mip6.mhtype", "16"), ("mip6.bri_br.type", "1"), ("mip6.bri_r.trigger", "1"), ("mip6.bri_seqnr", "21"), ("mip6.bri_ip", "1")),
        Mh("binding-revocation-acknowledgement", Mag1, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingRevocationAcknowledgement(b, BindingRevocationStatus.Success, 21, BindingRevocation.ProxyFlag);
                w.MobileNodeIdentifier(MnId);
                return w.TryFinish(Mag1, Lma, out n);
            },
            ("mip6.mhtype", "16"), ("mip6.bri_br.type", "2"), ("mip6.bri_status", "0"), ("mip6.bri_seqnr", "21"), ("mip6.bri_ap", "1")),
        Mh("update-notification-flow-mobility", Lma, Mag2, (Span<byte> b, out int n) => WriteFlowMobilityInitiate(b, 31, out n),
            ("mip6.mhtype", "19")), // Wireshark 4.0 dissects neither MH type 19 nor 20 past the type
        Mh("update-notification-acknowledgement", Mag2, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.FlowMobilityAcknowledgement(b, 31, UpdateNotificationStatus.Success);
                w.MobileNodeIdentifier(MnId);
                w.Flow(1, 1, FlowIdentificationStatus.Success);
                w.Flow(2, 2, FlowIdentificationStatus.TrafficSelectorFormatNotSupported);
                return w.TryFinish(Mag2, Lma, out n);
            },
            ("mip6.mhtype", "20")),
        Mh("experimental-message", Lma, Mag2, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.Experimental(b, kind: 1, version: 1);
                w.MobileNodeIdentifier(MnId);
                w.ExperimentalOption("ctx:aaa=ok"u8);
                return w.TryFinish(Lma, Mag2, out n);
            },
            ("mip6.mhtype", "11")),
        Mh("pbu-extension-options", Mag1, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.BindingUpdate(b, 11, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900);
                w.MobileNodeIdentifier(MnId);
                w.HomeNetworkPrefix(Hnp1);
                w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
                w.AccessTechnologyType(AccessTechnologyType.Ieee80211);
                w.Timestamp(Timestamp);
                w.BindingIdentifier(5, 0, 0x03);
                w.FlowIdentification(1, 10, 0);
                w.ExperimentalOption("ctx"u8);
                w.VendorSpecific(32473, 1, "pmip6akka"u8);
                w.RestartCounter(1);
                return w.TryFinish(Mag1, Lma, out n);
            },
            ("mip6.mhtype", "5"), ("mip6.bu.seqnr", "11"), ("mip6.bi.bid", "5"), ("mip6.vsm.vendorId", "32473"), ("mip6.rc", "1")),
        Mh("pbu-deregistration-context", Mag1, Lma, (Span<byte> b, out int n) => WriteContextDeregistration(b, 12, out n),
            ("mip6.mhtype", "5"), ("mip6.bu.seqnr", "12"), ("mip6.bu.lifetime", "0"), ("mip6.hi", "4")),
        Mh("context-reflection", Lma, Mag2, (Span<byte> b, out int n) => WriteContextReflection(b, 12, out n),
            ("mip6.mhtype", "11")),
        Mh("context-reflection-acknowledgement", Mag2, Lma, (Span<byte> b, out int n) =>
            {
                var w = MobilityHeaderWriter.ContextReflectionAcknowledgement(b);
                w.MobileNodeIdentifier(MnId);
                w.ContextSequence(12);
                w.ContextStatus(ContextReflectionStatus.Accepted);
                return w.TryFinish(Mag2, Lma, out n);
            },
            ("mip6.mhtype", "11")),
        Nd("router-solicitation", MnLinkLocal, AllRouters, (Span<byte> b, out int n) =>
            {
                var w = NdWriter.RouterSolicitation(b);
                w.SourceLinkLayerAddress(MnMac);
                return w.TryFinish(MnLinkLocal, AllRouters, out n);
            },
            ("icmpv6.type", "133"), ("icmpv6.opt.linkaddr", "02:00:00:00:01:01")),
        Nd("router-advertisement", MagLinkLocal, MnLinkLocal, (Span<byte> b, out int n) =>
            {
                var w = NdWriter.RouterAdvertisement(b, 64, RouterAdvertisementFlags.None, 1800);
                w.SourceLinkLayerAddress(MagMac);
                w.Mtu(1460);
                w.PrefixInformation(new PrefixInformation(Hnp1, PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800));
                return w.TryFinish(MagLinkLocal, MnLinkLocal, out n);
            },
            ("icmpv6.type", "134"), ("icmpv6.nd.ra.router_lifetime", "1800"), ("icmpv6.opt.mtu", "1460"),
            ("icmpv6.opt.prefix", "2001:db8:a001::"), ("icmpv6.opt.prefix.length", "64"), ("icmpv6.opt.prefix.valid_lifetime", "3600")),
        Nd("neighbor-solicitation", MagLinkLocal, MnLinkLocal, (Span<byte> b, out int n) =>
            {
                var w = NdWriter.NeighborSolicitation(b, MnLinkLocal);
                w.SourceLinkLayerAddress(MagMac);
                return w.TryFinish(MagLinkLocal, MnLinkLocal, out n);
            },
            ("icmpv6.type", "135"), ("icmpv6.nd.ns.target_address", "fe80::200:ff:fe00:101")),
        Nd("neighbor-advertisement", MnLinkLocal, MagLinkLocal, (Span<byte> b, out int n) =>
            {
                var w = NdWriter.NeighborAdvertisement(b, NeighborAdvertisementFlags.Solicited | NeighborAdvertisementFlags.Override, MnLinkLocal);
                w.TargetLinkLayerAddress(MnMac);
                return w.TryFinish(MnLinkLocal, MagLinkLocal, out n);
            },
            ("icmpv6.type", "136"), ("icmpv6.nd.na.flag.s", "1"), ("icmpv6.nd.na.flag.r", "0")),
    ];

    private static WireSample Mh(string name, Ipv6Address source, Ipv6Address destination, Encoder encode, params (string Field, string Value)[] expected) =>
        Build(name, source, destination, IpProtocol.MobilityHeader, 64, encode, expected);

    private static WireSample Nd(string name, Ipv6Address source, Ipv6Address destination, Encoder encode, params (string Field, string Value)[] expected) =>
        Build(name, source, destination, IpProtocol.Icmpv6, 255, encode, expected);

    private static WireSample Build(string name, Ipv6Address source, Ipv6Address destination, byte nextHeader, byte hopLimit,
        Encoder encode, (string Field, string Value)[] expected)
    {
        var buffer = new byte[Ipv6Packet.HeaderLength + MobilityHeader.MaxLength];
        if (!encode(buffer.AsSpan(Ipv6Packet.HeaderLength), out var length))
            throw new InvalidOperationException($"sample {name} does not fit its buffer");
        Ipv6Packet.TryWriteHeader(buffer, source, destination, nextHeader, length, hopLimit);
        return new WireSample(name, buffer[..(Ipv6Packet.HeaderLength + length)],
            expected.ToDictionary(e => e.Field, e => e.Value));
    }
}
