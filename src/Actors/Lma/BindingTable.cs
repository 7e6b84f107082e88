// A binding bucket's binding cache: each MN's sessions kept as rows of one struct array, not as objects (issue 4).
//
// Why: a registration used to leave six new objects per MN (its BindingState, MobilitySession, two arrays and two strings)
// that live as long as the binding, so every young collection while MNs registered promoted the last ~0.4 s of them
// (~3 MB at 10,000 registrations/s) and marked the cards their stores into old dictionaries dirtied: 13-25 ms pauses, the
// registration p99. Here a new binding is a row written into an array that is already old (values only, which the
// collector neither copies again nor scans), and a node holding its MN-ID (below).
//
// The MNs themselves are nodes of the table's own hash table, each with its MN-ID inline (ASCII up to 64 octets; a longer or
// other one as a string beside the nodes): with a Dictionary<string, ...> every registration stored its young MN-ID string
// into the old entry array, one card each, and the deadline queue a second (issue 4). A node's index is its handle: the
// deadline queue is keyed by it, an int. A handle is reused once its MN is gone; what the queue holds of it then fires
// early and harmlessly (see DeadlineQueue).
//
// The pure BindingState stays the type every decision and fold works on: TryGetValue builds one from the rows (young
// objects that die with the PBU that asked), and a fold stores the state it produced back into rows. The state built for
// the MN asked last is kept until the bucket has handled that PBU, so its decide and its fold build it once.
using System.Buffers;
using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

internal sealed class BindingTable : IEnumerable<KeyValuePair<string, BindingState>>
{
    /// <summary>MN-IDs of up to this many ASCII characters are kept inside their node.</summary>
    internal const int InlineKeyOctets = 64;

    /// <summary><see cref="Node.KeyLength"/> of a node whose MN-ID is in <see cref="_longKeys"/>.</summary>
    private const int LongKey = -1;

    /// <summary><see cref="Node.KeyLength"/> of a node on the free list.</summary>
    private const int FreeNode = -2;

    [InlineArray(InlineKeyOctets)]
    private struct InlineKey
    {
        private byte _first;
    }

    /// <summary>One MN: its MN-ID, its sessions' rows (a chain in the state's order) and the next session id. No references.</summary>
    private struct Node
    {
        public InlineKey Key;
        /// <summary>ASCII characters of <see cref="Key"/>; <see cref="LongKey"/> or <see cref="FreeNode"/>.</summary>
        public int KeyLength;
        public int Hash;
        /// <summary>1 + the next node of the same hash slot, or of the free list; 0 at the end.</summary>
        public int NextInSlot;
        public int First;
        public int Last;
        public int Sessions;
        public int NextSessionId;
    }

    [Flags]
    private enum RowFlags : byte
    {
        None = 0,
        /// <summary>The prefixes are in the side array (not exactly one).</summary>
        PrefixSet = 1,
        LinkLocal = 2,
        Timestamp = 4,
        DeleteAt = 8,
        /// <summary>The link-layer identifier is the hex of <see cref="Row.LinkLayer"/>'s first <see cref="Row.LinkLayerLength"/> octets.</summary>
        LinkLayerInline = 16,
    }

    /// <summary>One mobility session, without references: a store of it marks no card.</summary>
    private struct Row
    {
        public Ipv6Prefix Prefix;
        public Ipv6Address ProxyCoa;
        public Ipv6Address LinkLocalAddress;
        public DateTimeOffset RegisteredAt;
        public DateTimeOffset DeleteAt;
        public TimeSpan Lifetime;
        public Pmip6Timestamp Timestamp;
        public UInt128 LinkLayer;
        public int Id;
        /// <summary>The next session of the same MN, or of the free list; -1 at the end.</summary>
        public int Next;
        public ushort Sequence;
        public AccessTechnologyType AccessTechnology;
        public SessionState State;
        public RowFlags Flags;
        public byte LinkLayerLength;
    }

    // The MNs: a hash table of nodes, chained. _slots[hash & mask] is 1 + the first node of that slot (0: none); as many
    // slots as nodes, a power of two.
    private Node[] _nodes;
    private int[] _slots;
    private string?[] _longKeys;
    private int _nodesUsed;
    /// <summary>1 + the first free node (0: none); the free list is linked through <see cref="Node.NextInSlot"/>.</summary>
    private int _freeNode;
    private int _count;

    private Row[] _rows;
    // Beside the rows, for what is a reference: a link-layer identifier that is not upper-case hex of up to 16 octets (those
    // are packed into the row), and prefix sets of other than one prefix.
    private string?[] _linkLayerIds;
    private ImmutableArray<Ipv6Prefix>[] _prefixSets;
    private int _used;
    private int _free = -1;

    // The MN asked last and the state built for it; dropped by any change to that MN.
    private string? _cachedMn;
    private BindingState? _cached;

    public BindingTable(int capacity = 16)
    {
        var nodes = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 1));
        _nodes = new Node[nodes];
        _slots = new int[nodes];
        _longKeys = new string?[nodes];
        _rows = new Row[capacity];
        _linkLayerIds = new string?[capacity];
        _prefixSets = new ImmutableArray<Ipv6Prefix>[capacity];
    }

    /// <summary>MNs held.</summary>
    public int Count => _count;

    /// <summary>Mobility sessions held, all MNs together.</summary>
    public int Sessions { get; private set; }

    /// <summary>Rows allocated (held sessions plus free rows): the table's size, for the specs.</summary>
    internal int RowCapacity => _rows.Length;

    /// <summary>The MN's state, built from its rows (the same object while nothing of the MN changes).</summary>
    public bool TryGetValue(string mobileNodeId, [MaybeNullWhen(false)] out BindingState state)
    {
        if (_cached is not null && string.Equals(_cachedMn, mobileNodeId, StringComparison.Ordinal))
        {
            state = _cached;
            return true;
        }
        var index = Find(mobileNodeId);
        if (index < 0)
        {
            state = null;
            return false;
        }
        state = Build(mobileNodeId, _nodes[index]);
        _cachedMn = mobileNodeId;
        _cached = state;
        return true;
    }

    /// <summary>Stores <paramref name="value"/> as the MN's state (an empty one is kept as an MN without sessions: use Remove).</summary>
    public BindingState this[string mobileNodeId]
    {
        set => Set(mobileNodeId, value);
    }

    /// <summary>The earliest moment one of the MN's sessions expires or ends its de-registration delay, read from the rows.</summary>
    public DateTimeOffset? NextDeadline(string mobileNodeId)
    {
        var index = Find(mobileNodeId);
        return index < 0 ? null : NextDeadline(_nodes[index]);
    }

    /// <summary><see cref="NextDeadline(string)"/> of the MN that <paramref name="handle"/> is (a held one's, from <see cref="TryGetHandle"/>).</summary>
    public DateTimeOffset? NextDeadlineAt(int handle) => NextDeadline(_nodes[handle]);

    private DateTimeOffset? NextDeadline(in Node node)
    {
        DateTimeOffset? next = null;
        for (var i = node.First; i >= 0; i = _rows[i].Next)
        {
            ref readonly var row = ref _rows[i];
            var expires = MobilitySession.ExpiryOf(row.State, (row.Flags & RowFlags.DeleteAt) != 0 ? row.DeleteAt : null, row.RegisteredAt, row.Lifetime);
            if (next is not { } n || expires < n)
                next = expires;
        }
        return next;
    }

    /// <summary>
    /// A refresh from the serving MAG (<see cref="BindingState.TryRenew"/> decides whether it is one): its lease written into
    /// the MN's last row. False, and nothing changed, for anything else.
    /// </summary>
    public bool TryRenew(SessionRegistered r)
    {
        if (!TryGetValue(r.MobileNodeId, out var held) || !held.TryRenew(r))
            return false;
        // TryRenew wrote the lease into the cached state's last session; the rows follow.
        ref var row = ref _rows[_nodes[Find(r.MobileNodeId)].Last];
        row.RegisteredAt = r.RegisteredAt;
        row.Lifetime = r.Lifetime;
        row.Sequence = r.Sequence;
        if (r.Timestamp is { } timestamp)
        {
            row.Timestamp = timestamp;
            row.Flags |= RowFlags.Timestamp;
        }
        else
        {
            row.Timestamp = default;
            row.Flags &= ~RowFlags.Timestamp;
        }
        return true;
    }

    public bool Remove(string mobileNodeId)
    {
        var hash = mobileNodeId.GetHashCode();
        ref var link = ref _slots[hash & (_slots.Length - 1)];
        while (link != 0)
        {
            var index = link - 1;
            ref var node = ref _nodes[index];
            if (node.Hash == hash && KeyEquals(index, mobileNodeId))
            {
                link = node.NextInSlot;
                Sessions -= node.Sessions;
                Forget(mobileNodeId);
                Release(node.First);
                node.KeyLength = FreeNode;
                node.NextInSlot = _freeNode;
                _longKeys[index] = null;
                _freeNode = index + 1;
                _count--;
                return true;
            }
            link = ref node.NextInSlot;
        }
        return false;
    }

    /// <summary>Every MN's state, each built anew (a later renewal does not change them: what a snapshot may keep).</summary>
    public IEnumerable<BindingState> Values
    {
        get
        {
            for (var i = 0; i < _nodesUsed; i++)
                if (_nodes[i].KeyLength != FreeNode)
                    yield return Build(KeyOf(i), _nodes[i]);
        }
    }

    /// <summary>
    /// The states of up to <paramref name="limit"/> MNs (those with a session at <paramref name="atMag"/>, if given): only
    /// these are built, so a query of the node's index costs its answer, not the bucket's size.
    /// </summary>
    public IEnumerable<BindingState> Where(int limit, Ipv6Address? atMag)
    {
        if (limit <= 0)
            yield break;
        var taken = 0;
        for (var i = 0; i < _nodesUsed; i++)
        {
            if (_nodes[i].KeyLength == FreeNode || (atMag is { } mag && !HasSessionAt(_nodes[i], mag)))
                continue;
            yield return Build(KeyOf(i), _nodes[i]);
            if (++taken == limit)
                yield break;
        }
    }

    /// <summary>Each MN's handle and next deadline (<see cref="NextDeadline(string)"/>), read from the rows.</summary>
    public IEnumerable<(int Handle, DateTimeOffset Deadline)> Deadlines()
    {
        for (var i = 0; i < _nodesUsed; i++)
            if (_nodes[i].KeyLength != FreeNode && NextDeadline(_nodes[i]) is { } deadline)
                yield return (i, deadline);
    }

    /// <summary>The MN's handle: the same from its first store until it is removed, then another MN's.</summary>
    public bool TryGetHandle(string mobileNodeId, out int handle)
    {
        handle = Find(mobileNodeId);
        return handle >= 0;
    }

    /// <summary>The MN-ID of the MN that <paramref name="handle"/> is now; null if none.</summary>
    public string? MobileNodeAt(int handle) =>
        handle >= 0 && handle < _nodesUsed && _nodes[handle].KeyLength != FreeNode ? KeyOf(handle) : null;

    private bool HasSessionAt(in Node node, Ipv6Address mag)
    {
        for (var i = node.First; i >= 0; i = _rows[i].Next)
            if (_rows[i].ProxyCoa == mag)
                return true;
        return false;
    }

    public IEnumerator<KeyValuePair<string, BindingState>> GetEnumerator()
    {
        for (var i = 0; i < _nodesUsed; i++)
            if (_nodes[i].KeyLength != FreeNode)
            {
                var mn = KeyOf(i);
                yield return new(mn, Build(mn, _nodes[i]));
            }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Set(string mobileNodeId, BindingState state)
    {
        var index = Find(mobileNodeId);
        var existed = index >= 0;
        if (!existed)
            index = Add(mobileNodeId); // before the ref: adding may grow the array
        ref var node = ref _nodes[index];
        if (existed)
        {
            Release(node.First);
            Sessions -= node.Sessions;
        }
        Sessions += state.Sessions.Length;
        node.First = node.Last = -1;
        node.Sessions = state.Sessions.Length;
        node.NextSessionId = state.NextSessionId;
        foreach (var session in state.Sessions)
        {
            var row = Take();
            Write(row, session);
            if (node.Last < 0)
                node.First = row;
            else
                _rows[node.Last].Next = row;
            node.Last = row;
        }
        Forget(mobileNodeId);
    }

    /// <summary>The MN's node, or -1.</summary>
    private int Find(string mobileNodeId)
    {
        var hash = mobileNodeId.GetHashCode();
        for (var link = _slots[hash & (_slots.Length - 1)]; link != 0; link = _nodes[link - 1].NextInSlot)
            if (_nodes[link - 1].Hash == hash && KeyEquals(link - 1, mobileNodeId))
                return link - 1;
        return -1;
    }

    private bool KeyEquals(int index, string mobileNodeId)
    {
        ref readonly var node = ref _nodes[index];
        if (node.KeyLength == LongKey)
            return string.Equals(_longKeys[index], mobileNodeId, StringComparison.Ordinal);
        ReadOnlySpan<byte> key = node.Key;
        return node.KeyLength == mobileNodeId.Length && Ascii.Equals(key[..node.KeyLength], mobileNodeId);
    }

    /// <summary>The MN-ID of node <paramref name="index"/> (a new string unless it is kept as one).</summary>
    private string KeyOf(int index)
    {
        ref readonly var node = ref _nodes[index];
        if (node.KeyLength == LongKey)
            return _longKeys[index]!;
        ReadOnlySpan<byte> key = node.Key;
        return Encoding.ASCII.GetString(key[..node.KeyLength]);
    }

    /// <summary>A new node for the MN (not held yet), without sessions; its index.</summary>
    private int Add(string mobileNodeId)
    {
        int index;
        if (_freeNode != 0)
        {
            index = _freeNode - 1;
            _freeNode = _nodes[index].NextInSlot;
        }
        else
        {
            if (_nodesUsed == _nodes.Length)
                GrowNodes();
            index = _nodesUsed++;
        }
        ref var node = ref _nodes[index];
        node = default;
        node.Hash = mobileNodeId.GetHashCode();
        Span<byte> key = node.Key;
        if (mobileNodeId.Length <= InlineKeyOctets && Ascii.FromUtf16(mobileNodeId, key, out var written) == OperationStatus.Done)
            node.KeyLength = written;
        else
        {
            node.KeyLength = LongKey;
            _longKeys[index] = mobileNodeId;
        }
        ref var slot = ref _slots[node.Hash & (_slots.Length - 1)];
        node.NextInSlot = slot;
        slot = index + 1;
        _count++;
        return index;
    }

    /// <summary>Twice the nodes and slots; every node linked again into its slot.</summary>
    private void GrowNodes()
    {
        var capacity = _nodes.Length * 2;
        Array.Resize(ref _nodes, capacity);
        Array.Resize(ref _longKeys, capacity);
        _slots = new int[capacity];
        for (var i = 0; i < _nodesUsed; i++)
        {
            ref var node = ref _nodes[i];
            if (node.KeyLength == FreeNode)
                continue;
            ref var slot = ref _slots[node.Hash & (capacity - 1)];
            node.NextInSlot = slot;
            slot = i + 1;
        }
    }

    /// <summary>
    /// Drops the state kept for the MN asked last. The bucket calls it once a PBU is handled: a state kept by every bucket
    /// when a young collection runs would be promoted with it (one per bucket; with 1,024 buckets ~0.4 MB each time).
    /// </summary>
    public void ForgetLast()
    {
        _cachedMn = null;
        _cached = null;
    }

    private void Forget(string mobileNodeId)
    {
        if (string.Equals(_cachedMn, mobileNodeId, StringComparison.Ordinal))
        {
            _cachedMn = null;
            _cached = null;
        }
    }

    private void Write(int index, MobilitySession session)
    {
        ref var row = ref _rows[index];
        row = default;
        row.Next = -1;
        row.Id = session.Id;
        if (!session.Prefixes.IsDefault && session.Prefixes.Length == 1)
        {
            row.Prefix = session.Prefixes[0];
            _prefixSets[index] = default;
        }
        else
        {
            row.Flags |= RowFlags.PrefixSet;
            _prefixSets[index] = session.Prefixes;
        }
        row.ProxyCoa = session.ProxyCoa;
        row.AccessTechnology = session.AccessTechnology;
        if (TryPackLinkLayer(session.LinkLayerId, out var packed, out var octets))
        {
            row.LinkLayer = packed;
            row.LinkLayerLength = octets;
            row.Flags |= RowFlags.LinkLayerInline;
            _linkLayerIds[index] = null;
        }
        else
            _linkLayerIds[index] = session.LinkLayerId;
        if (session.LinkLocalAddress is { } linkLocal)
        {
            row.LinkLocalAddress = linkLocal;
            row.Flags |= RowFlags.LinkLocal;
        }
        row.RegisteredAt = session.RegisteredAt;
        row.Lifetime = session.Lifetime;
        if (session.LastTimestamp is { } timestamp)
        {
            row.Timestamp = timestamp;
            row.Flags |= RowFlags.Timestamp;
        }
        row.Sequence = session.LastSequence;
        row.State = session.State;
        if (session.DeleteAt is { } deleteAt)
        {
            row.DeleteAt = deleteAt;
            row.Flags |= RowFlags.DeleteAt;
        }
    }

    private BindingState Build(string mobileNodeId, in Node node)
    {
        var sessions = new MobilitySession[node.Sessions];
        var n = 0;
        for (var i = node.First; i >= 0; i = _rows[i].Next)
        {
            ref readonly var row = ref _rows[i];
            var prefixes = (row.Flags & RowFlags.PrefixSet) != 0 ? _prefixSets[i] : ImmutableCollectionsMarshal.AsImmutableArray(new[] { row.Prefix });
            var linkLayerId = (row.Flags & RowFlags.LinkLayerInline) != 0 ? UnpackLinkLayer(row.LinkLayer, row.LinkLayerLength) : _linkLayerIds[i];
            sessions[n++] = new MobilitySession(row.Id, prefixes, row.ProxyCoa, row.AccessTechnology, linkLayerId,
                (row.Flags & RowFlags.LinkLocal) != 0 ? row.LinkLocalAddress : null,
                row.RegisteredAt, row.Lifetime,
                (row.Flags & RowFlags.Timestamp) != 0 ? row.Timestamp : null,
                row.Sequence, row.State,
                (row.Flags & RowFlags.DeleteAt) != 0 ? row.DeleteAt : null);
        }
        return new BindingState(mobileNodeId, ImmutableCollectionsMarshal.AsImmutableArray(sessions), node.NextSessionId);
    }

    /// <summary>
    /// A link-layer identifier as the PBU decoder writes it (upper-case hex of up to 16 octets: a MAC address, an EUI-64)
    /// packed into the row; anything else stays a string beside the rows.
    /// </summary>
    private static bool TryPackLinkLayer(string? text, out UInt128 packed, out byte octets)
    {
        packed = 0;
        octets = 0;
        if (text is null || text.Length == 0 || text.Length > 32 || text.Length % 2 != 0)
            return false;
        foreach (var c in text)
            if (c is not (>= '0' and <= '9' or >= 'A' and <= 'F'))
                return false;
        Span<byte> bytes = stackalloc byte[16];
        Convert.FromHexString(text, bytes, out _, out var written);
        octets = (byte)written;
        for (var i = 0; i < written; i++)
            packed = (packed << 8) | bytes[i];
        return true;
    }

    private static string UnpackLinkLayer(UInt128 packed, byte octets)
    {
        Span<byte> bytes = stackalloc byte[16];
        for (var i = octets - 1; i >= 0; i--)
        {
            bytes[i] = (byte)packed;
            packed >>= 8;
        }
        return Convert.ToHexString(bytes[..octets]);
    }

    private int Take()
    {
        if (_free >= 0)
        {
            var index = _free;
            _free = _rows[index].Next;
            return index;
        }
        if (_used == _rows.Length)
        {
            var capacity = _rows.Length * 2;
            Array.Resize(ref _rows, capacity);
            Array.Resize(ref _linkLayerIds, capacity);
            Array.Resize(ref _prefixSets, capacity);
        }
        return _used++;
    }

    /// <summary>Puts a chain of rows on the free list, dropping the references beside them.</summary>
    private void Release(int first)
    {
        var i = first;
        while (i >= 0)
        {
            var next = _rows[i].Next;
            _linkLayerIds[i] = null;
            _prefixSets[i] = default;
            _rows[i].Next = _free;
            _free = i;
            i = next;
        }
    }
}
