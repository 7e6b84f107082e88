// The writer's entry point for appending options to a message already encoded (authenticated
// signalling, MessageAuthentication.TryProtect) and the RFC 4285 §6 Message Identification option.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

public ref partial struct MobilityHeaderWriter
{
    private MobilityHeaderWriter(Span<byte> buffer, int length)
    {
        _buffer = buffer;
        _length = length;
        _overflow = length > buffer.Length;
    }

    /// <summary>
    /// Continues a message whose header and options occupy <paramref name="buffer"/>[..<paramref name="length"/>]
    /// (its final padding excluded): the next option is written at <paramref name="length"/>.
    /// </summary>
    public static MobilityHeaderWriter Resume(Span<byte> buffer, int length) => new(buffer, length);

    /// <summary>Message Identification (RFC 4285 §6), alignment 8n+2: a 64-bit timestamp.</summary>
    public void MessageIdentification(Pmip6Timestamp timestamp)
    {
        var data = Option(MobilityOptionType.MessageIdentification, MessageAuthentication.MessageIdentificationLength, 8, 2);
        if (data.IsEmpty) return;
        BinaryPrimitives.WriteUInt64BigEndian(data, timestamp.Raw);
    }
}
