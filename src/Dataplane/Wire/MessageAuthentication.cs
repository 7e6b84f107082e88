// Authenticated signalling between MAG and LMA: the Mobility Message Authentication option
// (RFC 4285 §5, option type 9) after a Message Identification option (RFC 4285 §6, option type 10),
// both appended to an already encoded Mobility Header message. See docs/PROTOCOL.md, "Authenticated
// signalling", for the choices made where RFC 4285 speaks of a mobile node and its home agent.
//
//                                  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                  |   Type = 10   |  Length = 8   |   at 8n+2
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        Message identification: RFC 5213 timestamp format,     |
//  |        strictly increasing per sender (64 bits)               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  ... PadN ...                    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                  |   Type = 9    |  Length = 37  |   at 8n+1 (RFC 4285: 4n+1)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Subtype = 1   |                 Mobility SPI                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |               |  Authenticator: HMAC-SHA-256, all 32 octets   .
//  +-+-+-+-+-+-+-+-+                                               .   ends the Mobility Header
//
// Authenticator = HMAC-SHA-256(key, Mobility Data)
// Mobility Data = source address | destination address | the Mobility Header from its first octet up
//                 to and including the SPI, with Header Len final and the Checksum field zero.
// Placed at 8n+1, the 39-octet option ends the header on an 8-octet boundary: nothing (not even
// padding) follows it, so every octet but the authenticator and the checksum is covered.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Whether a message carries the authentication option (decided by <see cref="MessageAuthentication.TryFind"/>).</summary>
public enum AuthenticationPresence : byte
{
    Absent,
    Present,
    Malformed,
}

/// <summary>The authentication option of a received message, validated in form (not yet verified).</summary>
public readonly ref struct AuthenticationOption
{
    public uint Spi { get; init; }
    /// <summary>The message identification (RFC 4285 §6) the sender put before the authenticator.</summary>
    public Pmip6Timestamp MessageId { get; init; }
    /// <summary>Offset of the authenticator in the Mobility Header: the MAC covers everything before it.</summary>
    public int AuthenticatorOffset { get; init; }
    public ReadOnlySpan<byte> Authenticator { get; init; }
}

public static class MessageAuthentication
{
    /// <summary>RFC 4285 §5 subtype 1, the MN-HA option: here the MAG–LMA security association.</summary>
    public const byte SubtypeMnHa = 1;
    public const int SpiLength = 4;
    /// <summary>HMAC-SHA-256 output, not truncated.</summary>
    public const int AuthenticatorLength = 32;
    /// <summary>Option Length of the authentication option: Subtype, SPI, authenticator.</summary>
    public const int OptionDataLength = 1 + SpiLength + AuthenticatorLength;
    public const int MessageIdentificationLength = 8;
    /// <summary>The most octets protection adds to a message: padding, MESG-ID, padding, the authentication option.</summary>
    public const int MaxOverhead = 7 + 2 + MessageIdentificationLength + 7 + 2 + OptionDataLength;

    private const int AddressesLength = 32;

    /// <summary>Where the options of each message type start (0: a type we neither sign nor verify).</summary>
    public static int OptionsOffset(MobilityHeaderType type) => type switch
    {
        MobilityHeaderType.BindingUpdate => BindingUpdate.OptionsOffset,
        MobilityHeaderType.BindingAcknowledgement => BindingAcknowledgement.OptionsOffset,
        MobilityHeaderType.BindingError => BindingError.OptionsOffset,
        MobilityHeaderType.Heartbeat => Heartbeat.OptionsOffset,
        MobilityHeaderType.BindingRevocation => BindingRevocation.OptionsOffset,
        MobilityHeaderType.UpdateNotification => UpdateNotification.OptionsOffset,
        MobilityHeaderType.UpdateNotificationAcknowledgement => UpdateNotificationAcknowledgement.OptionsOffset,
        MobilityHeaderType.Experimental => ExperimentalMessage.OptionsOffset,
        _ => 0,
    };

    /// <summary>
    /// Appends the Message Identification and authentication options to the encoded message in
    /// <paramref name="buffer"/>[..<paramref name="length"/>] (any trailing padding is replaced),
    /// rewrites Header Len, clears the checksum and writes the authenticator. The buffer must have room
    /// for <see cref="MaxOverhead"/> more octets. Fails without throwing on a malformed or already
    /// protected message, or a full buffer.
    /// </summary>
    public static bool TryProtect(Span<byte> buffer, int length, Ipv6Address source, Ipv6Address destination, uint spi,
        ReadOnlySpan<byte> key, Pmip6Timestamp messageId, out int bytesWritten, out DecodeError error)
    {
        bytesWritten = 0;
        if (!TryOptions(buffer[..length], out var mh, out var options, out error))
            return false;
        var end = OptionsOffset(mh.Type);
        foreach (var option in options)
        {
            if (option.Type is (byte)MobilityOptionType.MobilityMessageAuthentication or (byte)MobilityOptionType.MessageIdentification)
                return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.option.auth.already_present", option.Offset);
            end = option.Offset + 2 + option.Data.Length;
        }
        var w = MobilityHeaderWriter.Resume(buffer, end);
        w.MessageIdentification(messageId);
        var authenticationData = w.Option(MobilityOptionType.MobilityMessageAuthentication, OptionDataLength, 8, 1);
        var authenticatorOffset = w.Length - AuthenticatorLength;
        if (authenticationData.IsEmpty || !w.TryFinish(out var written) || written != w.Length)
            return DecodeError.Fail(out error, DecodeErrorReason.LimitExceeded, "mh.option.auth", end);
        authenticationData[0] = SubtypeMnHa;
        BinaryPrimitives.WriteUInt32BigEndian(authenticationData[1..], spi);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[MobilityHeader.ChecksumOffset..], 0);
        ComputeAuthenticator(buffer[..authenticatorOffset], source, destination, key, buffer.Slice(authenticatorOffset, AuthenticatorLength));
        bytesWritten = written;
        error = default;
        return true;
    }

    /// <summary>
    /// Finds and checks the form of the authentication option of a received message: exactly one,
    /// the last thing in the header, Option Length 37, subtype MN-HA, after a Message Identification
    /// option. <see cref="AuthenticationPresence.Absent"/> when the message (well formed) has none.
    /// </summary>
    public static AuthenticationPresence TryFind(ReadOnlySpan<byte> message, out AuthenticationOption option, out DecodeError error)
    {
        option = default;
        if (!TryOptions(message, out var mh, out var options, out error))
            return AuthenticationPresence.Malformed;
        var bytes = mh.Bytes;
        int auth = -1, messageId = -1;
        foreach (var o in options)
        {
            if (auth >= 0)
                return Malformed(out error, DecodeErrorReason.BadValue, "mh.option.auth.not_last", auth);
            if (o.Type == (byte)MobilityOptionType.MobilityMessageAuthentication)
                auth = o.Offset;
            else if (o.Type == (byte)MobilityOptionType.MessageIdentification && messageId < 0)
                messageId = o.Offset;
        }
        if (auth < 0)
            return AuthenticationPresence.Absent;
        int dataLength = bytes[auth + 1];
        if (dataLength != OptionDataLength)
            return Malformed(out error, DecodeErrorReason.BadLength, "mh.option.auth", auth + 1);
        if (auth + 2 + dataLength != bytes.Length)
            return Malformed(out error, DecodeErrorReason.BadValue, "mh.option.auth.not_last", auth);
        if (bytes[auth + 2] != SubtypeMnHa)
            return Malformed(out error, DecodeErrorReason.BadValue, "mh.option.auth.subtype", auth + 2);
        if (messageId < 0)
            return Malformed(out error, DecodeErrorReason.MissingMandatoryField, "mh.option.mesg_id", auth);
        var authenticatorOffset = auth + 2 + 1 + SpiLength;
        option = new AuthenticationOption
        {
            Spi = BinaryPrimitives.ReadUInt32BigEndian(bytes[(auth + 3)..]),
            MessageId = new Pmip6Timestamp(BinaryPrimitives.ReadUInt64BigEndian(bytes[(messageId + 2)..])),
            AuthenticatorOffset = authenticatorOffset,
            Authenticator = bytes.Slice(authenticatorOffset, AuthenticatorLength),
        };
        error = default;
        return AuthenticationPresence.Present;
    }

    /// <summary>Recomputes the authenticator of <paramref name="message"/> with <paramref name="key"/> and compares in constant time.</summary>
    public static bool Verify(ReadOnlySpan<byte> message, in AuthenticationOption option, Ipv6Address source, Ipv6Address destination, ReadOnlySpan<byte> key)
    {
        Span<byte> expected = stackalloc byte[AuthenticatorLength];
        ComputeAuthenticator(message[..option.AuthenticatorOffset], source, destination, key, expected);
        return CryptographicOperations.FixedTimeEquals(expected, option.Authenticator);
    }

    /// <summary>HMAC-SHA-256 over source | destination | <paramref name="covered"/> with its checksum read as zero.</summary>
    private static void ComputeAuthenticator(ReadOnlySpan<byte> covered, Ipv6Address source, Ipv6Address destination, ReadOnlySpan<byte> key, Span<byte> authenticator)
    {
        Span<byte> data = stackalloc byte[AddressesLength + MobilityHeader.MaxLength];
        source.Write(data);
        destination.Write(data[16..]);
        covered.CopyTo(data[AddressesLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(data[(AddressesLength + MobilityHeader.ChecksumOffset)..], 0);
        HMACSHA256.HashData(key, data[..(AddressesLength + covered.Length)], authenticator);
    }

    private static bool TryOptions(ReadOnlySpan<byte> message, out MobilityHeader mh, out MobilityOptionSet options, out DecodeError error)
    {
        options = default;
        if (!MobilityHeader.TryDecode(message, out mh, out error))
            return false;
        var offset = OptionsOffset(mh.Type);
        if (offset == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.UnknownMandatoryField, "mh.type", MobilityHeader.TypeOffset);
        if (mh.Bytes.Length < offset)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "mh.options", mh.Bytes.Length);
        return MobilityOptionSet.TryParse(mh.Bytes, offset, out options, out error);
    }

    private static AuthenticationPresence Malformed(out DecodeError error, DecodeErrorReason reason, string field, int offset)
    {
        DecodeError.Fail(out error, reason, field, offset);
        return AuthenticationPresence.Malformed;
    }
}
