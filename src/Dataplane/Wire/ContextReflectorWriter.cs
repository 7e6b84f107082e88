// Context Reflector items and messages (see ContextReflector.cs and docs/PROTOCOL.md): each item is
// one Experimental Mobility Option (RFC 5096, no alignment) whose first octet is our sub-type.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public ref partial struct MobilityHeaderWriter
{
    /// <summary>Context Reflection (Experimental MH, Kind 1, Version 1): add MN-ID, HNPs, then the items.</summary>
    public static MobilityHeaderWriter ContextReflection(Span<byte> buffer) =>
        Experimental(buffer, ExperimentalKinds.ContextReflection, ExperimentalKinds.ContextReflectorVersion);

    /// <summary>Context Reflection Acknowledgement (Experimental MH, Kind 2, Version 1): add MN-ID, sequence, status.</summary>
    public static MobilityHeaderWriter ContextReflectionAcknowledgement(Span<byte> buffer) =>
        Experimental(buffer, ExperimentalKinds.ContextReflectionAcknowledgement, ExperimentalKinds.ContextReflectorVersion);

    /// <summary>Next-MAG Address item (sub-type 1).</summary>
    public void ContextNextMag(Ipv6Address nextMag)
    {
        var data = ContextItem(ContextItemType.NextMagAddress, 16);
        if (data.IsEmpty) return;
        nextMag.Write(data);
    }

    /// <summary>Context Data item (sub-type 2): a feature and its opaque state, at most 253 octets.</summary>
    public void ContextData(ContextFeature feature, scoped ReadOnlySpan<byte> blob)
    {
        if (blob.Length > Wire.ContextItem.MaxBlobLength) { _overflow = true; return; }
        var data = ContextItem(ContextItemType.ContextData, 1 + blob.Length);
        if (data.IsEmpty) return;
        data[0] = (byte)feature;
        blob.CopyTo(data[1..]);
    }

    /// <summary>Context Lifetime item (sub-type 3), in seconds.</summary>
    public void ContextLifetime(uint seconds)
    {
        var data = ContextItem(ContextItemType.ContextLifetime, 4);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt32BigEndian(data, seconds);
    }

    /// <summary>Sequence Echo item (sub-type 4): the de-registration PBU's sequence number.</summary>
    public void ContextSequence(ushort sequence)
    {
        var data = ContextItem(ContextItemType.SequenceEcho, 2);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt16BigEndian(data, sequence);
    }

    /// <summary>Reflection Status item (sub-type 5).</summary>
    public void ContextStatus(ContextReflectionStatus status)
    {
        var data = ContextItem(ContextItemType.ReflectionStatus, 1);
        if (data.IsEmpty) return;
        data[0] = (byte)status;
    }

    /// <summary>Writes the option header and sub-type; returns the sub-type's data area (empty on overflow).</summary>
    private Span<byte> ContextItem(ContextItemType type, int length)
    {
        var data = Option(MobilityOptionType.Experimental, 1 + length, 1, 0);
        if (data.IsEmpty) return default;
        data[0] = (byte)type;
        return data[1..];
    }
}
