using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace Pmip6Akka.Actors.Persistence;

/// <summary>
/// String-manifest serializer for everything <see cref="IPmip6Serializable"/>.
/// <para>
/// Format: a hand-written compact binary layout per manifest. Each manifest names one exact
/// field layout and carries a version suffix (<c>"name.vN"</c>); a layout never changes once
/// shipped — a new layout gets a new manifest and the old reader stays, so old journal rows
/// always replay. Primitives: int/long as 7-bit varints, strings as varint(byteLength + 1)
/// then UTF-8 (0 = null), string[] as varint(count + 1) then strings. The reader must consume
/// the payload exactly, otherwise <see cref="SerializationException"/>.
/// </para>
/// </summary>
public sealed class Pmip6Serializer : SerializerWithStringManifest
{
    /// <summary>Serializer id stored in the journal's serializer_id column. Never change it.</summary>
    public const int Id = 5213;

    /// <summary>A manifest's layout; <see cref="Write"/> is null for a superseded layout that is only read (old journal rows).</summary>
    internal sealed record Codec(string Manifest, Type Type, Action<PayloadWriter, object>? Write, Func<PayloadReader, object> Read);

    private static readonly Codec[] Codecs =
    [
        .. Pmip6Codecs.All,
    ];

    private static readonly Dictionary<Type, Codec> ByType = Codecs.Where(c => c.Write is not null).ToDictionary(c => c.Type);
    private static readonly Dictionary<string, Codec> ByManifest = Codecs.ToDictionary(c => c.Manifest, StringComparer.Ordinal);

    public Pmip6Serializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => Id;

    /// <summary>Every manifest this serializer reads (for docs and specs).</summary>
    public static IReadOnlyCollection<string> Manifests => ByManifest.Keys;

    /// <summary>The manifests written today: one per serializable type.</summary>
    public static IReadOnlyCollection<string> CurrentManifests => [.. ByType.Values.Select(c => c.Manifest)];

    public override string Manifest(object o) => CodecFor(o).Manifest;

    public override byte[] ToBinary(object obj) => Encode(obj);

    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>Encodes without an ActorSystem (used for nested messages and by specs).</summary>
    public static byte[] Encode(object obj)
    {
        var codec = CodecFor(obj);
        // One writer per thread, reused: every persisted event is encoded here (issue 4: a stream, a writer and their
        // buffers per event were ~5 % of what the LMA allocated). A nested message encodes with a writer of its own.
        var w = t_writer is { InUse: false } cached ? cached : new PayloadWriter();
        t_writer ??= w;
        w.InUse = true;
        try
        {
            codec.Write!(w, obj);
            return w.ToArray();
        }
        finally
        {
            w.Reset();
        }
    }

    [ThreadStatic]
    private static PayloadWriter? t_writer;

    public static object Decode(byte[] bytes, string manifest)
    {
        if (!ByManifest.TryGetValue(manifest, out var codec))
            throw new SerializationException($"Pmip6Serializer: unknown manifest '{manifest}'");
        var r = new PayloadReader(bytes, manifest);
        var result = codec.Read(r);
        r.EnsureEnd();
        return result;
    }

    private static Codec CodecFor(object o) =>
        ByType.TryGetValue(o.GetType(), out var codec)
            ? codec
            : throw new SerializationException($"Pmip6Serializer: no codec registered for {o.GetType().FullName}");

    internal static Codec Make<T>(string manifest, Action<PayloadWriter, T> write, Func<PayloadReader, T> read)
        where T : class, IPmip6Serializable =>
        new(manifest, typeof(T), (w, o) => write(w, (T)o), r => read(r));

    /// <summary>A superseded layout of <typeparamref name="T"/>: still read, never written.</summary>
    internal static Codec ReadOnly<T>(string manifest, Func<PayloadReader, T> read)
        where T : class, IPmip6Serializable =>
        new(manifest, typeof(T), null, r => read(r));

    internal sealed class PayloadWriter
    {
        private readonly MemoryStream _ms = new(64);
        private readonly BinaryWriter _bw;

        public PayloadWriter() => _bw = new BinaryWriter(_ms, Encoding.UTF8, leaveOpen: true);

        /// <summary>Encoding with this writer (a thread's cached one) is under way.</summary>
        public bool InUse;

        /// <summary>Empties the writer for the next message; a buffer grown past 64 KiB by a large snapshot is let go.</summary>
        public void Reset()
        {
            InUse = false;
            _bw.Flush();
            _ms.SetLength(0);
            if (_ms.Capacity > 64 * 1024)
                _ms.Capacity = 256;
        }

        public void Int(int v) => _bw.Write7BitEncodedInt(v);
        public void Long(long v) => _bw.Write7BitEncodedInt64(v);

        public void String(string s)
        {
            // 0 is reserved for a future nullable field; today's fields are all non-null.
            if (s is null) throw new SerializationException("Pmip6Serializer: null string field");
            var length = Encoding.UTF8.GetByteCount(s);
            _bw.Write7BitEncodedInt(length + 1);
            if (length <= 256)
            {
                Span<byte> bytes = stackalloc byte[length];
                Encoding.UTF8.GetBytes(s, bytes);
                _bw.Write(bytes);
            }
            else
                _bw.Write(Encoding.UTF8.GetBytes(s));
        }

        public void Strings(string[] items)
        {
            if (items is null) throw new SerializationException("Pmip6Serializer: null string[] field");
            _bw.Write7BitEncodedInt(items.Length + 1);
            foreach (var s in items) String(s);
        }

        public void NullableString(string? s)
        {
            if (s is null) { _bw.Write7BitEncodedInt(0); return; }
            String(s);
        }

        public void Bool(bool v) => _bw.Write(v ? (byte)1 : (byte)0);

        public void Byte(byte v) => _bw.Write(v);

        public void Address(Pmip6Akka.Dataplane.Wire.Ipv6Address a)
        {
            Span<byte> bytes = stackalloc byte[16];
            a.Write(bytes);
            _bw.Write(bytes);
        }

        public void NullableAddress(Pmip6Akka.Dataplane.Wire.Ipv6Address? a)
        {
            Bool(a.HasValue);
            if (a is { } v) Address(v);
        }

        public void Prefixes(System.Collections.Immutable.ImmutableArray<Pmip6Akka.Dataplane.Wire.Ipv6Prefix> prefixes)
        {
            _bw.Write7BitEncodedInt(prefixes.IsDefault ? 0 : prefixes.Length);
            if (prefixes.IsDefault) return;
            foreach (var p in prefixes) { Address(p.Address); Byte(p.Length); }
        }

        public void NullableTimestamp(Pmip6Akka.Dataplane.Wire.Pmip6Timestamp? t)
        {
            Bool(t.HasValue);
            if (t is { } v) _bw.Write(v.Raw);
        }

        public void Blob(System.Collections.Immutable.ImmutableArray<byte> data)
        {
            var span = data.IsDefault ? [] : data.AsSpan();
            _bw.Write7BitEncodedInt(span.Length);
            _bw.Write(span);
        }

        public void Nested(IPmip6Serializable message)
        {
            String(CodecFor(message).Manifest);
            var bytes = Encode(message);
            _bw.Write7BitEncodedInt(bytes.Length);
            _bw.Write(bytes);
        }

        public byte[] ToArray() { _bw.Flush(); return _ms.ToArray(); }
    }

    internal sealed class PayloadReader(byte[] bytes, string manifest)
    {
        private int _pos;

        private SerializationException Corrupt(string what) =>
            new($"Pmip6Serializer: corrupt '{manifest}' payload ({what} at byte {_pos} of {bytes.Length})");

        private long Varint(int maxBytes)
        {
            long result = 0;
            for (var shift = 0; shift < maxBytes * 7; shift += 7)
            {
                if (_pos >= bytes.Length) throw Corrupt("truncated varint");
                var b = bytes[_pos++];
                result |= (long)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw Corrupt("overlong varint");
        }

        public int Int() => unchecked((int)(uint)Varint(5));
        public long Long() => Varint(10);

        private int Length()
        {
            var n = Varint(5);
            if (n < 0 || n > bytes.Length - _pos + 1) throw Corrupt("bad length");
            return (int)n;
        }

        public string String() => NullableStringCore() ?? throw Corrupt("unexpected null string");

        public string? NullableString() => NullableStringCore();

        public bool Bool() => Byte() switch { 0 => false, 1 => true, _ => throw Corrupt("bad bool") };

        public byte Byte()
        {
            if (_pos >= bytes.Length) throw Corrupt("truncated byte");
            return bytes[_pos++];
        }

        public System.Collections.Immutable.ImmutableArray<byte> Blob()
        {
            var n = Varint(5);
            if (n < 0 || n > bytes.Length - _pos) throw Corrupt("bad blob length");
            var blob = System.Collections.Immutable.ImmutableArray.Create(bytes, _pos, (int)n);
            _pos += (int)n;
            return blob;
        }

        public Pmip6Akka.Dataplane.Wire.Ipv6Address Address()
        {
            if (bytes.Length - _pos < 16) throw Corrupt("truncated address");
            var a = Pmip6Akka.Dataplane.Wire.Ipv6Address.Read(bytes.AsSpan(_pos, 16));
            _pos += 16;
            return a;
        }

        public Pmip6Akka.Dataplane.Wire.Ipv6Address? NullableAddress() => Bool() ? Address() : null;

        public System.Collections.Immutable.ImmutableArray<Pmip6Akka.Dataplane.Wire.Ipv6Prefix> Prefixes()
        {
            var n = Int();
            if (n < 0 || n > (bytes.Length - _pos) / 17) throw Corrupt("bad prefix count");
            var builder = System.Collections.Immutable.ImmutableArray.CreateBuilder<Pmip6Akka.Dataplane.Wire.Ipv6Prefix>(n);
            for (var i = 0; i < n; i++)
            {
                var address = Address();
                var length = Byte();
                if (length > 128) throw Corrupt("prefix length over 128");
                builder.Add(new Pmip6Akka.Dataplane.Wire.Ipv6Prefix(address, length));
            }
            return builder.MoveToImmutable();
        }

        public Pmip6Akka.Dataplane.Wire.Pmip6Timestamp? NullableTimestamp()
        {
            if (!Bool()) return null;
            if (bytes.Length - _pos < 8) throw Corrupt("truncated timestamp");
            var raw = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(_pos, 8));
            _pos += 8;
            return new Pmip6Akka.Dataplane.Wire.Pmip6Timestamp(raw);
        }

        private string? NullableStringCore()
        {
            var n = Length();
            if (n == 0) return null;
            var len = n - 1;
            if (len > bytes.Length - _pos) throw Corrupt("string past end");
            var s = Encoding.UTF8.GetString(bytes, _pos, len);
            _pos += len;
            return s;
        }

        public string[] Strings()
        {
            var n = Length();
            if (n == 0) throw Corrupt("unexpected null array");
            var items = new string[n - 1];
            for (var i = 0; i < items.Length; i++) items[i] = String();
            return items;
        }

        public IPmip6Serializable Nested()
        {
            var inner = String();
            var len = (int)Varint(5);
            if (len < 0 || len > bytes.Length - _pos) throw Corrupt("nested payload past end");
            var slice = bytes.AsSpan(_pos, len).ToArray();
            _pos += len;
            return Decode(slice, inner) as IPmip6Serializable ?? throw Corrupt("nested message not IPmip6Serializable");
        }

        public void EnsureEnd()
        {
            if (_pos != bytes.Length) throw Corrupt("trailing bytes");
        }
    }
}
