using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class LmaAdmissionSpec
{
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly LmaAdmissionSettings Settings = new([Mag1]);
    private static readonly InMemoryPolicyStore Policies = new([new MobileNodePolicy("mn1@pmip6.example")]);

    private static ProxyBindingUpdate Pbu(Ipv6Address mag, string mn = "mn1@pmip6.example", DateTimeOffset? at = null) =>
        new(mag, 1, TimeSpan.FromHours(1), mn, [new Ipv6Prefix(default, 0)], HandoffIndicator.AttachmentOverNewInterface,
            AccessTechnologyType.Ieee8023, null, null, Pmip6Timestamp.FromDateTimeOffset(at ?? Now));

    [Fact]
    public void Only_the_configured_mags_are_authorised()
    {
        Assert.True(LmaAdmission.IsAuthorized(Settings, Mag1));
        Assert.False(LmaAdmission.IsAuthorized(Settings, Ipv6Address.Parse("2001:db8:66::6")));
        Assert.True(LmaAdmission.IsAuthorized(Settings with { AllowAnyMag = true }, Ipv6Address.Parse("2001:db8:66::6")));
    }

    [Fact]
    public void An_unknown_mobile_node_is_rejected_with_153()
    {
        var reply = LmaAdmission.Check(Pbu(Mag1, "stranger@elsewhere"), Settings, Policies, Now, out _);
        Assert.Equal(BindingAcknowledgementStatus.NotLmaForThisMobileNode, reply!.Status);
    }

    [Fact]
    public void A_timestamp_outside_the_validity_window_is_rejected_with_156_carrying_the_lma_s_time()
    {
        var reply = LmaAdmission.Check(Pbu(Mag1, at: Now.AddMilliseconds(-301)), Settings, Policies, Now, out _);
        Assert.Equal(BindingAcknowledgementStatus.TimestampMismatch, reply!.Status);
        Assert.Equal(Pmip6Timestamp.FromDateTimeOffset(Now), reply.Timestamp);
        Assert.Null(LmaAdmission.Check(Pbu(Mag1, at: Now.AddMilliseconds(-299)), Settings, Policies, Now, out var policy));
        Assert.NotNull(policy);
    }

    [Theory]
    [InlineData("mnid", BindingAcknowledgementStatus.MissingMobileNodeIdentifierOption)]
    [InlineData("hnp", BindingAcknowledgementStatus.MissingHomeNetworkPrefixOption)]
    [InlineData("hi", BindingAcknowledgementStatus.MissingHandoffIndicatorOption)]
    [InlineData("att", BindingAcknowledgementStatus.MissingAccessTechnologyTypeOption)]
    public void A_pbu_missing_a_mandatory_option_is_rejected_with_its_status(string missing, BindingAcknowledgementStatus status)
    {
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 5, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration, 900);
        if (missing != "mnid") w.MobileNodeIdentifier("mn1@pmip6.example"u8);
        if (missing != "hnp") w.HomeNetworkPrefix(default);
        if (missing != "hi") w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        if (missing != "att") w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        Assert.True(w.TryFinish(out var length));
        Assert.True(BindingUpdate.TryDecode(buffer.AsSpan(0, length), out var bu, out _));
        Assert.False(ProxyBindingUpdate.TryFrom(bu, Mag1, out _, out var rejection));
        Assert.Equal(status, rejection);
    }
}
