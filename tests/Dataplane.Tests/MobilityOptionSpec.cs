// Each option in a PBU of its own; golden bytes from RFC 5213 §8.3-8.8, RFC 4283 §3, RFC 5847 §5.2,
// RFC 5648 §6.1, RFC 6089 §4, RFC 5094 §3 and RFC 5096, with the padding RFC 6275 §6.2 requires for
// each option's alignment (the fixed PBU part ends at offset 12).
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class MobilityOptionSpec
{
    private const string PbuHead = "0007 8200 0384";

    private static byte[] Pbu(int headerLen, string options) => Hex($"3B {headerLen:X2} 05 00 0000 {PbuHead} {options}");

    private delegate void Write(ref MobilityHeaderWriter w);

    private static string Encoded(Write write)
    {
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 7, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration, 900);
        write(ref w);
        Assert.True(w.TryFinish(out var length));
        return Show(buffer.AsSpan(0, length));
    }

    private static MobilityOptionSet Decode(byte[] golden)
    {
        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out var error), error.ToString());
        return bu.Options;
    }

    [Fact]
    public void Home_network_prefix_is_aligned_8n_plus_4()
    {
        // Offset 12 is already 8n+4: no padding before the option, none after (32 octets).
        var golden = Pbu(3, "16 12 00 40 20010DB8A0010000 0000000000000000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a001::/64"))));
        var options = Decode(golden);
        Assert.Equal(1, options.HomeNetworkPrefixCount);
        foreach (var hnp in options.OfType(MobilityOptionType.HomeNetworkPrefix))
            Assert.Equal(Ipv6Prefix.Parse("2001:db8:a001::/64"), HomeNetworkPrefixOption.Read(hnp.Data));
    }

    [Fact]
    public void Second_home_network_prefix_is_padded_back_to_8n_plus_4()
    {
        // First HNP 12..32, second must start at 36: PadN of 4 octets, then 36..56.
        var golden = Pbu(6, "16 12 00 40 20010DB8A0010000 0000000000000000 01 02 0000 16 12 00 40 20010DB8A0020000 0000000000000000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) =>
        {
            w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a001::/64"));
            w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a002::/64"));
        }));
        var prefixes = new List<Ipv6Prefix>();
        foreach (var hnp in Decode(golden).OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        Assert.Equal([Ipv6Prefix.Parse("2001:db8:a001::/64"), Ipv6Prefix.Parse("2001:db8:a002::/64")], prefixes);
    }

    [Fact]
    public void Handoff_indicator_and_access_technology_type_need_no_alignment()
    {
        var golden = Pbu(2, "17 02 00 03 | 18 02 00 04 | 01 02 0000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) =>
        {
            w.HandoffIndicator(HandoffIndicator.HandoffBetweenMagsForSameInterface);
            w.AccessTechnologyType(AccessTechnologyType.Ieee80211);
        }));
        var options = Decode(golden);
        Assert.Equal(HandoffIndicator.HandoffBetweenMagsForSameInterface, options.HandoffIndicator);
        Assert.Equal(AccessTechnologyType.Ieee80211, options.AccessTechnologyType);
    }

    [Fact]
    public void Timestamp_is_aligned_8n_plus_2_and_splits_seconds_and_fraction()
    {
        var golden = Pbu(3, "01 04 00000000 | 1B 08 0000 12345678 8000 | 01 02 0000");
        var stamp = new Pmip6Timestamp(0x0000_1234_5678_8000);
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.Timestamp(stamp)));
        var decoded = Decode(golden).Timestamp;
        Assert.Equal(stamp, decoded);
        Assert.Equal(0x12345678UL, decoded!.Value.Seconds);
        Assert.Equal(0x8000, decoded.Value.Fraction);
    }

    [Fact]
    public void Timestamp_converts_to_and_from_wall_clock_time()
    {
        var time = new DateTimeOffset(2026, 11, 25, 12, 0, 0, 500, TimeSpan.Zero);
        var stamp = Pmip6Timestamp.FromDateTimeOffset(time);
        Assert.Equal(1795608000UL, stamp.Seconds);
        Assert.Equal(0x8000, stamp.Fraction);
        Assert.Equal(time, stamp.ToDateTimeOffset());
        var later = Pmip6Timestamp.FromDateTimeOffset(time.AddMilliseconds(250));
        Assert.Equal(250, later.Subtract(stamp).TotalMilliseconds, 1);
        Assert.Equal(-250, stamp.Subtract(later).TotalMilliseconds, 1);
    }

    [Fact]
    public void Link_local_address_is_aligned_8n_plus_6()
    {
        var golden = Pbu(3, "01 00 | 1A 10 FE800000000000000000000000000001");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.LinkLocalAddress(Ipv6Address.Parse("fe80::1"))));
        Assert.Equal(Ipv6Address.Parse("fe80::1"), Decode(golden).LinkLocalAddress);
    }

    [Fact]
    public void Mobile_node_link_layer_identifier_keeps_its_reserved_octets()
    {
        var golden = Pbu(3, "01 04 00000000 | 19 08 0000 020000000101 | 01 02 0000");
        byte[] mac = [0x02, 0, 0, 0, 0x01, 0x01];
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.MobileNodeLinkLayerIdentifier(mac)));
        Assert.True(Decode(golden).TryGetLinkLayerIdentifier(out var identifier));
        Assert.Equal(mac, identifier.ToArray());
    }

    [Fact]
    public void Binding_identifier_without_care_of_address()
    {
        var golden = Pbu(2, "23 04 0005 00 83 | 01 04 00000000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.BindingIdentifier(5, 0, 0x83)));
        Assert.True(Decode(golden).TryGetBindingIdentifier(out var bid));
        Assert.Equal(5, bid.Id);
        Assert.Equal(0x83, bid.Flags);
        Assert.Equal(3, bid.Priority);
        Assert.True(bid.CareOfAddress.IsEmpty);
    }

    [Fact]
    public void Binding_identifier_with_ipv6_care_of_address_is_aligned_8n_plus_2()
    {
        var golden = Pbu(4, "01 04 00000000 | 23 14 0005 00 00 20010DB8000100000000000000000002");
        var coa = new byte[16];
        Ipv6Address.Parse("2001:db8:1::2").Write(coa);
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.BindingIdentifier(5, 0, 0, coa)));
        Assert.True(Decode(golden).TryGetBindingIdentifier(out var bid));
        Assert.Equal(coa, bid.CareOfAddress.ToArray());
    }

    [Fact]
    public void Flow_summary_and_flow_identification_follow_rfc_6089()
    {
        var golden = Pbu(3, "2C 04 0001 0002 | 2D 06 0001 000A 00 00 | 01 04 00000000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) =>
        {
            w.FlowSummary([1, 2]);
            w.FlowIdentification(1, 10, 0);
        }));
        var options = Decode(golden);
        Assert.True(options.TryGetFlowSummary(out var summary));
        Assert.Equal(2, summary.Count);
        Assert.Equal(2, summary[1]);
        Assert.True(options.TryGetFlowIdentification(out var flow));
        Assert.Equal(1, flow.FlowId);
        Assert.Equal(10, flow.Priority);
        Assert.Equal(0, flow.Status);
    }

    [Fact]
    public void Vendor_specific_option_is_aligned_4n_plus_2()
    {
        var golden = Pbu(2, "01 00 | 13 07 00007ED9 01 4142 | 00");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.VendorSpecific(32473, 1, "AB"u8)));
        Assert.True(Decode(golden).TryGetVendorSpecific(out var vendor));
        Assert.Equal(32473u, vendor.VendorId);
        Assert.Equal(1, vendor.SubType);
        Assert.Equal("AB"u8.ToArray(), vendor.Data.ToArray());
    }

    [Fact]
    public void Unknown_options_are_skipped_by_length_and_reported()
    {
        // Option type 200 (unassigned) of 3 octets between an MN-ID and a Handoff Indicator.
        var golden = Pbu(3, "08 02 01 61 | C8 03 010203 | 17 02 00 01 | 01 05 0000000000");
        var options = Decode(golden);
        Assert.Equal(1, options.UnknownCount);
        Assert.Equal(200, options.FirstUnknownType);
        Assert.Equal(3, options.Count);
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, options.HandoffIndicator);
        var types = new List<byte>();
        foreach (var option in options)
            types.Add(option.Type);
        Assert.Equal([8, 200, 23], types);
    }

    [Fact]
    public void Absent_options_read_as_absent()
    {
        var options = Decode(Pbu(1, "01 02 0000"));
        Assert.Null(options.HandoffIndicator);
        Assert.Null(options.Timestamp);
        Assert.Null(options.RestartCounter);
        Assert.False(options.TryGetMobileNodeIdentifier(out _));
        Assert.Equal(0, options.Count);
    }
}
