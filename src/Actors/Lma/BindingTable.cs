// A binding bucket's binding cache: each MN's sessions kept as rows of one struct array, not as objects (issue 4).
//
// Why: a registration used to leave six new objects per MN (its BindingState, MobilitySession, two arrays and two strings)
// that live as long as the binding, so every young collection while MNs registered promoted the last ~0.4 s of them
// (~3 MB at 10,000 registrations/s) and marked the cards their stores into old dictionaries dirtied: 13-25 ms pauses, the
// registration p99. Here a new binding is a row written into an array that is already old (values only, which the
// collector neither copies again nor scans), plus its MN-ID string as the key of the MN's entry.
//
// The pure BindingState stays the type every decision and fold works on: TryGetValue builds one from the rows (young
// objects that die with the PBU that asked), and a fold stores the state it produced back into rows. The state built for
// the MN asked last is kept until the bucket has handled that PBU, so its decide and its fold build it once.
using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

internal sealed class BindingTable : IEnumerable<KeyValuePair<string, BindingState>>
{
    /// <summary>One MN: its sessions' rows (a chain in the state's order) and the next session id.</summary>
    private struct Node
    {
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

    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
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
        _rows = new Row[capacity];
        _linkLayerIds = new string?[capacity];
        _prefixSets = new ImmutableArray<Ipv6Prefix>[capacity];
    }

    /// <summary>MNs held.</summary>
    public int Count => _nodes.Count;

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
        if (!_nodes.TryGetValue(mobileNodeId, out var node))
        {
            state = null;
            return false;
        }
        state = Build(mobileNodeId, node);
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
        if (!_nodes.TryGetValue(mobileNodeId, out var node))
            return null;
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
        ref var node = ref CollectionsMarshal.GetValueRefOrNullRef(_nodes, r.MobileNodeId);
        ref var row = ref _rows[node.Last];
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
        if (!_nodes.Remove(mobileNodeId, out var node))
            return false;
        Sessions -= node.Sessions;
        Forget(mobileNodeId);
        Release(node.First);
        return true;
    }

    /// <summary>Every MN's state, each built anew (a later renewal does not change them: what a snapshot may keep).</summary>
    public IEnumerable<BindingState> Values
    {
        get
        {
            foreach (var (mn, node) in _nodes)
                yield return Build(mn, node);
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
        foreach (var (mn, node) in _nodes)
        {
            if (atMag is { } mag && !HasSessionAt(node, mag))
                continue;
            yield return Build(mn, node);
            if (++taken == limit)
                yield break;
        }
    }

    /// <summary>Each MN's next deadline (<see cref="NextDeadline"/>), read from the rows.</summary>
    public IEnumerable<(string MobileNodeId, DateTimeOffset Deadline)> Deadlines()
    {
        foreach (var mn in _nodes.Keys)
            if (NextDeadline(mn) is { } deadline)
                yield return (mn, deadline);
    }

    private bool HasSessionAt(in Node node, Ipv6Address mag)
    {
        for (var i = node.First; i >= 0; i = _rows[i].Next)
            if (_rows[i].ProxyCoa == mag)
                return true;
        return false;
    }

    public IEnumerator<KeyValuePair<string, BindingState>> GetEnumerator()
    {
        foreach (var (mn, node) in _nodes)
            yield return new(mn, Build(mn, node));
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Set(string mobileNodeId, BindingState state)
    {
        ref var node = ref CollectionsMarshal.GetValueRefOrAddDefault(_nodes, mobileNodeId, out var existed);
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
            var index = Take();
            Write(index, session);
            if (node.Last < 0)
                node.First = index;
            else
                _rows[node.Last].Next = index;
            node.Last = index;
        }
        Forget(mobileNodeId);
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
