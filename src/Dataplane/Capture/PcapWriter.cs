// Classic libpcap file format (tcpdump.org "pcap" file format, LINKTYPE_RAW = 101: each record is
// a bare IP packet). Enough to hand our packets to Wireshark/tshark as an independent decoder.
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Capture;

public sealed class PcapWriter : IDisposable
{
    public const uint Magic = 0xA1B2C3D4;
    public const uint LinkTypeRaw = 101;
    private const int MaxSnapLength = 65535;

    private readonly Stream _stream;

    public PcapWriter(Stream stream)
    {
        _stream = stream;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);  // version major
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);  // version minor
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);   // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], MaxSnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeRaw);
        _stream.Write(header);
    }

    public void Write(ReadOnlySpan<byte> packet, DateTimeOffset timestamp)
    {
        Span<byte> record = stackalloc byte[16];
        var micros = (timestamp.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)packet.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)packet.Length);
        _stream.Write(record);
        _stream.Write(packet);
    }

    public void Dispose() => _stream.Flush();
}
