// The MAG–LMA security associations of one node (RFC 4285 §5: SPI, key, algorithm), as read from its
// keys file. Immutable: a reload builds a new ring. During a roll-over a peer has two (or more)
// valid keys: messages are sent with the newest and accepted with any that is valid at reception.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Security;

public enum AuthenticationAlgorithm : byte
{
    /// <summary>HMAC-SHA-256 (RFC 4868 §2), the whole 256-bit output as authenticator.</summary>
    HmacSha256 = 1,
}

/// <summary>One key shared with one peer, named by its SPI, valid from <see cref="NotBefore"/> until <see cref="NotAfter"/> (either open).</summary>
public sealed record SecurityAssociation(uint Spi, Ipv6Address Peer, AuthenticationAlgorithm Algorithm, ImmutableArray<byte> Secret,
    DateTimeOffset? NotBefore = null, DateTimeOffset? NotAfter = null)
{
    /// <summary>SPIs 0-255 are reserved, as for IPsec (RFC 4303 §2.1).</summary>
    public const uint MinSpi = 256;
    /// <summary>RFC 4868 §2.1.1: an HMAC-SHA-256 key as long as the hash output.</summary>
    public const int MinSecretLength = 32;

    public bool IsValidAt(DateTimeOffset now) => (NotBefore is not { } from || now >= from) && (NotAfter is not { } until || now < until);

    /// <summary>Never prints the secret.</summary>
    public override string ToString() => $"SPI {Spi} for {Peer}";
}

public sealed class KeyRing
{
    public static readonly KeyRing Empty = new([]);

    private readonly ImmutableArray<SecurityAssociation> _keys;
    private readonly Dictionary<uint, SecurityAssociation> _bySpi;

    /// <summary>Throws <see cref="ArgumentException"/> on a duplicate SPI, a reserved SPI or a short secret (the keys file reader names them first).</summary>
    public KeyRing(IEnumerable<SecurityAssociation> keys)
    {
        _keys = [.. keys];
        _bySpi = new Dictionary<uint, SecurityAssociation>(_keys.Length);
        foreach (var key in _keys)
        {
            if (key.Spi < SecurityAssociation.MinSpi)
                throw new ArgumentException($"SPI {key.Spi} is reserved (0-255)");
            if (key.Secret.Length < SecurityAssociation.MinSecretLength)
                throw new ArgumentException($"{key}: secret shorter than {SecurityAssociation.MinSecretLength} octets");
            if (!_bySpi.TryAdd(key.Spi, key))
                throw new ArgumentException($"SPI {key.Spi} appears twice");
        }
    }

    public int Count => _keys.Length;

    public ImmutableArray<SecurityAssociation> Keys => _keys;

    public SecurityAssociation? Find(uint spi) => _bySpi.GetValueOrDefault(spi);

    /// <summary>
    /// The key to send to <paramref name="peer"/> with: of those valid at <paramref name="now"/>, the one
    /// that became valid last (a key without not-before counts as the oldest); on a tie the later in the file.
    /// </summary>
    public SecurityAssociation? ForSending(Ipv6Address peer, DateTimeOffset now)
    {
        SecurityAssociation? best = null;
        foreach (var key in _keys)
            if (key.Peer == peer && key.IsValidAt(now) && (best is null || (key.NotBefore ?? DateTimeOffset.MinValue) >= (best.NotBefore ?? DateTimeOffset.MinValue)))
                best = key;
        return best;
    }
}
