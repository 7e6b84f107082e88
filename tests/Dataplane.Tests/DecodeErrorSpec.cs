// Every malformed input yields a typed error naming the field and the reason; nothing throws.
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class DecodeErrorSpec
{
    private static DecodeError BuError(string hex, DecodeLimits? limits = null)
    {
        Assert.False(BindingUpdate.TryDecode(Hex(hex), out _, out var error, limits));
        return error;
    }

    [Fact]
    public void A_buffer_shorter_than_the_common_header_is_a_short_buffer()
    {
        var error = BuError("3B 00 05 00 00");
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
        Assert.Equal("mh.header", error.Field);
    }

    [Fact]
    public void Header_len_beyond_the_buffer_is_a_length_overrun()
    {
        var error = BuError("3B 05 05 00 0000 | 0007 8200 0384 | 01 02 0000");
        Assert.Equal(DecodeErrorReason.LengthOverrun, error.Reason);
        Assert.Equal("mh.header_len", error.Field);
        Assert.Equal(1, error.Offset);
    }

    [Fact]
    public void Header_len_too_small_for_the_message_type_is_refused()
    {
        var error = BuError("3B 00 05 00 0000 | 0007");
        Assert.Equal(DecodeErrorReason.BadLength, error.Reason);
        Assert.Equal("mh.header_len", error.Field);
    }

    [Fact]
    public void Payload_proto_other_than_ipproto_none_is_refused()
    {
        var error = BuError("06 01 05 00 0000 | 0007 8200 0384 | 01 02 0000");
        Assert.Equal(DecodeErrorReason.BadValue, error.Reason);
        Assert.Equal("mh.payload_proto", error.Field);
    }

    [Fact]
    public void Unknown_mh_type_is_an_unknown_mandatory_field()
    {
        Assert.False(MobilityHeader.TryDecode(Hex("3B 00 63 00 0000 0000"), out _, out var error));
        Assert.Equal(DecodeErrorReason.UnknownMandatoryField, error.Reason);
        Assert.Equal("mh.type", error.Field);
    }

    [Fact]
    public void An_option_longer_than_the_header_is_a_length_overrun_not_an_over_read()
    {
        // MN-ID claims 40 octets; only 2 remain.
        var error = BuError("3B 01 05 00 0000 | 0007 8200 0384 | 08 28 01 61");
        Assert.Equal(DecodeErrorReason.LengthOverrun, error.Reason);
        Assert.Equal("mh.option.mn_id", error.Field);
        Assert.Equal(13, error.Offset);
    }

    [Fact]
    public void An_option_type_in_the_last_octet_has_no_length_field()
    {
        var error = BuError("3B 01 05 00 0000 | 0007 8200 0384 | 00 00 00 17");
        Assert.Equal(DecodeErrorReason.ShortBuffer, error.Reason);
        Assert.Equal("mh.option.length", error.Field);
        Assert.Equal(15, error.Offset);
    }

    [Theory]
    [InlineData("16 11 00 40 20010DB8A0010000 00000000000000", "mh.option.hnp")]
    [InlineData("17 01 00", "mh.option.handoff_indicator")]
    [InlineData("18 03 00 03 00", "mh.option.att")]
    [InlineData("08 00", "mh.option.mn_id")]
    [InlineData("23 05 0001 00 00 00", "mh.option.binding_id")]
    [InlineData("1B 07 00 00 00 00 00 00 00", "mh.option.timestamp")]
    [InlineData("1A 0F FE80000000000000000000000000 00", "mh.option.link_local_address")]
    public void A_fixed_size_option_with_another_length_is_a_bad_length(string options, string field)
    {
        var length = Hex(options).Length;
        var pad1 = string.Concat(Enumerable.Repeat("00", (8 - (12 + length) % 8) % 8)); // trailing Pad1s
        var hex = $"3B {((12 + length + pad1.Length / 2) / 8 - 1):X2} 05 00 0000 | 0007 8200 0384 | {options} {pad1}";
        var error = BuError(hex);
        Assert.Equal(DecodeErrorReason.BadLength, error.Reason);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void A_misaligned_home_network_prefix_is_refused()
    {
        // HNP at offset 14 (8n+6) instead of 8n+4.
        var error = BuError("3B 04 05 00 0000 | 0007 8200 0384 | 01 00 | 16 12 00 40 20010DB8A0010000 0000000000000000 | 01 04 00000000");
        Assert.Equal(DecodeErrorReason.BadAlignment, error.Reason);
        Assert.Equal("mh.option.hnp", error.Field);
        Assert.Equal(14, error.Offset);
    }

    [Fact]
    public void Alignment_checking_can_be_switched_off_for_lenient_peers()
    {
        var hex = "3B 04 05 00 0000 | 0007 8200 0384 | 01 00 | 16 12 00 40 20010DB8A0010000 0000000000000000 | 01 04 00000000";
        Assert.True(BindingUpdate.TryDecode(Hex(hex), out var bu, out _, new DecodeLimits { EnforceOptionAlignment = false }));
        Assert.Equal(1, bu.Options.HomeNetworkPrefixCount);
    }

    [Fact]
    public void A_prefix_length_over_128_is_a_bad_value()
    {
        var error = BuError("3B 03 05 00 0000 | 0007 8200 0384 | 16 12 00 81 20010DB8A0010000 0000000000000000");
        Assert.Equal(DecodeErrorReason.BadValue, error.Reason);
        Assert.Equal("mh.option.hnp.prefix_length", error.Field);
    }

    [Fact]
    public void More_options_than_the_limit_are_refused()
    {
        var error = BuError("3B 02 05 00 0000 | 0007 8200 0384 | 17 02 00 01 | 17 02 00 01 | 17 02 00 01 | 01 02 0000",
            new DecodeLimits { MaxMobilityOptions = 2 });
        Assert.Equal(DecodeErrorReason.LimitExceeded, error.Reason);
        Assert.Equal("mh.options", error.Field);
    }

    [Fact]
    public void Decode_errors_read_as_sentences_for_the_log()
    {
        var error = new DecodeError(DecodeErrorReason.LengthOverrun, "mh.option.mn_id", 13);
        Assert.Equal("length-overrun in mh.option.mn_id at offset 13", error.ToString());
        Assert.Equal("length-overrun", error.ReasonName);
    }
}
