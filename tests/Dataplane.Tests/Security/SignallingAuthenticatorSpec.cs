// One node's decision on each received message, and the key choice on each sent one: the reasons a
// message is dropped, replay protection, and a key roll-over (send with the newest, accept both).
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.MessageAuthenticationSpec;

namespace Pmip6Akka.Dataplane.Tests.Security;

public class SignallingAuthenticatorSpec
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly ImmutableArray<byte> OldSecret = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
    private static readonly ImmutableArray<byte> NewSecret = [.. Enumerable.Range(100, 32).Select(i => (byte)i)];

    private static SecurityAssociation Old(DateTimeOffset? notAfter = null) =>
        new(4096, Mag, AuthenticationAlgorithm.HmacSha256, OldSecret, NotAfter: notAfter);

    private static SecurityAssociation New(DateTimeOffset? notBefore = null) =>
        new(4097, Mag, AuthenticationAlgorithm.HmacSha256, NewSecret, NotBefore: notBefore);

    /// <summary>The MAG's side (keys named by the LMA as peer) and the LMA's side (keys named by the MAG).</summary>
    private static (SignallingAuthenticator MagSide, SignallingAuthenticator LmaSide) Pair(bool required = true, params SecurityAssociation[] lmaKeys)
    {
        var keys = lmaKeys.Length == 0 ? [Old()] : lmaKeys;
        var magSide = new SignallingAuthenticator(new KeyRing(keys.Select(k => k with { Peer = Lma })), new AuthenticationSettings(required, TimeSpan.FromSeconds(1)));
        var lmaSide = new SignallingAuthenticator(new KeyRing(keys), new AuthenticationSettings(required, TimeSpan.FromSeconds(1)));
        return (magSide, lmaSide);
    }

    private static byte[] Send(SignallingAuthenticator side, byte[] message, DateTimeOffset at, ProtectOutcome expected = ProtectOutcome.Protected)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        Assert.Equal(expected, side.Protect(message, Mag, Lma, at, buffer, out var length, out _));
        return expected == ProtectOutcome.Unprotected ? message : buffer[..length];
    }

    private static AuthenticationOutcome Receive(SignallingAuthenticator side, byte[] message, DateTimeOffset at, Ipv6Address? from = null) =>
        side.Check(message, from ?? Mag, Lma, at, out _);

    [Fact]
    public void A_protected_pbu_is_accepted_once_and_its_replay_dropped()
    {
        var (mag, lma) = Pair();
        var pbu = Send(mag, Pbu(), Now);
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, pbu, Now.AddMilliseconds(5)));
        Assert.Equal(AuthenticationOutcome.Replay, Receive(lma, pbu, Now.AddMilliseconds(50)));
        Assert.Equal(AuthenticationOutcome.Replay, Receive(lma, pbu, Now.AddMinutes(5))); // outside the window as well
    }

    [Fact]
    public void Retransmissions_are_new_messages_because_each_send_gets_a_new_identification()
    {
        var (mag, lma) = Pair();
        var first = Send(mag, Pbu(), Now);
        var second = Send(mag, Pbu(), Now); // the same octets, the same clock reading
        Assert.NotEqual(first, second);
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, first, Now));
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, second, Now));
    }

    [Fact]
    public void Forged_unknown_spi_and_foreign_peer_messages_are_dropped_for_their_own_reason()
    {
        var (mag, lma) = Pair();
        var pbu = Send(mag, Pbu(), Now);
        var forged = (byte[])pbu.Clone();
        forged[12] ^= 0x80;
        Assert.Equal(AuthenticationOutcome.BadMac, Receive(lma, forged, Now));
        Assert.Equal(AuthenticationOutcome.UnknownSpi, Receive(lma, Protect(Pbu(), spi: 9999), Now));
        // A valid message of MAG 1 re-sent from another address: the SPI is not that address's key.
        var rogue = Ipv6Address.Parse("2001:db8:66::6");
        Assert.Equal(AuthenticationOutcome.UnauthorizedPeer, Receive(lma, pbu, Now, rogue));
        Assert.Equal(AuthenticationOutcome.MissingOption, Receive(lma, Pbu(), Now));
        Assert.Equal(AuthenticationOutcome.MalformedOption, Receive(lma, pbu[..^8], Now));
        // None of them reached the replay memory: the genuine message is still accepted.
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, pbu, Now));
    }

    [Fact]
    public void Without_required_protection_unprotected_messages_pass_but_protected_ones_are_still_verified()
    {
        var (mag, lma) = Pair(required: false);
        Assert.Equal(AuthenticationOutcome.AcceptedUnprotected, Receive(lma, Pbu(), Now));
        var forged = Send(mag, Pbu(), Now);
        forged[^1] ^= 1;
        Assert.Equal(AuthenticationOutcome.BadMac, Receive(lma, forged, Now));
        var stranger = new SignallingAuthenticator(KeyRing.Empty, new AuthenticationSettings(false, TimeSpan.FromSeconds(1)));
        Assert.Equal(Pbu(), Send(stranger, Pbu(), Now, ProtectOutcome.Unprotected));
        var strict = new SignallingAuthenticator(KeyRing.Empty, AuthenticationSettings.Default);
        Send(strict, Pbu(), Now, ProtectOutcome.NoKey);
    }

    [Fact]
    public void A_message_from_a_clock_outside_the_window_is_a_replay()
    {
        var (mag, lma) = Pair();
        Assert.Equal(AuthenticationOutcome.Replay, Receive(lma, Send(mag, Pbu(), Now.AddSeconds(-2)), Now));
        Assert.Equal(AuthenticationOutcome.Replay, Receive(lma, Send(mag, Pbu(), Now.AddSeconds(2)), Now));
        var (fresh, lma2) = Pair(); // a sender's identifications never go back, so a new one for the last case
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma2, Send(fresh, Pbu(), Now.AddMilliseconds(900)), Now));
    }

    [Fact]
    public void During_a_roll_over_the_newest_key_signs_and_both_verify()
    {
        var rollAt = Now.AddMinutes(1);
        var (mag, lma) = Pair(true, Old(notAfter: rollAt.AddMinutes(10)), New(notBefore: rollAt));
        var before = Send(mag, Pbu(), Now);
        Assert.Equal(4096u, Spi(before));
        var after = Send(mag, Pbu(), rollAt);
        Assert.Equal(4097u, Spi(after));
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, after, rollAt));
        // A message signed with the old key just before the roll, received just after: still good.
        var late = Send(mag, Pbu(), rollAt.AddMilliseconds(-100));
        Assert.Equal(4096u, Spi(late));
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, late, rollAt.AddMilliseconds(100)));
        // Once the old key has expired it verifies nothing.
        var expired = rollAt.AddMinutes(10);
        var signedWithOld = Protect(Pbu(), spi: 4096, key: [.. OldSecret], id: Pmip6Timestamp.FromDateTimeOffset(expired));
        Assert.Equal(AuthenticationOutcome.KeyNotValid, Receive(lma, signedWithOld, expired));
    }

    [Fact]
    public void A_reloaded_ring_takes_effect_at_once()
    {
        var (mag, lma) = Pair();
        lma.Keys = new KeyRing([New()]);
        Assert.Equal(AuthenticationOutcome.UnknownSpi, Receive(lma, Send(mag, Pbu(), Now), Now));
        mag.Keys = new KeyRing([New() with { Peer = Lma }]);
        Assert.Equal(AuthenticationOutcome.Accepted, Receive(lma, Send(mag, Pbu(), Now), Now));
    }

    private static uint Spi(byte[] message)
    {
        Assert.Equal(AuthenticationPresence.Present, MessageAuthentication.TryFind(message, out var option, out _));
        return option.Spi;
    }
}

public class KeyRingSpec
{
    private static readonly Ipv6Address Peer = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly ImmutableArray<byte> Secret = [.. new byte[32]];

    [Fact]
    public void Duplicate_and_reserved_spis_and_short_secrets_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([new(300, Peer, AuthenticationAlgorithm.HmacSha256, Secret), new(300, Peer, AuthenticationAlgorithm.HmacSha256, Secret)]));
        Assert.Throws<ArgumentException>(() => new KeyRing([new(255, Peer, AuthenticationAlgorithm.HmacSha256, Secret)]));
        Assert.Throws<ArgumentException>(() => new KeyRing([new(300, Peer, AuthenticationAlgorithm.HmacSha256, [.. new byte[31]])]));
    }

    [Fact]
    public void Sending_picks_the_valid_key_that_became_valid_last()
    {
        var now = DateTimeOffset.UtcNow;
        var ring = new KeyRing([
            new(300, Peer, AuthenticationAlgorithm.HmacSha256, Secret),
            new(301, Peer, AuthenticationAlgorithm.HmacSha256, Secret, NotBefore: now.AddHours(-1)),
            new(302, Peer, AuthenticationAlgorithm.HmacSha256, Secret, NotBefore: now.AddHours(1)),
            new(303, Peer, AuthenticationAlgorithm.HmacSha256, Secret, NotAfter: now.AddSeconds(-1)),
        ]);
        Assert.Equal(301u, ring.ForSending(Peer, now)!.Spi);
        Assert.Equal(302u, ring.ForSending(Peer, now.AddHours(2))!.Spi);
        Assert.Null(ring.ForSending(Ipv6Address.Parse("2001:db8:2::2"), now));
        Assert.DoesNotContain("00000000", ring.Find(300)!.ToString()); // a key never prints its secret
    }
}

public class ReplayGuardSpec
{
    private static readonly Ipv6Address Peer = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Remembered_identifications_expire_with_the_window()
    {
        var guard = new ReplayGuard(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 100; i++)
        {
            var at = Now.AddMilliseconds(i * 100);
            var id = Pmip6Timestamp.FromDateTimeOffset(at);
            Assert.Equal(ReplayVerdict.Fresh, guard.Check(Peer, id, at));
            guard.Accept(Peer, id, at);
            Assert.Equal(ReplayVerdict.Duplicate, guard.Check(Peer, id, at));
        }
        Assert.InRange(guard.Remembered(Peer), 10, 12); // one window's worth, not all 100
    }

    [Fact]
    public void Past_the_cap_forgotten_identifications_are_still_refused()
    {
        var guard = new ReplayGuard(TimeSpan.FromSeconds(10), maxRememberedPerPeer: 4);
        var ids = Enumerable.Range(0, 6).Select(i => new Pmip6Timestamp(Pmip6Timestamp.FromDateTimeOffset(Now).Raw + (ulong)i)).ToArray();
        foreach (var id in ids)
            guard.Accept(Peer, id, Now);
        Assert.Equal(4, guard.Remembered(Peer));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check(Peer, ids[0], Now));
        Assert.Equal(ReplayVerdict.Duplicate, guard.Check(Peer, ids[1], Now));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check(Peer, new Pmip6Timestamp(ids[5].Raw + 1), Now));
    }
}
