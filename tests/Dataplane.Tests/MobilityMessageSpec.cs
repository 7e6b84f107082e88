// Golden bytes below are written out by hand from the message figures of RFC 6275 §6.1, RFC 5213 §8,
// RFC 5847 §5, RFC 5846 §6, RFC 7077 §4 and RFC 5096, never produced by our encoder.
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class MobilityMessageSpec
{
    private static readonly byte[] MnId = "mn1"u8.ToArray();
    private const BindingUpdateFlags AP = BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration;

    private static byte[] Encode(MobilityHeaderWriter writer, Span<byte> buffer)
    {
        Assert.True(writer.TryFinish(out var length));
        return buffer[..length].ToArray();
    }

    [Fact]
    public void Proxy_binding_update_with_mn_identifier_matches_rfc_layout()
    {
        var golden = Hex("3B 02 05 00 0000 | 0007 8200 0384 | 08 04 01 6D6E31 | 01 04 00000000");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 7, AP, 900);
        w.MobileNodeIdentifier(MnId);
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));

        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out var error), error.ToString());
        Assert.Equal(7, bu.Sequence);
        Assert.True(bu.IsProxy);
        Assert.Equal(AP, bu.Flags);
        Assert.Equal(TimeSpan.FromSeconds(3600), bu.Lifetime);
        Assert.True(bu.Options.TryGetMobileNodeIdentifier(out var id));
        Assert.Equal(MobileNodeIdentifierSubtype.Nai, id.Subtype);
        Assert.Equal("mn1", id.ToString());
        Assert.Equal(1, bu.Options.Count);
    }

    [Fact]
    public void Binding_update_flags_sit_where_rfc_6275_and_5213_put_them()
    {
        var golden = Hex("3B 01 05 00 0000 | 0001 FFC0 0000 | 01 02 0000");
        Assert.True(BindingUpdate.TryDecode(golden, out var bu, out _));
        Assert.Equal(BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.LinkLocalCompatibility
            | BindingUpdateFlags.KeyManagementCompatibility | BindingUpdateFlags.MapRegistration | BindingUpdateFlags.MobileRouter
            | BindingUpdateFlags.ProxyRegistration | BindingUpdateFlags.ForcedUdpEncapsulation | BindingUpdateFlags.TlvHeaderFormat
            | BindingUpdateFlags.BulkRegistration, bu.Flags);
        Assert.True(bu.IsDeregistration);
    }

    [Fact]
    public void Proxy_binding_acknowledgement_matches_rfc_layout()
    {
        var golden = Hex("3B 02 06 00 0000 | 00 20 0007 0384 | 08 04 01 6D6E31 | 01 04 00000000");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.BindingAcknowledgement(buffer, BindingAcknowledgementStatus.Accepted, BindingAcknowledgementFlags.ProxyRegistration, 7, 900);
        w.MobileNodeIdentifier(MnId);
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));

        Assert.True(BindingAcknowledgement.TryDecode(golden, out var ba, out var error), error.ToString());
        Assert.Equal(BindingAcknowledgementStatus.Accepted, ba.Status);
        Assert.True(ba.IsProxy);
        Assert.True(ba.IsAccepted);
        Assert.Equal(7, ba.Sequence);
        Assert.Equal(900, ba.LifetimeUnits);
    }

    [Theory]
    [InlineData(BindingAcknowledgementStatus.TimestampMismatch, "9C")]
    [InlineData(BindingAcknowledgementStatus.MagNotAuthorizedForProxyRegistration, "9A")]
    [InlineData(BindingAcknowledgementStatus.MissingAccessTechnologyTypeOption, "A2")]
    public void Rejecting_pba_carries_its_status_code(BindingAcknowledgementStatus status, string hex)
    {
        var golden = Hex($"3B 01 06 00 0000 | {hex} 20 0009 0000 | 01 02 0000");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.BindingAcknowledgement(buffer, status, BindingAcknowledgementFlags.ProxyRegistration, 9, 0);
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));
        Assert.True(BindingAcknowledgement.TryDecode(golden, out var ba, out _));
        Assert.Equal(status, ba.Status);
        Assert.False(ba.IsAccepted);
    }

    [Fact]
    public void Binding_error_matches_rfc_layout()
    {
        var golden = Hex("3B 02 07 00 0000 | 02 00 | 20010DB8A0010000 0000000000000001");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.BindingError(buffer, 2, Ipv6Address.Parse("2001:db8:a001::1"));
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));
        Assert.True(MobilityHeader.TryDecode(golden, out var mh, out _));
        Assert.True(BindingError.TryDecode(mh, out var be, out _));
        Assert.Equal(2, be.Status);
        Assert.Equal(Ipv6Address.Parse("2001:db8:a001::1"), be.HomeAddress);
    }

    [Fact]
    public void Heartbeat_response_with_restart_counter_matches_rfc_5847()
    {
        // Restart Counter alignment 4n+2: a 2-octet PadN at 12, the option at 14, PadN to 24.
        var golden = Hex("3B 02 0D 00 0000 | 00 01 0000002A | 01 00 | 1C 04 00000003 | 01 02 0000");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.Heartbeat(buffer, response: true, 42);
        w.RestartCounter(3);
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));
        Assert.True(MobilityHeader.TryDecode(golden, out var mh, out _));
        Assert.True(Heartbeat.TryDecode(mh, out var hb, out _));
        Assert.True(hb.IsResponse);
        Assert.False(hb.IsUnsolicited);
        Assert.Equal(42u, hb.Sequence);
        Assert.Equal(3u, hb.Options.RestartCounter);
    }

    [Fact]
    public void Binding_revocation_indication_and_acknowledgement_match_rfc_5846()
    {
        var bri = Hex("3B 01 10 00 0000 | 01 01 0015 8000 | 01 02 0000");
        var bra = Hex("3B 01 10 00 0000 | 02 00 0015 8000 | 01 02 0000");
        var buffer = new byte[64];
        Assert.Equal(Show(bri), Show(Encode(MobilityHeaderWriter.BindingRevocationIndication(buffer, RevocationTrigger.AdministrativeReason, 21, BindingRevocation.ProxyFlag), buffer)));
        Assert.Equal(Show(bra), Show(Encode(MobilityHeaderWriter.BindingRevocationAcknowledgement(buffer, BindingRevocationStatus.Success, 21, BindingRevocation.ProxyFlag), buffer)));

        Assert.True(MobilityHeader.TryDecode(bri, out var mh, out _));
        Assert.True(BindingRevocation.TryDecode(mh, out var indication, out _));
        Assert.True(indication.IsIndication);
        Assert.True(indication.IsProxy);
        Assert.False(indication.IsGlobal);
        Assert.Equal(RevocationTrigger.AdministrativeReason, indication.Trigger);
        Assert.Equal(21, indication.Sequence);

        Assert.True(MobilityHeader.TryDecode(bra, out mh, out _));
        Assert.True(BindingRevocation.TryDecode(mh, out var ack, out _));
        Assert.False(ack.IsIndication);
        Assert.Equal(BindingRevocationStatus.Success, ack.Status);
    }

    [Fact]
    public void Global_revocation_flag_is_the_third_bit()
    {
        var bri = Hex("3B 01 10 00 0000 | 01 07 0001 A000 | 01 02 0000");
        Assert.True(MobilityHeader.TryDecode(bri, out var mh, out _));
        Assert.True(BindingRevocation.TryDecode(mh, out var message, out _));
        Assert.True(message.IsGlobal);
        Assert.True(message.IsProxy);
        Assert.Equal(RevocationTrigger.PossibleOutOfSyncBceState, message.Trigger);
    }

    [Fact]
    public void Unknown_binding_revocation_type_is_refused()
    {
        var bri = Hex("3B 01 10 00 0000 | 03 01 0015 8000 | 01 02 0000");
        Assert.True(MobilityHeader.TryDecode(bri, out var mh, out _));
        Assert.False(BindingRevocation.TryDecode(mh, out _, out var error));
        Assert.Equal(DecodeErrorReason.UnknownMandatoryField, error.Reason);
        Assert.Equal("mh.binding_revocation.type", error.Field);
    }

    [Fact]
    public void Update_notification_and_acknowledgement_match_rfc_7077()
    {
        var upn = Hex("3B 01 13 00 0000 | 001F 08 80 0000 | 01 02 0000");
        var upa = Hex("3B 01 14 00 0000 | 001F 00 000000 | 01 02 0000");
        var buffer = new byte[64];
        Assert.Equal(Show(upn), Show(Encode(MobilityHeaderWriter.UpdateNotification(buffer, 31, NotificationReason.FlowMobility, UpdateNotification.AcknowledgeFlag), buffer)));
        Assert.Equal(Show(upa), Show(Encode(MobilityHeaderWriter.UpdateNotificationAcknowledgement(buffer, 31, UpdateNotificationStatus.Success), buffer)));

        Assert.True(MobilityHeader.TryDecode(upn, out var mh, out _));
        Assert.True(UpdateNotification.TryDecode(mh, out var notification, out _));
        Assert.Equal(NotificationReason.FlowMobility, notification.Reason);
        Assert.True(notification.AcknowledgementRequested);
        Assert.Equal(31, notification.Sequence);

        Assert.True(MobilityHeader.TryDecode(upa, out mh, out _));
        Assert.True(UpdateNotificationAcknowledgement.TryDecode(mh, out var ack, out _));
        Assert.Equal(UpdateNotificationStatus.Success, ack.Status);
    }

    [Fact]
    public void Experimental_message_carries_our_kind_version_and_options()
    {
        var golden = Hex("3B 01 0B 00 0000 | 01 01 | 12 02 ABCD | 01 02 0000");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.Experimental(buffer, 1, 1);
        w.ExperimentalOption([0xAB, 0xCD]);
        Assert.Equal(Show(golden), Show(Encode(w, buffer)));
        Assert.True(MobilityHeader.TryDecode(golden, out var mh, out _));
        Assert.True(ExperimentalMessage.TryDecode(mh, out var message, out _));
        Assert.Equal(1, message.Kind);
        Assert.True(message.Options.TryGetExperimental(out var data));
        Assert.Equal(new byte[] { 0xAB, 0xCD }, data.ToArray());
    }

    [Fact]
    public void Checksum_covers_the_pseudo_header_and_verifies_against_a_reference()
    {
        var source = Ipv6Address.Parse("2001:db8:1::2");
        var destination = Ipv6Address.Parse("2001:db8:100::1");
        var buffer = new byte[64];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 7, AP, 900);
        w.MobileNodeIdentifier(MnId);
        Assert.True(w.TryFinish(source, destination, out var length));
        var mh = buffer[..length];
        var unchecked_ = (byte[])mh.Clone();
        unchecked_[4] = unchecked_[5] = 0;
        var s = new byte[16]; source.Write(s);
        var d = new byte[16]; destination.Write(d);
        var expected = ReferenceChecksum(s, d, 135, unchecked_);
        Assert.Equal(expected, (ushort)(mh[4] << 8 | mh[5]));
        Assert.True(MobilityHeader.TryDecode(mh, out var header, out _));
        Assert.True(header.VerifyChecksum(source, destination));
        mh[7] ^= 1;
        Assert.True(MobilityHeader.TryDecode(mh, out header, out _));
        Assert.False(header.VerifyChecksum(source, destination));
    }

    [Fact]
    public void Lifetime_is_counted_in_four_second_units_and_saturates()
    {
        Assert.Equal(900, LifetimeUnit.FromTimeSpan(TimeSpan.FromHours(1)));
        Assert.Equal(0, LifetimeUnit.FromTimeSpan(TimeSpan.Zero));
        Assert.Equal(ushort.MaxValue, LifetimeUnit.FromTimeSpan(TimeSpan.FromDays(30)));
        Assert.Equal(TimeSpan.FromSeconds(262140), LifetimeUnit.ToTimeSpan(ushort.MaxValue));
    }

    [Fact]
    public void Writer_reports_a_buffer_too_small_instead_of_throwing()
    {
        var buffer = new byte[20];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 1, AP, 1);
        w.MobileNodeIdentifier("a-rather-long-identifier@example.net"u8);
        Assert.False(w.TryFinish(out var length));
        Assert.Equal(0, length);
        var tiny = MobilityHeaderWriter.BindingUpdate(new byte[4], 1, AP, 1);
        Assert.False(tiny.TryFinish(out _));
    }
}
