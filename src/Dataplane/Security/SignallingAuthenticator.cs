// One node's authenticated signalling (RFC 5213 §4 requires MAG–LMA signalling to be protected; this
// kernel has no IPv6 ESP, so it is the RFC 4285 authentication option): protects every Mobility
// Header message it sends and decides, before anything decodes it further, whether a received one
// is accepted. Pure and single-threaded: the node's SignallingGuard actor owns it.
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Security;

/// <summary>What happened to a received message. Everything from MissingOption on is dropped.</summary>
public enum AuthenticationOutcome : byte
{
    Accepted,
    /// <summary>No authentication option, and none is required (keys being rolled out).</summary>
    AcceptedUnprotected,
    MissingOption,
    /// <summary>The authentication option (or, when one is required, the message) does not decode.</summary>
    MalformedOption,
    UnknownSpi,
    /// <summary>The SPI names a key of another peer: not a peer this node shares that key with.</summary>
    UnauthorizedPeer,
    /// <summary>The key exists but is outside its not-before / not-after.</summary>
    KeyNotValid,
    BadMac,
    Replay,
}

public enum ProtectOutcome : byte
{
    Protected,
    /// <summary>No key for the peer and none required: sent as it was.</summary>
    Unprotected,
    /// <summary>No valid key for the peer while protection is required: not sent.</summary>
    NoKey,
    /// <summary>The message is malformed, already protected, or too long to protect: not sent.</summary>
    Unencodable,
}

/// <summary>
/// <see cref="Required"/>: every received message must carry a valid option (else it is dropped);
/// off, messages without one are accepted (those with one are still verified).
/// </summary>
public sealed record AuthenticationSettings(bool Required, TimeSpan ReplayWindow)
{
    public static readonly AuthenticationSettings Default = new(true, TimeSpan.FromSeconds(1));
}

public static class AuthenticationOutcomes
{
    /// <summary>A stable, metric-friendly name ("bad-mac", "replay", ...).</summary>
    public static string Name(this AuthenticationOutcome outcome) => outcome switch
    {
        AuthenticationOutcome.Accepted => "accepted",
        AuthenticationOutcome.AcceptedUnprotected => "accepted-unprotected",
        AuthenticationOutcome.MissingOption => "missing-option",
        AuthenticationOutcome.MalformedOption => "malformed",
        AuthenticationOutcome.UnknownSpi => "unknown-spi",
        AuthenticationOutcome.UnauthorizedPeer => "unauthorized-peer",
        AuthenticationOutcome.KeyNotValid => "key-not-valid",
        AuthenticationOutcome.BadMac => "bad-mac",
        AuthenticationOutcome.Replay => "replay",
        _ => "unknown",
    };

    public static bool IsAccepted(this AuthenticationOutcome outcome) => outcome <= AuthenticationOutcome.AcceptedUnprotected;
}

public sealed class SignallingAuthenticator(KeyRing keys, AuthenticationSettings settings)
{
    private readonly ReplayGuard _replay = new(settings.ReplayWindow);
    private Pmip6Timestamp _lastId;

    private volatile KeyRing _keys = keys;

    /// <summary>
    /// The ring in use; replaced whole on a reload (the replay memory is kept). Volatile: in a daemon the receive
    /// thread checks with it (<see cref="Check"/>) while the node's guard protects with it and replaces it.
    /// </summary>
    public KeyRing Keys
    {
        get => _keys;
        set => _keys = value;
    }

    public AuthenticationSettings Settings { get; } = settings;

    public ReplayGuard Replay => _replay;

    /// <summary>
    /// Protects <paramref name="message"/> for <paramref name="destination"/> with the newest valid key
    /// shared with it, into <paramref name="buffer"/> (at least the message plus <see cref="MessageAuthentication.MaxOverhead"/>).
    /// </summary>
    public ProtectOutcome Protect(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination, DateTimeOffset now,
        Span<byte> buffer, out int bytesWritten, out DecodeError error)
    {
        bytesWritten = 0;
        error = default;
        var key = Keys.ForSending(destination, now);
        if (key is null)
            return Settings.Required ? ProtectOutcome.NoKey : ProtectOutcome.Unprotected;
        if (message.Length > buffer.Length)
            return ProtectOutcome.Unencodable;
        message.CopyTo(buffer);
        return MessageAuthentication.TryProtect(buffer, message.Length, source, destination, key.Spi, key.Secret.AsSpan(), NextId(now), out bytesWritten, out error)
            ? ProtectOutcome.Protected
            : ProtectOutcome.Unencodable;
    }

    /// <summary>
    /// Decides whether a message received from <paramref name="source"/> may go on to the protocol handler. One thread
    /// at a time (it owns the replay memory); <see cref="Protect"/> may run on another.
    /// </summary>
    public AuthenticationOutcome Check(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination, DateTimeOffset receivedAt,
        out DecodeError error)
    {
        switch (MessageAuthentication.TryFind(message, out var option, out error))
        {
            case AuthenticationPresence.Absent:
                return Settings.Required ? AuthenticationOutcome.MissingOption : AuthenticationOutcome.AcceptedUnprotected;
            case AuthenticationPresence.Malformed:
                // A broken authentication option is never trusted; an unprotected message too broken to
                // decode is dropped here when protection is required, else left to the protocol
                // handler's decoder (which counts it as before).
                return Settings.Required || IsAuthenticationField(error.Field)
                    ? AuthenticationOutcome.MalformedOption
                    : AuthenticationOutcome.AcceptedUnprotected;
        }
        var key = Keys.Find(option.Spi);
        if (key is null)
            return AuthenticationOutcome.UnknownSpi;
        if (key.Peer != source)
            return AuthenticationOutcome.UnauthorizedPeer;
        if (!key.IsValidAt(receivedAt))
            return AuthenticationOutcome.KeyNotValid;
        if (!MessageAuthentication.Verify(message, option, source, destination, key.Secret.AsSpan()))
            return AuthenticationOutcome.BadMac;
        if (_replay.Check(source, option.MessageId, receivedAt) != ReplayVerdict.Fresh)
            return AuthenticationOutcome.Replay;
        _replay.Accept(source, option.MessageId, receivedAt);
        return AuthenticationOutcome.Accepted;
    }

    private static bool IsAuthenticationField(string field) =>
        field.StartsWith("mh.option.auth", StringComparison.Ordinal) || field == "mh.option.mesg_id";

    /// <summary>This node's next message identification: its clock, or one unit past the last when the clock has not moved on.</summary>
    private Pmip6Timestamp NextId(DateTimeOffset now)
    {
        var id = Pmip6Timestamp.FromDateTimeOffset(now);
        _lastId = id.Raw > _lastId.Raw ? id : new Pmip6Timestamp(_lastId.Raw + 1);
        return _lastId;
    }
}
