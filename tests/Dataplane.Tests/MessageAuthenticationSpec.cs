// The RFC 4285 authentication option as we apply it to MAG–LMA signalling (docs/PROTOCOL.md,
// "Authenticated signalling"). The golden message is laid out by hand from the RFC 4285 §5/§6
// figures; its authenticator was computed outside .NET (Python's hmac over the same octets) and the
// reference below recomputes it from the description, not through our code.
using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;
using static Pmip6Akka.Dataplane.Tests.Bytes;

namespace Pmip6Akka.Dataplane.Tests;

public class MessageAuthenticationSpec
{
    internal static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    internal static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    internal static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private const uint Spi = 0x1001;
    private static readonly Pmip6Timestamp Id = new(0x0000_65A1_B2C3_8000);

    // Heartbeat sequence 7, then PadN to 8n+2, Message Identification, PadN to 8n+1, authentication option.
    private const string GoldenHeartbeat =
        "3B 08 0D 00 0000 | 0000 00000007 | 01 04 00000000 | 0A 08 000065A1B2C38000 | 01 03 000000 | 09 25 01 00001001 |" +
        "56385AD74886A440F9E9EC6A305CC9817C7A52F9C6744B889AF0B81E86B145B4";

    private static byte[] Heartbeat()
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.Heartbeat(buffer, response: false, sequence: 7);
        Assert.True(w.TryFinish(out var length));
        return buffer[..length];
    }

    internal static byte[] Pbu(string mn = "mn1@pmip6.example", ushort sequence = 7)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.ProxyRegistration, 900);
        w.MobileNodeIdentifier(System.Text.Encoding.UTF8.GetBytes(mn));
        w.HomeNetworkPrefix(Ipv6Prefix.Parse("::/0"));
        w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        w.Timestamp(Id);
        Assert.True(w.TryFinish(out var length));
        return buffer[..length];
    }

    internal static byte[] Protect(byte[] message, uint spi = Spi, byte[]? key = null, Pmip6Timestamp? id = null, Ipv6Address? source = null)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        message.CopyTo(buffer, 0);
        Assert.True(MessageAuthentication.TryProtect(buffer, message.Length, source ?? Mag, Lma, spi, key ?? Key, id ?? Id, out var length, out var error), error.ToString());
        return buffer[..length];
    }

    private static byte[] ReferenceAuthenticator(byte[] protectedMessage)
    {
        var covered = protectedMessage[..^MessageAuthentication.AuthenticatorLength].ToArray();
        covered[4] = covered[5] = 0; // RFC 4285: checksum zero while computing
        using var hmac = new HMACSHA256(Key); // the classic, allocating API: independent of the span path under test
        return hmac.ComputeHash(Octets(Mag).Concat(Octets(Lma)).Concat(covered).ToArray());
    }

    private static byte[] Octets(Ipv6Address address)
    {
        var bytes = new byte[16];
        address.Write(bytes);
        return bytes;
    }

    private static bool Verifies(byte[] message, Ipv6Address? source = null, byte[]? key = null)
    {
        Assert.Equal(AuthenticationPresence.Present, MessageAuthentication.TryFind(message, out var option, out var error));
        Assert.False(error.IsError);
        return MessageAuthentication.Verify(message, option, source ?? Mag, Lma, key ?? Key);
    }

    [Fact]
    public void A_protected_heartbeat_matches_the_golden_bytes()
    {
        var protectedMessage = Protect(Heartbeat());
        Assert.Equal(Show(Hex(GoldenHeartbeat)), Show(protectedMessage));
        Assert.Equal(72, protectedMessage.Length);
        Assert.Equal(Show(ReferenceAuthenticator(protectedMessage)), Show(protectedMessage.AsSpan(^32..)));
    }

    [Fact]
    public void The_golden_heartbeat_decodes_and_verifies()
    {
        var golden = Hex(GoldenHeartbeat);
        Assert.Equal(AuthenticationPresence.Present, MessageAuthentication.TryFind(golden, out var option, out _));
        Assert.Equal(Spi, option.Spi);
        Assert.Equal(Id, option.MessageId);
        Assert.Equal(40, option.AuthenticatorOffset);
        Assert.True(MessageAuthentication.Verify(golden, option, Mag, Lma, Key));
        // The message itself still decodes: the two options are known, aligned and skipped by the handler.
        Assert.True(MobilityHeader.TryDecode(golden, out var mh, out _));
        Assert.True(Pmip6Akka.Dataplane.Wire.Heartbeat.TryDecode(mh, out var hb, out var error), error.ToString());
        Assert.Equal(7u, hb.Sequence);
        Assert.Equal(2, hb.Options.Count);
    }

    [Fact]
    public void The_authentication_option_is_last_and_ends_on_an_8_octet_boundary_after_any_message()
    {
        foreach (var message in new[] { Heartbeat(), Pbu(), Pbu("a"), Pbu("a-much-longer-mobile-node-identifier@pmip6.example") })
        {
            var p = Protect(message);
            Assert.Equal(0, p.Length % 8);
            Assert.Equal(p.Length / 8 - 1, p[MobilityHeader.HeaderLenOffset]);
            Assert.Equal((byte)MobilityOptionType.MobilityMessageAuthentication, p[^39]);
            Assert.Equal(1, (p.Length - 39) % 4); // RFC 4285 alignment 4n+1
            Assert.True(BindingUpdate.TryDecode(p, out _, out var error) || p[MobilityHeader.TypeOffset] != (byte)MobilityHeaderType.BindingUpdate, error.ToString());
            Assert.True(Verifies(p));
        }
    }

    [Fact]
    public void The_checksum_does_not_enter_the_authenticator()
    {
        var p = Protect(Pbu());
        p[4] = 0xAB; // the kernel fills the checksum after we sign
        p[5] = 0xCD;
        Assert.True(Verifies(p));
    }

    [Fact]
    public void Every_covered_octet_changed_fails_verification()
    {
        var p = Protect(Pbu());
        for (var i = 0; i < p.Length; i++)
        {
            if (i is MobilityHeader.ChecksumOffset or MobilityHeader.ChecksumOffset + 1)
                continue;
            var forged = (byte[])p.Clone();
            forged[i] ^= 0x01;
            var presence = MessageAuthentication.TryFind(forged, out var option, out _);
            Assert.True(presence != AuthenticationPresence.Present || !MessageAuthentication.Verify(forged, option, Mag, Lma, Key), $"octet {i} changed and still verified");
        }
    }

    [Fact]
    public void The_addresses_are_covered_so_a_message_cannot_be_replayed_from_another_source()
    {
        var p = Protect(Pbu());
        Assert.False(Verifies(p, source: Ipv6Address.Parse("2001:db8:2::2")));
        Assert.False(Verifies(p, key: Enumerable.Repeat((byte)7, 32).ToArray()));
    }

    [Fact]
    public void A_truncated_authenticator_is_a_bad_length()
    {
        // 16 octets of MAC (HMAC-SHA-256-128) instead of 32, the header shortened to match.
        var p = Protect(Pbu());
        var cut = p[..^16];
        cut[^(1 + 4 + 1 + 16)] = MessageAuthentication.OptionDataLength - 16;
        cut[MobilityHeader.HeaderLenOffset] = (byte)(cut.Length / 8 - 1);
        Assert.Equal(AuthenticationPresence.Malformed, MessageAuthentication.TryFind(cut, out _, out var error));
        Assert.Equal(DecodeErrorReason.BadLength, error.Reason);
        Assert.Equal("mh.option.auth", error.Field);
    }

    [Fact]
    public void An_option_after_the_authentication_option_is_refused()
    {
        var p = Protect(Pbu());
        var longer = new byte[p.Length + 8];
        p.CopyTo(longer, 0);
        longer[p.Length] = (byte)MobilityOptionType.PadN;
        longer[p.Length + 1] = 6;
        longer[MobilityHeader.HeaderLenOffset]++;
        Assert.Equal(AuthenticationPresence.Malformed, MessageAuthentication.TryFind(longer, out _, out var error));
        Assert.Equal("mh.option.auth.not_last", error.Field);
    }

    [Fact]
    public void Another_subtype_is_refused()
    {
        var p = Protect(Pbu());
        p[^37] = 2; // MN-AAA
        Assert.Equal(AuthenticationPresence.Malformed, MessageAuthentication.TryFind(p, out _, out var error));
        Assert.Equal("mh.option.auth.subtype", error.Field);
        Assert.Equal(DecodeErrorReason.BadValue, error.Reason);
    }

    [Fact]
    public void Without_a_message_identification_the_option_is_refused()
    {
        var p = Protect(Heartbeat());
        p[18] = (byte)MobilityOptionType.PadN; // the MESG-ID becomes padding
        Assert.Equal(AuthenticationPresence.Malformed, MessageAuthentication.TryFind(p, out _, out var error));
        Assert.Equal(DecodeErrorReason.MissingMandatoryField, error.Reason);
        Assert.Equal("mh.option.mesg_id", error.Field);
    }

    [Fact]
    public void An_unprotected_message_has_no_option_and_a_protected_one_is_not_protected_twice()
    {
        Assert.Equal(AuthenticationPresence.Absent, MessageAuthentication.TryFind(Pbu(), out _, out var error));
        Assert.False(error.IsError);
        var p = Protect(Pbu());
        var buffer = new byte[MobilityHeader.MaxLength];
        p.CopyTo(buffer, 0);
        Assert.False(MessageAuthentication.TryProtect(buffer, p.Length, Mag, Lma, Spi, Key, Id, out _, out error));
        Assert.Equal("mh.option.auth.already_present", error.Field);
    }

    [Fact]
    public void A_message_too_long_to_protect_is_refused_without_throwing()
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, 1, BindingUpdateFlags.ProxyRegistration, 1);
        for (var i = 0; i < 8; i++)
            w.ExperimentalOption(new byte[250]);
        Assert.True(w.TryFinish(out var length));
        Assert.True(length > MobilityHeader.MaxLength - MessageAuthentication.MaxOverhead);
        Assert.False(MessageAuthentication.TryProtect(buffer, length, Mag, Lma, Spi, Key, Id, out _, out var error));
        Assert.Equal(DecodeErrorReason.LimitExceeded, error.Reason);
    }

    [Fact]
    public void Unknown_message_types_are_neither_signed_nor_verified()
    {
        var bytes = Hex("3B 00 01 00 0000 0000"); // Home Test Init: not PMIPv6 signalling
        Assert.Equal(AuthenticationPresence.Malformed, MessageAuthentication.TryFind(bytes, out _, out var error));
        Assert.Equal(DecodeErrorReason.UnknownMandatoryField, error.Reason);
    }

    [Property(MaxTest = 3000)]
    public bool Mutated_protected_messages_never_throw_nor_verify(int seed)
    {
        var original = Protect(Pbu());
        var buffer = new byte[PacketMutator.MaxPacketLength];
        var mutated = buffer[..new PacketMutator([original], seed).Next(buffer, out _)];
        var presence = MessageAuthentication.TryFind(mutated, out var option, out var error);
        if (presence != AuthenticationPresence.Present)
            return presence == AuthenticationPresence.Absent || error.IsError;
        var verifies = MessageAuthentication.Verify(mutated, option, Mag, Lma, Key);
        // Only a mutation that left every covered octet (checksum aside) and the MAC alone may verify.
        var same = mutated.Length >= original.Length && mutated.AsSpan(6, original.Length - 6).SequenceEqual(original.AsSpan(6))
                   && mutated.AsSpan(0, 4).SequenceEqual(original.AsSpan(0, 4));
        return verifies == same;
    }
}
