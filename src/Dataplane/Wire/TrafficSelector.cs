// IPv6 binary traffic selector (RFC 6088 §3.2), carried in the Traffic Selector sub-option of the
// Flow Identification option (RFC 6089 §4.2.1.4). A 16-bit flag word says which range bounds follow;
// each present field follows in flag order (A first), at its natural size, without padding.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  TS Format=2  |   Reserved    |A|B|C|D|E|F|G|H|I|J|K|L|M|N|O|P|
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | (A) Start Source Address (128)  (B) End Source Address (128)  |
//  | (C) Start Destination Address   (D) End Destination Address   |
//  | (E) Start IPsec SPI (32)        (F) End IPsec SPI (32)        |
//  | (G) Start Flow Label (32)       (H) End Flow Label (32)       |
//  | (I) Start Source Port (16)      (J) End Source Port (16)      |
//  | (K) Start Dest. Port (16)       (L) End Dest. Port (16)       |
//  | (M) Start Traffic Class (8)     (N) End Traffic Class (8)     |
//  | (O) Start Next Header (8)       (P) End Next Header (8)       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A start bound alone matches that one value; start and end match the inclusive range. An end bound
// without its start, or an end below its start, is refused (bad-value). The flow label travels in a
// 32-bit field whose 12 high bits are sent as zero and ignored on receipt (see docs/PROTOCOL.md).
using System.Buffers.Binary;

namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Traffic Selector formats (RFC 6089 §4.2.1.4, RFC 6088).</summary>
public enum TrafficSelectorFormat : byte
{
    Reserved = 0,
    Ipv4Binary = 1,
    Ipv6Binary = 2,
}

/// <summary>The A-P flags of an IPv6 binary traffic selector (RFC 6088 §3.2): which bounds are present.</summary>
[Flags]
public enum TrafficSelectorFields : ushort
{
    None = 0,
    StartSourceAddress = 0x8000,      // A
    EndSourceAddress = 0x4000,        // B
    StartDestinationAddress = 0x2000, // C
    EndDestinationAddress = 0x1000,   // D
    StartSpi = 0x0800,                // E
    EndSpi = 0x0400,                  // F
    StartFlowLabel = 0x0200,          // G
    EndFlowLabel = 0x0100,            // H
    StartSourcePort = 0x0080,         // I
    EndSourcePort = 0x0040,           // J
    StartDestinationPort = 0x0020,    // K
    EndDestinationPort = 0x0010,      // L
    StartTrafficClass = 0x0008,       // M
    EndTrafficClass = 0x0004,         // N
    StartNextHeader = 0x0002,         // O
    EndNextHeader = 0x0001,           // P
}

/// <summary>An inclusive range of one selector field; <see cref="IsAny"/> when the selector leaves it open.</summary>
public readonly record struct SelectorRange<T>(bool IsSet, T Start, T End) where T : struct, IComparable<T>
{
    public static SelectorRange<T> Any => default;
    public static SelectorRange<T> Exactly(T value) => new(true, value, value);
    public static SelectorRange<T> Between(T start, T end) => new(true, start, end);

    public bool IsAny => !IsSet;
    public bool Contains(T value) => !IsSet || (value.CompareTo(Start) >= 0 && value.CompareTo(End) <= 0);
}

/// <summary>
/// A decoded IPv6 binary traffic selector. A field is either open (any value) or an inclusive range;
/// an exact value is a range whose start and end are equal, encoded with the start bound only.
/// </summary>
public readonly record struct Ipv6TrafficSelector
{
    /// <summary>TS Format, Reserved and the flag word.</summary>
    public const int HeaderLength = 4;
    /// <summary>Every bound present: 4 addresses, 4 × 32-bit, 4 × 16-bit, 4 × 8-bit fields.</summary>
    public const int MaxLength = HeaderLength + 4 * 16 + 4 * 4 + 4 * 2 + 4 * 1;
    public const uint MaxFlowLabel = 0xFFFFF;

    public SelectorRange<Ipv6Address> Source { get; init; }
    public SelectorRange<Ipv6Address> Destination { get; init; }
    public SelectorRange<uint> Spi { get; init; }
    public SelectorRange<uint> FlowLabel { get; init; }
    public SelectorRange<ushort> SourcePort { get; init; }
    public SelectorRange<ushort> DestinationPort { get; init; }
    public SelectorRange<byte> TrafficClass { get; init; }
    public SelectorRange<byte> NextHeader { get; init; }

    /// <summary>The flags this selector is encoded with (an end bound only where the range is wider than one value).</summary>
    public TrafficSelectorFields Fields =>
        Flags(Source, TrafficSelectorFields.StartSourceAddress) | Flags(Destination, TrafficSelectorFields.StartDestinationAddress)
        | Flags(Spi, TrafficSelectorFields.StartSpi) | Flags(FlowLabel, TrafficSelectorFields.StartFlowLabel)
        | Flags(SourcePort, TrafficSelectorFields.StartSourcePort) | Flags(DestinationPort, TrafficSelectorFields.StartDestinationPort)
        | Flags(TrafficClass, TrafficSelectorFields.StartTrafficClass) | Flags(NextHeader, TrafficSelectorFields.StartNextHeader);

    /// <summary>Octets this selector takes on the wire, <see cref="HeaderLength"/> included.</summary>
    public int EncodedLength
    {
        get
        {
            var fields = (int)Fields;
            return HeaderLength + 16 * Count(fields >> 12) + 4 * Count(fields >> 8) + 2 * Count(fields >> 4) + Count(fields);
        }
    }

    private static int Count(int nibble) => System.Numerics.BitOperations.PopCount((uint)nibble & 0xF);

    private static TrafficSelectorFields Flags<T>(SelectorRange<T> range, TrafficSelectorFields start) where T : struct, IComparable<T> =>
        !range.IsSet ? 0
        : range.Start.CompareTo(range.End) == 0 ? start
        : start | (TrafficSelectorFields)((ushort)start >> 1);

    /// <summary>Whether a packet with these header fields falls inside every bound of the selector.</summary>
    /// <remarks>A selector that names ports or an SPI never matches a packet without them (<paramref name="hasPorts"/> false).</remarks>
    public bool Matches(Ipv6Address source, Ipv6Address destination, uint flowLabel, byte trafficClass, byte nextHeader,
        bool hasPorts, ushort sourcePort, ushort destinationPort) =>
        Source.Contains(source) && Destination.Contains(destination) && FlowLabel.Contains(flowLabel)
        && TrafficClass.Contains(trafficClass) && NextHeader.Contains(nextHeader) && Spi.IsAny
        && (hasPorts ? SourcePort.Contains(sourcePort) && DestinationPort.Contains(destinationPort) : SourcePort.IsAny && DestinationPort.IsAny);

    /// <summary>
    /// Decodes a Traffic Selector sub-option's data (TS Format, Reserved, flags, fields). The data must be
    /// exactly as long as its flags say. <paramref name="offset"/> is where <paramref name="data"/> starts in
    /// the Mobility Header, for the error.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, int offset, out Ipv6TrafficSelector selector, out DecodeError error)
    {
        selector = default;
        if (data.Length < HeaderLength)
            return DecodeError.Fail(out error, DecodeErrorReason.ShortBuffer, "ts.header", offset);
        if (data[0] != (byte)TrafficSelectorFormat.Ipv6Binary)
            return DecodeError.Fail(out error, DecodeErrorReason.BadValue, "ts.format", offset);
        var fields = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        var reader = new FieldReader(data, HeaderLength, offset, fields);
        var result = new Ipv6TrafficSelector
        {
            Source = reader.Address(TrafficSelectorFields.StartSourceAddress, "ts.source"),
            Destination = reader.Address(TrafficSelectorFields.StartDestinationAddress, "ts.destination"),
            Spi = reader.UInt32(TrafficSelectorFields.StartSpi, "ts.spi", uint.MaxValue),
            FlowLabel = reader.UInt32(TrafficSelectorFields.StartFlowLabel, "ts.flow_label", MaxFlowLabel),
            SourcePort = reader.UInt16(TrafficSelectorFields.StartSourcePort, "ts.source_port"),
            DestinationPort = reader.UInt16(TrafficSelectorFields.StartDestinationPort, "ts.destination_port"),
            TrafficClass = reader.Byte(TrafficSelectorFields.StartTrafficClass, "ts.traffic_class"),
            NextHeader = reader.Byte(TrafficSelectorFields.StartNextHeader, "ts.next_header"),
        };
        if (reader.Error.IsError)
        {
            error = reader.Error;
            return false;
        }
        if (reader.Position != data.Length)
            return DecodeError.Fail(out error, DecodeErrorReason.BadLength, "ts.length", offset + reader.Position);
        selector = result;
        error = default;
        return true;
    }

    /// <summary>Writes TS Format, Reserved, flags and the present fields; false when <paramref name="destination"/> is too short.</summary>
    public bool TryWrite(Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        var length = EncodedLength;
        if (destination.Length < length || !IsWritable)
            return false;
        destination[0] = (byte)TrafficSelectorFormat.Ipv6Binary;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Fields);
        var at = HeaderLength;
        Write(Source, ref at, destination, 16, static (s, v) => v.Write(s));
        Write(Destination, ref at, destination, 16, static (s, v) => v.Write(s));
        Write(Spi, ref at, destination, 4, static (s, v) => BinaryPrimitives.WriteUInt32BigEndian(s, v));
        Write(FlowLabel, ref at, destination, 4, static (s, v) => BinaryPrimitives.WriteUInt32BigEndian(s, v));
        Write(SourcePort, ref at, destination, 2, static (s, v) => BinaryPrimitives.WriteUInt16BigEndian(s, v));
        Write(DestinationPort, ref at, destination, 2, static (s, v) => BinaryPrimitives.WriteUInt16BigEndian(s, v));
        Write(TrafficClass, ref at, destination, 1, static (s, v) => s[0] = v);
        Write(NextHeader, ref at, destination, 1, static (s, v) => s[0] = v);
        bytesWritten = at;
        return true;
    }

    /// <summary>Every range ordered and the flow label within 20 bits: what the decoder would accept.</summary>
    public bool IsWritable =>
        Ordered(Source) && Ordered(Destination) && Ordered(Spi) && Ordered(FlowLabel) && Ordered(SourcePort)
        && Ordered(DestinationPort) && Ordered(TrafficClass) && Ordered(NextHeader)
        && (!FlowLabel.IsSet || FlowLabel.End <= MaxFlowLabel);

    private static bool Ordered<T>(SelectorRange<T> range) where T : struct, IComparable<T> =>
        !range.IsSet || range.Start.CompareTo(range.End) <= 0;

    private delegate void FieldWriter<T>(Span<byte> destination, T value);

    private static void Write<T>(SelectorRange<T> range, ref int at, Span<byte> destination, int size, FieldWriter<T> write)
        where T : struct, IComparable<T>
    {
        if (!range.IsSet)
            return;
        write(destination[at..], range.Start);
        at += size;
        if (range.Start.CompareTo(range.End) == 0)
            return;
        write(destination[at..], range.End);
        at += size;
    }

    /// <summary>Reads the present bounds in flag order; the first problem sticks in <see cref="Error"/>.</summary>
    private ref struct FieldReader(ReadOnlySpan<byte> data, int position, int offset, ushort fields)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position = position;
        public DecodeError Error;

        public SelectorRange<Ipv6Address> Address(TrafficSelectorFields start, string field) =>
            Range(start, field, 16, static s => Ipv6Address.Read(s));

        public SelectorRange<uint> UInt32(TrafficSelectorFields start, string field, uint mask) =>
            Range<uint>(start, field, 4, mask == uint.MaxValue ? static s => BinaryPrimitives.ReadUInt32BigEndian(s)
                : static s => BinaryPrimitives.ReadUInt32BigEndian(s) & MaxFlowLabel);

        public SelectorRange<ushort> UInt16(TrafficSelectorFields start, string field) =>
            Range(start, field, 2, static s => BinaryPrimitives.ReadUInt16BigEndian(s));

        public SelectorRange<byte> Byte(TrafficSelectorFields start, string field) =>
            Range(start, field, 1, static s => s[0]);

        private delegate T Read<T>(ReadOnlySpan<byte> source);

        private SelectorRange<T> Range<T>(TrafficSelectorFields start, string field, int size, Read<T> read)
            where T : struct, IComparable<T>
        {
            var end = (TrafficSelectorFields)((ushort)start >> 1);
            var hasStart = (fields & (ushort)start) != 0;
            var hasEnd = (fields & (ushort)end) != 0;
            if (Error.IsError || (!hasStart && !hasEnd))
                return SelectorRange<T>.Any;
            if (!hasStart)
                return Fail<T>(DecodeErrorReason.BadValue, "ts.flags", offset + 2);
            if (Position + size > _data.Length)
                return Fail<T>(DecodeErrorReason.ShortBuffer, field, offset + Position);
            var first = read(_data[Position..]);
            Position += size;
            if (!hasEnd)
                return SelectorRange<T>.Exactly(first);
            if (Position + size > _data.Length)
                return Fail<T>(DecodeErrorReason.ShortBuffer, field, offset + Position);
            var last = read(_data[Position..]);
            if (last.CompareTo(first) < 0)
                return Fail<T>(DecodeErrorReason.BadValue, field, offset + Position);
            Position += size;
            return SelectorRange<T>.Between(first, last);
        }

        private SelectorRange<T> Fail<T>(DecodeErrorReason reason, string field, int at) where T : struct, IComparable<T>
        {
            Error = new DecodeError(reason, field, at);
            return SelectorRange<T>.Any;
        }
    }
}
