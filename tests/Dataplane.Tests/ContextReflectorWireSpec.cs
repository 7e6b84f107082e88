// Context Reflector sub-formats (docs/PROTOCOL.md, "Context Reflector sub-formats"): golden bytes
// written by hand from the figures there, typed errors for every bad item, and what is not ours
// skipped and counted.
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class ContextReflectorWireSpec
{
    private const string PbuHead = "0007 8200 0384";
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");

    private static byte[] Pbu(int headerLen, string options) => Hex($"3B {headerLen:X2} 05 00 0000 {PbuHead} {options}");

    private delegate void Write(ref MobilityHeaderWriter w);

    private static string Encoded(Write write)
    {
        var buffer = new byte[512];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 7, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration, 900);
        write(ref w);
        Assert.True(w.TryFinish(out var length));
        return Show(buffer.AsSpan(0, length));
    }

    private static ContextSummary Summary(byte[] golden, ContextLimits? limits = null)
    {
        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out var error), error.ToString());
        Assert.True(ContextItems.TrySummarize(bu.Options, out var summary, out error, limits), error.ToString());
        return summary;
    }

    private static DecodeError SummaryError(byte[] golden, ContextLimits? limits = null)
    {
        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out var error), error.ToString());
        Assert.False(ContextItems.TrySummarize(bu.Options, out _, out error, limits));
        Assert.True(error.IsError);
        return error;
    }

    [Fact]
    public void Next_mag_address_is_sub_type_1_with_sixteen_octets()
    {
        // Option at 12: 12 11 | 01 | address (16) ends at 31; Pad1 to 32.
        var golden = Pbu(3, "12 11 01 20010DB8000200000000000000000002 00");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.ContextNextMag(Mag2)));
        var summary = Summary(golden);
        Assert.Equal(Mag2, summary.NextMag);
        Assert.Equal(1, summary.Items);
        Assert.Equal(0, summary.ContextLength);
    }

    [Fact]
    public void Context_data_is_sub_type_2_with_a_feature_and_an_opaque_blob()
    {
        // 12 06 | 02 | feature 02 (QoS) | 4 octets; ends at 20, PadN(4) to 24.
        var golden = Pbu(2, "12 06 02 02 00002710 01 02 0000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.ContextData(ContextFeature.QosProfile, [0x00, 0x00, 0x27, 0x10])));
        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out _));
        var items = ContextItems.Of(bu.Options);
        Assert.True(items.MoveNext());
        Assert.Equal(ContextItemType.ContextData, items.Current.Type);
        Assert.Equal(ContextFeature.QosProfile, items.Current.Feature);
        Assert.Equal("00002710", Show(items.Current.Blob));
        Assert.Equal(12, items.Current.Offset);
        Assert.False(items.MoveNext());
        Assert.False(items.Error.IsError);
        Assert.Equal(4, items.ContextLength);
    }

    [Fact]
    public void An_empty_context_data_blob_is_just_the_feature()
    {
        var golden = Pbu(1, "12 02 02 04");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.ContextData(ContextFeature.HeaderCompressionState, [])));
        Assert.Equal(1, Summary(golden).ContextDataItems);
    }

    [Fact]
    public void Context_lifetime_is_sub_type_3_with_32_bit_seconds()
    {
        var golden = Pbu(2, "12 05 03 0000000A 01 03 000000");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) => w.ContextLifetime(10)));
        Assert.Equal(10u, Summary(golden).LifetimeSeconds);
    }

    [Fact]
    public void Sequence_echo_is_sub_type_4_and_reflection_status_sub_type_5()
    {
        var golden = Pbu(2, "12 03 04 000C 12 02 05 82 01 01 00");
        Assert.Equal(Show(golden), Encoded((ref MobilityHeaderWriter w) =>
        {
            w.ContextSequence(12);
            w.ContextStatus(ContextReflectionStatus.InsufficientResources);
        }));
        var summary = Summary(golden);
        Assert.Equal((ushort)12, summary.Sequence);
        Assert.Equal(ContextReflectionStatus.InsufficientResources, summary.Status);
    }

    [Fact]
    public void Context_reflection_golden_bytes()
    {
        // MH: 3B 07 0B 00 | checksum 0000 | Kind 01 Version 01
        // 8:  MN-ID 08 04 01 "mn1"                              -> 14
        // 14: PadN(6) so the HNP starts at 8n+4 = 20             -> 20
        // 20: HNP 16 12 00 40 2001:db8:a001::                    -> 40
        // 40: Sequence Echo 12 03 04 000C                        -> 45
        // 45: Context Lifetime 12 05 03 0000000A                 -> 52
        // 52: Context Data 12 04 02 01 "ok"                      -> 58
        // 58: PadN(6) to 64
        var golden = Hex("3B 07 0B 00 0000 01 01 | 08 04 01 6D6E31 | 01 04 00000000 | 16 12 00 40 20010DB8A0010000 0000000000000000"
                         + "| 12 03 04 000C | 12 05 03 0000000A | 12 04 02 01 6F6B | 01 04 00000000");
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.ContextReflection(buffer);
        w.MobileNodeIdentifier("mn1"u8);
        w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a001::/64"));
        w.ContextSequence(12);
        w.ContextLifetime(10);
        w.ContextData(ContextFeature.AaaSessionState, "ok"u8);
        Assert.True(w.TryFinish(out var length));
        Assert.Equal(Show(golden), Show(buffer.AsSpan(0, length)));

        Assert.True(ContextReflection.TryDecode(golden, out var reflection, out var error), error.ToString());
        Assert.Equal("mn1", reflection.MobileNodeId.ToString());
        Assert.Equal((ushort)12, reflection.Sequence);
        Assert.Equal(10u, reflection.LifetimeSeconds);
        Assert.Equal(1, reflection.Context.ContextDataItems);
        Assert.Equal(1, reflection.Options.HomeNetworkPrefixCount);
        foreach (var item in ContextItems.Of(reflection.Options))
            if (item.Type == ContextItemType.ContextData)
                Assert.Equal("ok"u8.ToArray(), item.Blob.ToArray());
    }

    [Fact]
    public void Context_reflection_acknowledgement_golden_bytes()
    {
        // 8: MN-ID -> 14 | Sequence Echo -> 19 | Status -> 23 | Pad1 -> 24
        var golden = Hex("3B 02 0B 00 0000 02 01 | 08 04 01 6D6E31 | 12 03 04 000C | 12 02 05 00 | 00");
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.ContextReflectionAcknowledgement(buffer);
        w.MobileNodeIdentifier("mn1"u8);
        w.ContextSequence(12);
        w.ContextStatus(ContextReflectionStatus.Accepted);
        Assert.True(w.TryFinish(out var length));
        Assert.Equal(Show(golden), Show(buffer.AsSpan(0, length)));

        Assert.True(ContextReflectionAcknowledgement.TryDecode(golden, out var ack, out var error), error.ToString());
        Assert.Equal("mn1", ack.MobileNodeId.ToString());
        Assert.Equal((ushort)12, ack.Sequence);
        Assert.True(ack.IsAccepted);
    }

    [Fact]
    public void The_sample_de_registration_carries_the_next_mag_and_four_features()
    {
        var sample = WireSamples.All().Single(s => s.Name == "pbu-deregistration-context");
        Assert.True(BindingUpdate.TryDecode(sample.Packet.AsSpan(Ipv6Packet.HeaderLength), out var bu, out var error), error.ToString());
        Assert.True(bu.IsDeregistration);
        Assert.True(ContextItems.TrySummarize(bu.Options, out var summary, out error), error.ToString());
        Assert.Equal(WireSamples.Mag2, summary.NextMag);
        Assert.Equal(4, summary.ContextDataItems);
        var features = new List<ContextFeature>();
        foreach (var item in ContextItems.Of(bu.Options))
            if (item.Type == ContextItemType.ContextData)
                features.Add(item.Feature);
        Assert.Equal([ContextFeature.AaaSessionState, ContextFeature.QosProfile, ContextFeature.AccountingCounters, ContextFeature.HeaderCompressionState], features);
    }

    // ---- errors ------------------------------------------------------------------------------

    [Fact]
    public void A_truncated_next_mag_is_a_short_buffer_naming_the_item()
    {
        var error = SummaryError(Pbu(2, "12 05 01 20010DB8 | 01 03 000000"));
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
        Assert.Equal("ctx.next_mag", error.Field);
        Assert.Equal(13, error.Offset);
    }

    [Fact]
    public void A_lifetime_or_sequence_of_the_wrong_size_is_refused()
    {
        Assert.Equal(DecodeErrorReason.BadLength, SummaryError(Pbu(2, "12 06 03 0000000A00 01 02 0000")).Reason);
        var error = SummaryError(Pbu(1, "12 02 04 00"));
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
        Assert.Equal("ctx.sequence", error.Field);
        Assert.Equal(DecodeErrorReason.ShortBuffer, SummaryError(Pbu(1, "12 01 05 00")).Reason);
    }

    [Fact]
    public void Context_data_without_its_feature_octet_is_a_short_buffer()
    {
        var error = SummaryError(Pbu(1, "12 01 02 00"));
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
        Assert.Equal("ctx.data.feature", error.Field);
    }

    [Fact]
    public void Blob_item_count_and_total_context_limits_are_enforced()
    {
        var golden = Pbu(4, "12 06 02 01 AABBCCDD | 12 06 02 02 AABBCCDD | 12 06 02 03 AABBCCDD | 01 02 0000");
        Assert.Equal(12, Summary(golden).ContextLength);

        var blob = SummaryError(golden, new ContextLimits { MaxBlobLength = 3 });
        Assert.Equal((DecodeErrorReason.LimitExceeded, "ctx.data"), (blob.Reason, blob.Field));
        var total = SummaryError(golden, new ContextLimits { MaxContextLength = 8 });
        Assert.Equal((DecodeErrorReason.LimitExceeded, "ctx.context_length", 28), (total.Reason, total.Field, total.Offset));
        var items = SummaryError(golden, new ContextLimits { MaxItems = 2 });
        Assert.Equal((DecodeErrorReason.LimitExceeded, "ctx.items"), (items.Reason, items.Field));
    }

    [Fact]
    public void Experimental_options_that_are_not_ours_are_skipped_and_counted()
    {
        // "ctx" (sub-type 0x63), an empty option, sub-type 0 and sub-type 6, then a valid sequence echo.
        var golden = Pbu(3, "12 03 637478 | 12 00 | 12 01 00 | 12 02 06 FF | 12 03 04 0102 | 00");
        var summary = Summary(golden);
        Assert.Equal(4, summary.UnknownCount);
        Assert.Equal(0x63, summary.FirstUnknownSubType);
        Assert.Equal(1, summary.Items);
        Assert.Equal((ushort)0x0102, summary.Sequence);
    }

    [Fact]
    public void A_reflection_without_its_mandatory_parts_is_refused_by_name()
    {
        DecodeError Refused(Write write)
        {
            var buffer = new byte[256];
            var w = MobilityHeaderWriter.ContextReflection(buffer);
            write(ref w);
            Assert.True(w.TryFinish(out var length));
            Assert.False(ContextReflection.TryDecode(buffer.AsSpan(0, length), out _, out var error));
            return error;
        }
        Assert.Equal("ctx.reflection.mn_id", Refused((ref MobilityHeaderWriter w) => w.ContextSequence(1)).Field);
        Assert.Equal("ctx.reflection.hnp", Refused((ref MobilityHeaderWriter w) => w.MobileNodeIdentifier("mn1"u8)).Field);
        var noSequence = Refused((ref MobilityHeaderWriter w) =>
        {
            w.MobileNodeIdentifier("mn1"u8);
            w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a001::/64"));
            w.ContextLifetime(5);
        });
        Assert.Equal((DecodeErrorReason.MissingMandatoryField, "ctx.sequence"), (noSequence.Reason, noSequence.Field));
        Assert.Equal("missing-mandatory-field", noSequence.ReasonName);
        var noLifetime = Refused((ref MobilityHeaderWriter w) =>
        {
            w.MobileNodeIdentifier("mn1"u8);
            w.HomeNetworkPrefix(Ipv6Prefix.Parse("2001:db8:a001::/64"));
            w.ContextSequence(5);
        });
        Assert.Equal("ctx.lifetime", noLifetime.Field);
    }

    [Fact]
    public void Another_kind_or_version_in_the_envelope_is_not_a_reflection()
    {
        var ack = Hex("3B 02 0B 00 0000 02 01 | 08 04 01 6D6E31 | 12 03 04 000C | 12 02 05 00 | 00");
        Assert.False(ContextReflection.TryDecode(ack, out _, out var error));
        Assert.Equal((DecodeErrorReason.BadValue, "mh.experimental.kind", 6), (error.Reason, error.Field, error.Offset));
        var v2 = (byte[])ack.Clone();
        v2[7] = 2;
        Assert.False(ContextReflectionAcknowledgement.TryDecode(v2, out _, out error));
        Assert.Equal((DecodeErrorReason.BadValue, "mh.experimental.version", 7), (error.Reason, error.Field, error.Offset));
        var noStatus = Hex("3B 02 0B 00 0000 02 01 | 08 04 01 6D6E31 | 12 03 04 000C | 01 03 000000");
        Assert.False(ContextReflectionAcknowledgement.TryDecode(noStatus, out _, out error));
        Assert.Equal("ctx.status", error.Field);
    }

    [Fact]
    public void The_writer_refuses_a_blob_longer_than_one_option_holds()
    {
        var buffer = new byte[1024];
        var w = MobilityHeaderWriter.ContextReflection(buffer);
        w.ContextData(ContextFeature.QosProfile, new byte[254]);
        Assert.False(w.TryFinish(out _));
        var fits = MobilityHeaderWriter.ContextReflection(buffer);
        fits.ContextData(ContextFeature.QosProfile, new byte[253]);
        Assert.True(fits.TryFinish(out var length));
        Assert.Equal(272, length); // 8 + option (2 + sub-type + feature + 253 = 257), padded to 8n
    }
}
