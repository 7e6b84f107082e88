// RFC 5213 §6.9 at the MAG, driven without any actor: one Binding Update List entry.
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Mag;

public class MagSessionStateSpec
{
    private static readonly Ipv6Address MagAddress = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a001::/64");
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly Attachment Mn1 = new("mn1@pmip6.example", "020000000101", AccessTechnologyType.Ieee8023, HandoffIndicator.AttachmentOverNewInterface);

    private static ProxyBindingAcknowledgement Pba(ProxyBindingUpdate pbu, BindingAcknowledgementStatus status = BindingAcknowledgementStatus.Accepted) =>
        new(pbu.ProxyCoa, status, pbu.Sequence, status == 0 ? TimeSpan.FromHours(1) : TimeSpan.Zero, pbu.MobileNodeId, [Hnp], pbu.Handoff,
            pbu.AccessTechnology, pbu.LinkLayerId, null, pbu.Timestamp);

    private static ProxyBindingUpdate Sent(System.Collections.Immutable.ImmutableArray<MagEffect> effects) =>
        Assert.Single(effects.OfType<MagEffect.SendPbu>()).Pbu;

    private static TimeSpan Timer(System.Collections.Immutable.ImmutableArray<MagEffect> effects) =>
        Assert.Single(effects.OfType<MagEffect.StartTimer>()).After;

    private static MagSessionState Registered()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var (registered, _) = state.OnAcknowledgement(Pba(Sent(effects)), T0);
        return registered;
    }

    [Fact]
    public void Attach_sends_a_pbu_asking_for_prefixes_and_waits_initial_bindack_timeout_first_reg()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var pbu = Sent(effects);
        Assert.Equal(MagSessionPhase.Registering, state.Phase);
        Assert.Equal(100, pbu.Sequence);
        Assert.Equal(new Ipv6Prefix(default, 0), Assert.Single(pbu.HomeNetworkPrefixes));
        Assert.Equal(HandoffIndicator.AttachmentOverNewInterface, pbu.Handoff);
        Assert.Equal(TimeSpan.FromHours(1), pbu.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(1.5), Timer(effects));
        var buffer = new byte[256];
        Assert.True(pbu.TryWrite(buffer, out var length));
        Assert.True(BindingUpdate.TryDecode(buffer.AsSpan(0, length), out var wire, out _));
        Assert.True(ProxyBindingUpdate.TryFrom(wire, MagAddress, out var decoded, out _));
        Assert.Equal(pbu.MobileNodeId, decoded!.MobileNodeId);
        Assert.Equal(pbu.LinkLayerId, decoded.LinkLayerId);
    }

    [Fact]
    public void An_accepting_pba_establishes_the_session_and_arms_the_refresh()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var (registered, after) = state.OnAcknowledgement(Pba(Sent(effects)), T0);
        Assert.Equal(MagSessionPhase.Registered, registered.Phase);
        var established = Assert.Single(after.OfType<MagEffect.Established>());
        Assert.Equal([Hnp], established.Prefixes.ToArray());
        Assert.Equal(TimeSpan.FromMinutes(48), Timer(after)); // 80 % of one hour
    }

    [Fact]
    public void A_lost_pba_is_retransmitted_with_exponential_back_off_until_max_bindack_timeout_then_the_mag_gives_up()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var waits = new List<TimeSpan> { Timer(effects) };
        var sequences = new List<ushort> { Sent(effects).Sequence };
        var now = T0;
        while (true)
        {
            now += waits[^1];
            (state, effects) = state.OnTimer(now);
            if (state.Phase == MagSessionPhase.Failed)
                break;
            waits.Add(Timer(effects));
            sequences.Add(Sent(effects).Sequence);
        }
        Assert.Equal([1.5, 3, 6, 12, 24], waits.Select(w => w.TotalSeconds));
        Assert.Equal([100, 101, 102, 103, 104], sequences.Select(s => (int)s));
        var gaveUp = Assert.Single(effects.OfType<MagEffect.GaveUp>());
        Assert.Equal(5, gaveUp.Transmissions);
    }

    [Fact]
    public void A_pba_for_an_older_transmission_is_ignored()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var first = Sent(effects);
        (state, _) = state.OnTimer(T0.AddSeconds(1.5)); // retransmitted as 101
        var (same, nothing) = state.OnAcknowledgement(Pba(first), T0);
        Assert.Empty(nothing);
        Assert.Equal(MagSessionPhase.Registering, same.Phase);
    }

    [Fact]
    public void Refresh_sends_a_re_registration_and_a_lost_refresh_backs_off_from_one_second()
    {
        var registered = Registered();
        var (refreshing, effects) = registered.OnTimer(T0.AddMinutes(48));
        var pbu = Sent(effects);
        Assert.Equal(MagSessionPhase.Refreshing, refreshing.Phase);
        Assert.Equal(HandoffIndicator.HandoffStateNotChanged, pbu.Handoff);
        Assert.Equal([Hnp], pbu.HomeNetworkPrefixes.ToArray());
        Assert.Equal(TimeSpan.FromSeconds(1), Timer(effects));
        var (back, retry) = refreshing.OnTimer(T0.AddMinutes(48).AddSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(2), Timer(retry));
        var (again, ok) = back.OnAcknowledgement(Pba(Sent(retry)), T0);
        Assert.Equal(MagSessionPhase.Registered, again.Phase);
        Assert.Equal(RegistrationKind.Refresh, Assert.Single(ok.OfType<MagEffect.Established>()).Kind);
    }

    [Fact]
    public void Detach_deregisters_with_lifetime_zero_and_closes_on_the_pba()
    {
        var (leaving, effects) = Registered().Detach(T0.AddMinutes(1));
        var pbu = Sent(effects);
        Assert.Equal(TimeSpan.Zero, pbu.Lifetime);
        Assert.Equal([Hnp], pbu.HomeNetworkPrefixes.ToArray());
        var (closed, done) = leaving.OnAcknowledgement(Pba(pbu), T0);
        Assert.Equal(MagSessionPhase.Closed, closed.Phase);
        Assert.Single(done.OfType<MagEffect.Closed>());
    }

    [Fact]
    public void A_timestamp_mismatch_is_retried_at_once_with_a_fresh_timestamp_then_fails()
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var now = T0;
        for (var retry = 1; retry <= MagSessionState.MaxTimestampRetries; retry++)
        {
            now = now.AddMilliseconds(400);
            (state, effects) = state.OnAcknowledgement(Pba(Sent(effects), BindingAcknowledgementStatus.TimestampMismatch), now);
            var pbu = Sent(effects);
            Assert.Equal(Pmip6Timestamp.FromDateTimeOffset(now), pbu.Timestamp);
            Assert.Equal(MagSessionPhase.Registering, state.Phase);
        }
        (state, effects) = state.OnAcknowledgement(Pba(Sent(effects), BindingAcknowledgementStatus.TimestampMismatch), now);
        Assert.Equal(MagSessionPhase.Failed, state.Phase);
        Assert.Contains("TIMESTAMP_MISMATCH", Assert.Single(effects.OfType<MagEffect.Rejected>()).Meaning);
    }

    [Theory]
    [InlineData(BindingAcknowledgementStatus.MagNotAuthorizedForProxyRegistration, "MAG_NOT_AUTHORIZED_FOR_PROXY_REG")]
    [InlineData(BindingAcknowledgementStatus.NotLmaForThisMobileNode, "NOT_LMA_FOR_THIS_MOBILE_NODE")]
    [InlineData(BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch, "BCE_PBU_PREFIX_SET_DO_NOT_MATCH")]
    public void A_rejecting_pba_fails_the_session_with_a_meaning_an_operator_can_act_on(BindingAcknowledgementStatus status, string meaning)
    {
        var (state, effects) = MagSessionState.Attach(Mn1, MagAddress, 100, T0);
        var (failed, after) = state.OnAcknowledgement(Pba(Sent(effects), status), T0);
        Assert.Equal(MagSessionPhase.Failed, failed.Phase);
        Assert.Contains(meaning, Assert.Single(after.OfType<MagEffect.Rejected>()).Meaning);
    }

    [Fact]
    public void An_lma_restart_makes_a_registered_session_register_again_at_once()
    {
        var (state, effects) = Registered().OnLmaRestart(T0.AddMinutes(5));
        Assert.Equal(MagSessionPhase.Refreshing, state.Phase);
        Assert.Equal([Hnp], Sent(effects).HomeNetworkPrefixes.ToArray());
    }
}
