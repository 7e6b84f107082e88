// Flow mobility on the wire (docs/PROTOCOL.md, "Flow mobility"): RFC 6088 IPv6 binary traffic
// selectors, RFC 6089 Flow Identification sub-options, RFC 7864 Flow Mobility Initiate and
// Acknowledgement over RFC 7077. Golden bytes are written by hand from the figures; every malformed
// input names its field and reason.
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class FlowMobilityWireSpec
{
    private const string Cn2 = "20010DB800CC00000000000000000002";
    private const string MnAddress = "20010DB8A00100000000000000001234";
    private const string MnIdOption = "08 12 01 6D6E3140706D6970362E6578616D706C65"; // mn1@pmip6.example

    // A (start source) | C (start destination) | K (start destination port) | O (start next header)
    private const string TcpSelector = $"02 00 A022 {Cn2} {MnAddress} 1389 06";
    // A+B (source range) | G (flow label) | K+L (destination port range) | O
    private const string UdpSelector = "02 00 C232 20010DB800CC00000000000000000001 20010DB800CC000000000000000000FF 00012345 2328 238B 11";

    private static byte[] Selector(Ipv6TrafficSelector selector)
    {
        var buffer = new byte[Ipv6TrafficSelector.MaxLength];
        Assert.True(selector.TryWrite(buffer, out var written));
        Assert.Equal(selector.EncodedLength, written);
        return buffer[..written];
    }

    /// <summary>An Update Notification (reason <paramref name="reason"/>) with MN-ID "A" at 12 and <paramref name="options"/> at 16, padded to 8n.</summary>
    private static byte[] Upn(string options, byte reason = 8, bool mnId = true)
    {
        var body = Hex((mnId ? "08 02 01 41 " : "01 02 0000 ") + options);
        var length = 12 + body.Length;
        var padding = (8 - length % 8) % 8;
        var mh = new byte[length + padding];
        Hex($"3B {mh.Length / 8 - 1:X2} 13 00 0000 001F {reason:X2} 80 0000").CopyTo(mh, 0);
        body.CopyTo(mh, 12);
        if (padding == 1) mh[^1] = 0;
        else if (padding > 1) { mh[length] = 1; mh[length + 1] = (byte)(padding - 2); }
        return mh;
    }

    private static DecodeError FmiError(byte[] mh)
    {
        Assert.False(FlowMobilityInitiate.TryDecode(mh, out _, out var error));
        Assert.True(error.IsError);
        return error;
    }

    private static FlowDescription OnlyFlow(byte[] mh)
    {
        Assert.True(FlowMobilityInitiate.TryDecode(mh, out var fmi, out var error), error.ToString());
        Assert.Equal(1, fmi.FlowCount);
        var flows = FlowDescriptions.Of(fmi.Options);
        Assert.True(flows.MoveNext());
        return flows.Current;
    }

    [Fact]
    public void An_exact_selector_carries_only_start_bounds_in_flag_order()
    {
        Assert.Equal(Show(Hex(TcpSelector)), Show(Selector(WireSamples.TcpFlow)));
        Assert.True(Ipv6TrafficSelector.TryDecode(Hex(TcpSelector), 0, out var decoded, out var error), error.ToString());
        Assert.Equal(WireSamples.TcpFlow, decoded);
        Assert.Equal(39, decoded.EncodedLength);
        Assert.True(decoded.SourcePort.IsAny);
        Assert.True(decoded.FlowLabel.IsAny);
    }

    [Fact]
    public void A_range_carries_its_start_and_end_bound()
    {
        Assert.Equal(Show(Hex(UdpSelector)), Show(Selector(WireSamples.UdpFlows)));
        Assert.True(Ipv6TrafficSelector.TryDecode(Hex(UdpSelector), 0, out var decoded, out _));
        Assert.Equal(WireSamples.UdpFlows, decoded);
        Assert.Equal((ushort)9000, decoded.DestinationPort.Start);
        Assert.Equal((ushort)9099, decoded.DestinationPort.End);
        Assert.Equal(0x12345u, decoded.FlowLabel.Start);
    }

    [Fact]
    public void An_empty_selector_is_the_header_alone_and_matches_every_packet()
    {
        Assert.Equal("02000000", Show(Selector(new Ipv6TrafficSelector())));
        Assert.True(new Ipv6TrafficSelector().Matches(default, default, 0, 0, IpProtocol.Icmpv6, false, 0, 0));
    }

    [Fact]
    public void The_flow_labels_twelve_high_bits_are_ignored_on_receipt()
    {
        Assert.True(Ipv6TrafficSelector.TryDecode(Hex("02 00 0200 FFF12345"), 0, out var decoded, out _));
        Assert.Equal(SelectorRange<uint>.Exactly(0x12345), decoded.FlowLabel);
    }

    [Fact]
    public void A_selector_matches_inside_its_bounds_only()
    {
        var cn = Ipv6Address.Parse("2001:db8:cc::7");
        var mn = Ipv6Address.Parse("2001:db8:a001::1234");
        var udp = WireSamples.UdpFlows;
        Assert.True(udp.Matches(cn, mn, 0x12345, 0, IpProtocol.Udp, true, 40000, 9050));
        Assert.False(udp.Matches(cn, mn, 0x12345, 0, IpProtocol.Udp, true, 40000, 9100)); // port past the range
        Assert.False(udp.Matches(cn, mn, 0x12346, 0, IpProtocol.Udp, true, 40000, 9050)); // other flow label
        Assert.False(udp.Matches(Ipv6Address.Parse("2001:db8:cc::100"), mn, 0x12345, 0, IpProtocol.Udp, true, 40000, 9050));
        Assert.False(udp.Matches(cn, mn, 0x12345, 0, IpProtocol.Tcp, true, 40000, 9050));
        Assert.False(udp.Matches(cn, mn, 0x12345, 0, IpProtocol.Udp, false, 0, 0)); // names ports: a port-less packet is outside
    }

    [Theory]
    [InlineData("02 00", DecodeErrorReason.ShortBuffer, "ts.header", 0)]
    [InlineData("01 00 8000", DecodeErrorReason.BadValue, "ts.format", 0)]
    [InlineData("02 00 4000 20010DB800CC00000000000000000001", DecodeErrorReason.BadValue, "ts.flags", 2)] // end source without start
    [InlineData("02 00 8000 20010DB800CC000000000000", DecodeErrorReason.ShortBuffer, "ts.source", 4)]
    [InlineData("02 00 0030 2328 2327", DecodeErrorReason.BadValue, "ts.destination_port", 6)] // end below start
    [InlineData("02 00 0002 06 00", DecodeErrorReason.BadLength, "ts.length", 5)] // an octet no flag accounts for
    [InlineData("02 00 0003 06", DecodeErrorReason.ShortBuffer, "ts.next_header", 5)]
    public void A_malformed_selector_is_refused_with_its_field(string hex, DecodeErrorReason reason, string field, int offset)
    {
        Assert.False(Ipv6TrafficSelector.TryDecode(Hex(hex), 0, out _, out var error));
        Assert.Equal(new DecodeError(reason, field, offset), error);
    }

    [Fact]
    public void Flow_mobility_initiate_is_an_update_notification_with_reason_8_and_flow_options()
    {
        // 0   MH header, sequence 31, reason 8 (FLOW-MOBILITY), A set
        // 12  MN-ID (20 octets)                       32  PadN(4), HNP 1 at 8n+4 = 36
        // 56  PadN(4), HNP 2 at 60                    80  Flow 1: FID 1, FID-PRI 1, TS + BID ref 5 + action 2 (modify)
        // 137 Pad1, Flow 2 at 138 (2n): FID 2, FID-PRI 2, TS + BID ref 5       197 PadN(3) to 200
        var golden = Hex($"""
            3B 18 13 00 0000 001F 08 80 0000
            {MnIdOption}
            01 02 0000 16 12 00 40 20010DB8A00100000000000000000000
            01 02 0000 16 12 00 40 20010DB8A00200000000000000000000
            2D 37 0001 0001 00 00 | 03 27 {TcpSelector} | 02 02 0005 | 04 02 00 02
            00
            2D 39 0002 0002 00 00 | 03 2D {UdpSelector} | 02 02 0005
            01 01 00
            """);
        var buffer = new byte[MobilityHeader.MaxLength];
        Assert.True(WireSamples.WriteFlowMobilityInitiate(buffer, 31, out var length));
        Assert.True(MobilityHeader.TryDecode(buffer.AsSpan(0, length), out var written, out _));
        Assert.True(written.VerifyChecksum(WireSamples.Lma, WireSamples.Mag2));
        buffer[4] = buffer[5] = 0; // the golden bytes leave the checksum to the kernel
        Assert.Equal(Show(golden), Show(buffer.AsSpan(0, length)));

        Assert.True(FlowMobilityInitiate.TryDecode(golden, out var fmi, out var error), error.ToString());
        Assert.Equal(31, fmi.Sequence);
        Assert.True(fmi.AcknowledgementRequested);
        Assert.Equal("mn1@pmip6.example", fmi.MobileNodeId.ToString());
        Assert.Equal(2, fmi.Options.HomeNetworkPrefixCount);
        Assert.Equal(2, fmi.FlowCount);
        var flows = FlowDescriptions.Of(fmi.Options);
        Assert.True(flows.MoveNext());
        Assert.Equal(1, flows.Current.FlowId);
        Assert.Equal(WireSamples.TcpFlow, flows.Current.Selector);
        Assert.Equal(FlowBindingAction.Modify, flows.Current.Action);
        Assert.Equal(1, flows.Current.BindingReferenceCount);
        Assert.Equal(5, flows.Current.BindingReference(0));
        Assert.True(flows.MoveNext());
        Assert.Equal(2, flows.Current.FlowId);
        Assert.Equal(138, flows.Current.Offset);
        Assert.Equal(WireSamples.UdpFlows, flows.Current.Selector);
        Assert.Null(flows.Current.Action);
        Assert.False(flows.MoveNext());
        Assert.False(flows.Error.IsError);
    }

    [Fact]
    public void Flow_mobility_acknowledgement_carries_each_flows_status()
    {
        // MN-ID at 12..31; Flow 1 at 32 (status 0), Flow 2 at 40 (status 133: selector format not supported).
        var golden = Hex($"3B 05 14 00 0000 001F 00 000000 {MnIdOption} 2D 06 0001 0001 00 00 2D 06 0002 0002 00 85");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.FlowMobilityAcknowledgement(buffer, 31, UpdateNotificationStatus.Success);
        w.MobileNodeIdentifier(WireSamples.MnId);
        w.Flow(1, 1, FlowIdentificationStatus.Success);
        w.Flow(2, 2, FlowIdentificationStatus.TrafficSelectorFormatNotSupported);
        Assert.True(w.TryFinish(out var length));
        Assert.Equal(Show(golden), Show(buffer.AsSpan(0, length)));

        Assert.True(FlowMobilityAcknowledgement.TryDecode(golden, out var fma, out var error), error.ToString());
        Assert.True(fma.IsSuccess);
        Assert.Equal(2, fma.FlowCount);
        var statuses = new List<FlowIdentificationStatus>();
        foreach (var flow in FlowDescriptions.Of(fma.Options))
            statuses.Add(flow.Status);
        Assert.Equal([FlowIdentificationStatus.Success, FlowIdentificationStatus.TrafficSelectorFormatNotSupported], statuses);
    }

    [Fact]
    public void Registry_values_match_iana()
    {
        Assert.Equal(8, (int)NotificationReason.FlowMobility);
        Assert.Equal(131, (int)UpdateNotificationStatus.ReasonUnspecified);
        Assert.Equal(132, (int)UpdateNotificationStatus.MobileNodeNotAttached);
        Assert.Equal(44, (int)MobilityOptionType.FlowSummary);
        Assert.Equal(45, (int)MobilityOptionType.FlowIdentification);
        Assert.Equal(3, (int)FlowSubOptionType.TrafficSelector);
        Assert.Equal(2, (int)TrafficSelectorFormat.Ipv6Binary);
    }

    [Fact]
    public void Another_notification_reason_is_not_a_flow_mobility_initiate()
    {
        Assert.Equal(new DecodeError(DecodeErrorReason.BadValue, "mh.upn.reason", 8), FmiError(Upn("2D 06 0001 0001 00 00", reason: 2)));
    }

    [Fact]
    public void Flow_mobility_initiate_without_mn_id_or_without_a_flow_is_refused()
    {
        Assert.Equal(new DecodeError(DecodeErrorReason.MissingMandatoryField, "flow.fmi.mn_id", 12), FmiError(Upn("2D 06 0001 0001 00 00", mnId: false)));
        Assert.Equal(new DecodeError(DecodeErrorReason.MissingMandatoryField, "flow.fmi.flow_id", 12), FmiError(Upn("")));
        var upa = Hex("3B 01 14 00 0000 001F 00 000000 | 01 02 0000");
        Assert.False(FlowMobilityAcknowledgement.TryDecode(upa, out _, out var error));
        Assert.Equal(new DecodeError(DecodeErrorReason.MissingMandatoryField, "flow.fma.mn_id", 12), error);
    }

    // The flow option sits at 16, its data at 18, its sub-options at 24.
    [Theory]
    [InlineData("2D 06 0000 0001 00 00", DecodeErrorReason.BadValue, "flow.id", 18)]
    [InlineData("2D 06 0001 0000 00 00", DecodeErrorReason.BadValue, "flow.priority", 20)]
    [InlineData("2D 09 0001 0001 00 00 02 05 00", DecodeErrorReason.LengthOverrun, "flow.sub_option.length", 25)]
    [InlineData("2D 07 0001 0001 00 00 02", DecodeErrorReason.ShortBuffer, "flow.sub_option.length", 24)]
    [InlineData("2D 09 0001 0001 00 00 02 01 05", DecodeErrorReason.BadLength, "flow.bid_reference", 25)]
    [InlineData("2D 08 0001 0001 00 00 02 00", DecodeErrorReason.BadLength, "flow.bid_reference", 25)]
    [InlineData("2D 09 0001 0001 00 00 03 01 02", DecodeErrorReason.ShortBuffer, "flow.traffic_selector", 25)]
    [InlineData("2D 0A 0001 0001 00 00 03 02 02 00", DecodeErrorReason.ShortBuffer, "ts.header", 26)]
    [InlineData("2D 0E 0001 0001 00 00 03 06 02 00 0002 06 00", DecodeErrorReason.BadLength, "ts.length", 31)]
    [InlineData("2D 09 0001 0001 00 00 04 01 01", DecodeErrorReason.BadLength, "flow.action", 25)]
    [InlineData("2D 10 0001 0001 00 00 05 08 0000 C0000201 0000", DecodeErrorReason.BadLength, "flow.target_coa", 25)]
    public void A_malformed_flow_option_is_refused_with_its_field(string option, DecodeErrorReason reason, string field, int offset)
    {
        Assert.Equal(new DecodeError(reason, field, offset), FmiError(Upn(option)));
    }

    [Fact]
    public void Padding_unknown_sub_options_and_other_selector_formats_are_not_fatal()
    {
        // Pad1, PadN(1), an unknown sub-option 200, an IPv4 selector (format 1), a target IPv4 CoA.
        var flow = OnlyFlow(Upn("2D 1C 0001 0001 00 81 | 00 | 01 01 00 | C8 02 ABCD | 03 04 01 00 8000 | 05 06 0000 C0000201"));
        Assert.Equal(1, flow.UnknownCount);
        Assert.Equal(200, flow.FirstUnknownType);
        Assert.Equal(TrafficSelectorFormat.Ipv4Binary, flow.SelectorFormat);
        Assert.Null(flow.Selector);
        Assert.Equal(FlowIdentificationStatus.RejectedReasonUnspecified, flow.Status);
        Assert.Equal(Show(Hex("C0000201")), Show(flow.TargetCareOfAddress));
    }

    [Fact]
    public void Of_repeated_single_sub_options_the_first_wins()
    {
        var flow = OnlyFlow(Upn("2D 16 0001 0001 00 00 | 04 02 00 01 | 04 02 00 03 | 02 02 0007 | 02 02 0008"));
        Assert.Equal(FlowBindingAction.Add, flow.Action);
        Assert.Equal(7, flow.BindingReference(0));
    }

    [Fact]
    public void The_writer_refuses_reserved_ids_and_selectors_the_decoder_would_refuse()
    {
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, 1);
        w.Flow(0, 1, FlowIdentificationStatus.Success);
        Assert.False(w.TryFinish(out _));
        w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, 1);
        w.Flow(1, 1, FlowIdentificationStatus.Success, new Ipv6TrafficSelector { SourcePort = SelectorRange<ushort>.Between(10, 9) });
        Assert.False(w.TryFinish(out _));
        w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, 1);
        w.Flow(1, 1, FlowIdentificationStatus.Success, new Ipv6TrafficSelector { FlowLabel = SelectorRange<uint>.Exactly(0x100000) });
        Assert.False(w.TryFinish(out _));
    }

    [Fact]
    public void The_wire_samples_carry_a_decodable_initiate_and_acknowledgement()
    {
        var samples = WireSamples.All().ToDictionary(s => s.Name);
        Assert.True(FlowMobilityInitiate.TryDecode(samples["update-notification-flow-mobility"].Packet.AsSpan(Ipv6Packet.HeaderLength), out var fmi, out var error), error.ToString());
        Assert.Equal(2, fmi.FlowCount);
        Assert.True(FlowMobilityAcknowledgement.TryDecode(samples["update-notification-acknowledgement"].Packet.AsSpan(Ipv6Packet.HeaderLength), out var fma, out error), error.ToString());
        Assert.Equal(2, fma.FlowCount);
    }
}
