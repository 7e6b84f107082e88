// Context Reflector sub-formats (docs/PROTOCOL.md, "Context Reflector sub-formats"). Nothing here
// takes a number from an IANA registry beyond the two RFC 5096 envelopes: the Experimental Mobility
// Option (type 18) and the Experimental Mobility Header (MH type 11, our Kind/Version envelope).
//
// One context item per Experimental Mobility Option; its first data octet is our sub-type:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//                                  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                  |   Type = 18   |  Opt Length   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   Sub-type    |  Sub-type data (Opt Length - 1 octets) ...
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//  1 Next-MAG Address        Opt Length 17: 128-bit address of the MAG the MN moves to
//  2 Context Data            Opt Length 2+n: Feature (8), n octets of opaque state (n <= 253)
//  3 Context Lifetime        Opt Length 5: seconds (32)
//  4 Sequence Echo           Opt Length 3: the de-registration PBU's Sequence # (16)
//  5 Reflection Status       Opt Length 2: status (8), ContextReflectionStatus
//
// Sub-types 0 and 6-255 (and empty options) are not ours: skipped and counted, never fatal.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Our sub-types inside the Experimental Mobility Option (RFC 5096).</summary>
public enum ContextItemType : byte
{
    NextMagAddress = 1,
    ContextData = 2,
    ContextLifetime = 3,
    SequenceEcho = 4,
    ReflectionStatus = 5,
}

/// <summary>The feature a Context Data item's opaque blob belongs to.</summary>
public enum ContextFeature : byte
{
    AaaSessionState = 1,
    QosProfile = 2,
    AccountingCounters = 3,
    HeaderCompressionState = 4,
}

/// <summary>Status of a Context Reflection Acknowledgement (below 128: accepted).</summary>
public enum ContextReflectionStatus : byte
{
    Accepted = 0,
    ReasonUnspecified = 128,
    /// <summary>The next MAG does not serve this MN, or does not take contexts from this LMA.</summary>
    NotAuthorized = 129,
    /// <summary>The context is larger than the next MAG keeps.</summary>
    InsufficientResources = 130,
}

/// <summary>Our message kinds inside the Experimental Mobility Header envelope (<see cref="ExperimentalMessage"/>).</summary>
public static class ExperimentalKinds
{
    /// <summary>Context Reflection, LMA to next MAG.</summary>
    public const byte ContextReflection = 1;
    /// <summary>Context Reflection Acknowledgement, next MAG to LMA.</summary>
    public const byte ContextReflectionAcknowledgement = 2;
    /// <summary>The only version of both messages.</summary>
    public const byte ContextReflectorVersion = 1;
}

/// <summary>Limits on a context, as explicit parameters with production defaults.</summary>
public sealed record ContextLimits
{
    public static readonly ContextLimits Default = new();

    /// <summary>Context items (of our sub-types) accepted in one message.</summary>
    public int MaxItems { get; init; } = 32;

    /// <summary>Largest blob of one Context Data item (the option itself allows 253).</summary>
    public int MaxBlobLength { get; init; } = 253;

    /// <summary>Largest sum of every Context Data blob of one message.</summary>
    public int MaxContextLength { get; init; } = 1024;
}

/// <summary>One validated context item of our sub-types.</summary>
public readonly ref struct ContextItem
{
    public const int NextMagLength = 17;
    public const int LifetimeLength = 5;
    public const int SequenceLength = 3;
    public const int StatusLength = 2;
    public const int ContextDataHeaderLength = 2;
    public const int MaxBlobLength = 255 - ContextDataHeaderLength;

    internal ContextItem(ContextItemType type, ReadOnlySpan<byte> data, int offset)
    {
        Type = type;
        Data = data;
        Offset = offset;
    }

    public ContextItemType Type { get; }
    /// <summary>The option's data after the sub-type octet.</summary>
    public ReadOnlySpan<byte> Data { get; }
    /// <summary>Offset of the option's Type octet from the start of the Mobility Header.</summary>
    public int Offset { get; }

    public Ipv6Address Address => Ipv6Address.Read(Data);
    public ContextFeature Feature => (ContextFeature)Data[0];
    public ReadOnlySpan<byte> Blob => Data[1..];
    public uint LifetimeSeconds => BinaryPrimitives.ReadUInt32BigEndian(Data);
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(Data);
    public ContextReflectionStatus Status => (ContextReflectionStatus)Data[0];
}

/// <summary>What one walk over a message's context items found (the first of each single item wins).</summary>
public readonly record struct ContextSummary(
    int Items,
    int ContextDataItems,
    int ContextLength,
    int UnknownCount,
    byte FirstUnknownSubType,
    Ipv6Address? NextMag,
    uint? LifetimeSeconds,
    ushort? Sequence,
    ContextReflectionStatus? Status)
{
    public bool IsEmpty => Items == 0;
}

/// <summary>
/// Walks the context items in the Experimental Mobility Options of a validated option set. Each item
/// of our sub-types is checked (length, blob size, item count, total context size); the walk stops at
/// the first bad one with <see cref="Error"/> set. Options of other sub-types are skipped and counted.
/// </summary>
public ref struct ContextItems
{
    private MobilityOptionSet.Enumerator _options;
    private readonly ContextLimits _limits;
    private int _items;
    private int _contextLength;

    private ContextItems(MobilityOptionSet.Enumerator options, ContextLimits limits)
    {
        _options = options;
        _limits = limits;
        Current = default;
        Error = default;
        UnknownCount = 0;
        FirstUnknownSubType = 0;
    }

    public static ContextItems Of(in MobilityOptionSet options, ContextLimits? limits = null) =>
        new(options.OfType(MobilityOptionType.Experimental), limits ?? ContextLimits.Default);

    public ContextItem Current { get; private set; }
    /// <summary>Set when <see cref="MoveNext"/> returned false because of a bad item.</summary>
    public DecodeError Error { get; private set; }
    public int UnknownCount { get; private set; }
    public byte FirstUnknownSubType { get; private set; }
    /// <summary>Sum of the Context Data blobs walked so far.</summary>
    public readonly int ContextLength => _contextLength;

    public readonly ContextItems GetEnumerator() => this;

    public bool MoveNext()
    {
        if (Error.IsError)
            return false;
        while (_options.MoveNext())
        {
            var option = _options.Current;
            var data = option.Data;
            var at = option.Offset;
            if (data.IsEmpty || data[0] is 0 or > (byte)ContextItemType.ReflectionStatus)
            {
                if (UnknownCount++ == 0)
                    FirstUnknownSubType = data.IsEmpty ? (byte)0 : data[0];
                continue;
            }
            var type = (ContextItemType)data[0];
            var (field, expected) = type switch
            {
                ContextItemType.NextMagAddress => ("ctx.next_mag", ContextItem.NextMagLength),
                ContextItemType.ContextLifetime => ("ctx.lifetime", ContextItem.LifetimeLength),
                ContextItemType.SequenceEcho => ("ctx.sequence", ContextItem.SequenceLength),
                ContextItemType.ReflectionStatus => ("ctx.status", ContextItem.StatusLength),
                _ => ("ctx.data", 0),
            };
            if (expected != 0 && data.Length != expected)
                return Fail(data.Length < expected ? DecodeErrorReason.ShortBuffer : DecodeErrorReason.BadLength, field, at + 1);
            if (type == ContextItemType.ContextData)
            {
                if (data.Length < ContextItem.ContextDataHeaderLength)
                    return Fail(DecodeErrorReason.ShortBuffer, "ctx.data.feature", at + 1);
                var blob = data.Length - ContextItem.ContextDataHeaderLength;
                if (blob > _limits.MaxBlobLength)
                    return Fail(DecodeErrorReason.LimitExceeded, "ctx.data", at + 1);
                _contextLength += blob;
                if (_contextLength > _limits.MaxContextLength)
                    return Fail(DecodeErrorReason.LimitExceeded, "ctx.context_length", at);
            }
            if (++_items > _limits.MaxItems)
                return Fail(DecodeErrorReason.LimitExceeded, "ctx.items", at);
            Current = new ContextItem(type, data[1..], at);
            return true;
        }
        return false;
    }

    private bool Fail(DecodeErrorReason reason, string field, int offset)
    {
        Error = new DecodeError(reason, field, offset);
        Current = default;
        return false;
    }

    /// <summary>Walks every item once: counts, total context size and the first of each single item.</summary>
    public static bool TrySummarize(in MobilityOptionSet options, out ContextSummary summary, out DecodeError error, ContextLimits? limits = null)
    {
        summary = default;
        var items = Of(options, limits);
        int count = 0, data = 0;
        Ipv6Address? nextMag = null;
        uint? lifetime = null;
        ushort? sequence = null;
        ContextReflectionStatus? status = null;
        while (items.MoveNext())
        {
            var item = items.Current;
            count++;
            switch (item.Type)
            {
                case ContextItemType.NextMagAddress: nextMag ??= item.Address; break;
                case ContextItemType.ContextData: data++; break;
                case ContextItemType.ContextLifetime: lifetime ??= item.LifetimeSeconds; break;
                case ContextItemType.SequenceEcho: sequence ??= item.Sequence; break;
                case ContextItemType.ReflectionStatus: status ??= item.Status; break;
            }
        }
        error = items.Error;
        if (error.IsError)
            return false;
        summary = new ContextSummary(count, data, items.ContextLength, items.UnknownCount, items.FirstUnknownSubType,
            nextMag, lifetime, sequence, status);
        return true;
    }
}

/// <summary>
/// Context Reflection (Experimental MH, Kind 1, Version 1), LMA to next MAG: MN-ID (RFC 4283), one
/// or more HNP (RFC 5213), then context items: Sequence Echo and Context Lifetime (mandatory), Context
/// Data (any number). Enumerate the Context Data with <see cref="ContextItems.Of"/> over <see cref="Options"/>.
/// </summary>
public readonly ref struct ContextReflection
{
    public MobileNodeIdentifier MobileNodeId { get; init; }
    public ushort Sequence { get; init; }
    public uint LifetimeSeconds { get; init; }
    public ContextSummary Context { get; init; }
    public MobilityOptionSet Options { get; init; }

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ContextReflection message, out DecodeError error,
        DecodeLimits? limits = null, ContextLimits? contextLimits = null)
    {
        message = default;
        if (!MobilityHeader.TryDecode(bytes, out var mh, out error))
            return false;
        return TryDecode(mh, out message, out error, limits, contextLimits);
    }

    public static bool TryDecode(MobilityHeader mh, out ContextReflection message, out DecodeError error,
        DecodeLimits? limits = null, ContextLimits? contextLimits = null)
    {
        message = default;
        if (!Envelope.TryOpen(mh, ExperimentalKinds.ContextReflection, out var options, out error, limits))
            return false;
        if (!options.TryGetMobileNodeIdentifier(out var mnId))
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.reflection.mn_id", ExperimentalMessage.OptionsOffset);
        if (options.HomeNetworkPrefixCount == 0)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.reflection.hnp", ExperimentalMessage.OptionsOffset);
        if (!ContextItems.TrySummarize(options, out var summary, out error, contextLimits))
            return false;
        if (summary.Sequence is not { } sequence)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.sequence", ExperimentalMessage.OptionsOffset);
        if (summary.LifetimeSeconds is not { } lifetime)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.lifetime", ExperimentalMessage.OptionsOffset);
        message = new ContextReflection
        {
            MobileNodeId = mnId, Sequence = sequence, LifetimeSeconds = lifetime, Context = summary, Options = options,
        };
        return true;
    }
}

/// <summary>
/// Context Reflection Acknowledgement (Experimental MH, Kind 2, Version 1), next MAG to LMA: MN-ID,
/// Sequence Echo (the reflection's) and Reflection Status, all mandatory.
/// </summary>
public readonly ref struct ContextReflectionAcknowledgement
{
    public MobileNodeIdentifier MobileNodeId { get; init; }
    public ushort Sequence { get; init; }
    public ContextReflectionStatus Status { get; init; }
    public MobilityOptionSet Options { get; init; }

    public bool IsAccepted => (byte)Status < 128;

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ContextReflectionAcknowledgement message, out DecodeError error,
        DecodeLimits? limits = null)
    {
        message = default;
        if (!MobilityHeader.TryDecode(bytes, out var mh, out error))
            return false;
        return TryDecode(mh, out message, out error, limits);
    }

    public static bool TryDecode(MobilityHeader mh, out ContextReflectionAcknowledgement message, out DecodeError error,
        DecodeLimits? limits = null)
    {
        message = default;
        if (!Envelope.TryOpen(mh, ExperimentalKinds.ContextReflectionAcknowledgement, out var options, out error, limits))
            return false;
        if (!options.TryGetMobileNodeIdentifier(out var mnId))
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.ack.mn_id", ExperimentalMessage.OptionsOffset);
        if (!ContextItems.TrySummarize(options, out var summary, out error))
            return false;
        if (summary.Sequence is not { } sequence)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.sequence", ExperimentalMessage.OptionsOffset);
        if (summary.Status is not { } status)
            return DecodeError.Fail(out error, DecodeErrorReason.MissingMandatoryField, "ctx.status", ExperimentalMessage.OptionsOffset);
        message = new ContextReflectionAcknowledgement { MobileNodeId = mnId, Sequence = sequence, Status = status, Options = options };
        return true;
    }
}

internal static class Envelope
{
    public static bool TryOpen(MobilityHeader mh, byte kind, out MobilityOptionSet options, out DecodeError error, DecodeLimits? limits)
    {
        options = default;
        if (!ExperimentalMessage.TryDecode(mh, out var message, out error, limits))
            return false;
        if (message.Kind != kind)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.experimental.kind", ExperimentalMessage.KindOffset);
        if (message.Version != ExperimentalKinds.ContextReflectorVersion)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "mh.experimental.version", ExperimentalMessage.VersionOffset);
        options = message.Options;
        return true;
    }
}
