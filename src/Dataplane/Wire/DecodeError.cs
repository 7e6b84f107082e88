// Decode errors shared by every codec in this folder. Nothing on a decode path throws: each
// TryDecode returns false and fills a DecodeError naming the field, the offset and the reason.
namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Why a decoder refused its input.</summary>
public enum DecodeErrorReason : byte
{
    None = 0,
    /// <summary>The buffer ends before a fixed-size field does.</summary>
    ShortBuffer,
    /// <summary>A length field claims more octets than the buffer (or the enclosing header) holds.</summary>
    LengthOverrun,
    /// <summary>A length field has a value the RFC forbids for this field (e.g. HNP option length != 18).</summary>
    BadLength,
    /// <summary>An option does not start at the xn+y offset its RFC requires.</summary>
    BadAlignment,
    /// <summary>The Internet checksum over the pseudo-header and payload does not verify.</summary>
    BadChecksum,
    /// <summary>A field that must hold a known value does not (version, payload proto, ...).</summary>
    BadValue,
    /// <summary>A mandatory field or message type this codec does not know.</summary>
    UnknownMandatoryField,
    /// <summary>A configured limit (option count, extension header count) was exceeded.</summary>
    LimitExceeded,
    /// <summary>A field or option the message must carry is absent (e.g. a Context Reflection without MN-ID).</summary>
    MissingMandatoryField,
}

/// <summary>
/// The reason a decode failed: which field, at which octet offset of the decoded span, and why.
/// <see cref="Field"/> is always a string literal, so building an error never allocates.
/// </summary>
public readonly record struct DecodeError(DecodeErrorReason Reason, string Field, int Offset)
{
    public static DecodeError None => default;

    public bool IsError => Reason != DecodeErrorReason.None;

    /// <summary>A stable, metric-friendly name for counters ("short-buffer", "bad-checksum", ...).</summary>
    public string ReasonName => ReasonNames[(int)Reason];

    private static readonly string[] ReasonNames =
    [
        "none", "short-buffer", "length-overrun", "bad-length", "bad-alignment", "bad-checksum",
        "bad-value", "unknown-mandatory-field", "limit-exceeded", "missing-mandatory-field",
    ];

    public override string ToString() => Reason == DecodeErrorReason.None
        ? "no error"
        : $"{ReasonName} in {Field} at offset {Offset}";

    internal static bool Fail(out DecodeError error, DecodeErrorReason reason, string field, int offset)
    {
        error = new DecodeError(reason, field, offset);
        return false;
    }
}

/// <summary>Limits applied while decoding, as explicit parameters with production defaults.</summary>
public sealed record DecodeLimits
{
    public static readonly DecodeLimits Default = new();

    /// <summary>Maximum number of mobility options (padding excluded) accepted in one message.</summary>
    public int MaxMobilityOptions { get; init; } = 64;

    /// <summary>Maximum number of IPv6 extension headers walked before the upper layer.</summary>
    public int MaxExtensionHeaders { get; init; } = 8;

    /// <summary>Maximum number of Neighbor Discovery options accepted in one message.</summary>
    public int MaxNdOptions { get; init; } = 64;

    /// <summary>Reject options that do not meet the alignment their RFC requires (RFC 6275 §6.2).</summary>
    public bool EnforceOptionAlignment { get; init; } = true;
}
