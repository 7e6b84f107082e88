// The LMA's home network prefix pool (RFC 5213 §5.3.2: the LMA allocates the MN's HNPs), one per binding bucket (its
// slice of the configured pool). Derived from the bucket's binding events (SessionRegistered/SessionRemoved carry the
// prefixes), so a restart rebuilds it and never hands a prefix out twice.
//
// Prefixes are carved in order and a released one is reused first, so the indices in use stay dense below a high-water
// mark: the owners are one array indexed by a prefix's place in the slice, not a dictionary keyed by prefix (issue 4: the
// two dictionaries this replaced held ~200 bytes per binding, every registration's share of them promoted by the next
// young collection). Which prefixes a session holds is the binding's business (BindingState), not the pool's; an owner
// here is a 64-bit hash of the MN-ID and the session id, not a reference to the MN-ID: a store of it marks no card, so a
// registration's young collection does not scan this array (issue 4, stop 23). Nothing decides on the owner (only on
// whether a prefix is held); it is kept to say whose a prefix is in the specs and when debugging.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>
/// A change of the pool. Never persisted: a bucket derives its pool from its binding events
/// (SessionRegistered/SessionRemoved carry the prefixes).
/// </summary>
public interface IPrefixPoolEvent;

public sealed record PrefixesAllocated(string MobileNodeId, int SessionId, ImmutableArray<Ipv6Prefix> Prefixes) : IPrefixPoolEvent;

public sealed record PrefixesReleased(string MobileNodeId, int SessionId, ImmutableArray<Ipv6Prefix> Prefixes) : IPrefixPoolEvent;

public sealed class PrefixPoolState
{
    /// <summary>Owners kept in the array up to this index; beyond it (a slice that large in use, or events carrying prefixes
    /// of another pool layout) in a dictionary, so a stray prefix never makes the array huge.</summary>
    internal const int DenseLimit = 1 << 22;

    /// <summary>A held prefix's owner; <see cref="MobileNode"/> 0 is a free one.</summary>
    private readonly record struct Owner(ulong MobileNode, int SessionId)
    {
        public bool IsHeld => MobileNode != 0;

        public static Owner Of(string mobileNodeId, int sessionId) => new(Hash(mobileNodeId), sessionId);

        /// <summary>FNV-1a over the MN-ID's UTF-16 code units; never 0.</summary>
        private static ulong Hash(string mobileNodeId)
        {
            var hash = 14695981039346656037UL;
            foreach (var c in mobileNodeId)
                hash = (hash ^ c) * 1099511628211UL;
            return hash == 0 ? 1 : hash;
        }
    }

    private readonly Ipv6Prefix _pool;
    private readonly byte _prefixLength;
    private readonly UInt128 _capacity;
    private UInt128 _next;
    private readonly Stack<UInt128> _free = new();
    private Owner[] _dense = [];
    private Dictionary<UInt128, Owner>? _sparse;
    private int _allocated;

    /// <summary>A pool carving <paramref name="pool"/> into prefixes of <paramref name="prefixLength"/> bits.</summary>
    public PrefixPoolState(Ipv6Prefix pool, byte prefixLength)
    {
        if (prefixLength < pool.Length || prefixLength > 128)
            throw new ArgumentException($"prefix length /{prefixLength} does not fit in pool {pool}");
        _pool = new Ipv6Prefix(pool.Address.Mask(pool.Length), pool.Length);
        _prefixLength = prefixLength;
        var bits = prefixLength - pool.Length;
        _capacity = bits >= 128 ? UInt128.MaxValue : (UInt128)1 << bits;
    }

    public int Allocated => _allocated;

    public UInt128 Capacity => _capacity;

    /// <summary>Whether <paramref name="prefix"/> is allocated to a session.</summary>
    public bool IsHeld(Ipv6Prefix prefix) => Get(IndexOf(prefix)).IsHeld;

    /// <summary>Whether <paramref name="prefix"/> is allocated to session <paramref name="sessionId"/> of <paramref name="mobileNodeId"/>.</summary>
    public bool IsHeldBy(Ipv6Prefix prefix, string mobileNodeId, int sessionId) => Get(IndexOf(prefix)) == Owner.Of(mobileNodeId, sessionId);

    /// <summary>
    /// The event that allocates <paramref name="count"/> prefixes to a new session, or null when the pool cannot supply
    /// them. Changes nothing: asked again before the event is applied, it answers the same prefixes.
    /// </summary>
    public PrefixesAllocated? Decide(string mobileNodeId, int sessionId, int count)
    {
        if ((UInt128)_free.Count + (_capacity - _next) < (UInt128)count)
            return null;
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>(count);
        foreach (var index in _free) // peek without popping, most recently freed first: Apply does the state change
        {
            if (prefixes.Count == count)
                break;
            prefixes.Add(At(index));
        }
        for (UInt128 i = 0; prefixes.Count < count; i++)
            prefixes.Add(At(_next + i));
        return new PrefixesAllocated(mobileNodeId, sessionId, prefixes.MoveToImmutable());
    }

    public void Apply(IPrefixPoolEvent e)
    {
        switch (e)
        {
            case PrefixesAllocated a:
                foreach (var prefix in a.Prefixes)
                {
                    var index = IndexOf(prefix);
                    if (_free.Count > 0 && _free.Peek() == index)
                        _free.Pop();
                    else if (index >= _next)
                        _next = index + 1;
                    Set(index, Owner.Of(a.MobileNodeId, a.SessionId));
                }
                break;
            case PrefixesReleased r:
                foreach (var prefix in r.Prefixes)
                {
                    var index = IndexOf(prefix);
                    if (Set(index, default))
                        _free.Push(index);
                }
                break;
        }
    }

    /// <summary>
    /// After a recovery that started from a snapshot (which holds the prefixes in use, not the order
    /// they were freed in), makes every unused prefix below the high-water mark allocatable again.
    /// </summary>
    public void ReclaimHoles()
    {
        var free = _free.ToHashSet();
        for (var index = _next; index > 0; index--)
        {
            var candidate = index - 1;
            if (!Get(candidate).IsHeld && !free.Contains(candidate))
                _free.Push(candidate);
        }
    }

    private Owner Get(UInt128 index) =>
        index < (UInt128)_dense.Length ? _dense[(int)index]
        : _sparse is not null && _sparse.TryGetValue(index, out var owner) ? owner
        : default;

    /// <summary>Sets (or with an empty owner clears) the owner at <paramref name="index"/>; whether it had one.</summary>
    private bool Set(UInt128 index, Owner owner)
    {
        bool had;
        if (index < DenseLimit)
        {
            var i = (int)index;
            if (i >= _dense.Length)
            {
                if (!owner.IsHeld)
                    return false;
                Array.Resize(ref _dense, Math.Min(DenseLimit, Math.Max(Math.Max(16, 2 * _dense.Length), i + 1)));
            }
            had = _dense[i].IsHeld;
            _dense[i] = owner;
        }
        else if (!owner.IsHeld)
        {
            had = _sparse is not null && _sparse.Remove(index);
        }
        else
        {
            _sparse ??= new Dictionary<UInt128, Owner>();
            had = !_sparse.TryAdd(index, owner);
            if (had)
                _sparse[index] = owner;
        }
        if (had != owner.IsHeld)
            _allocated += had ? -1 : 1;
        return had;
    }

    private Ipv6Prefix At(UInt128 index) =>
        new(new Ipv6Address(_pool.Address.Value | (index << (128 - _prefixLength))), _prefixLength);

    private UInt128 IndexOf(Ipv6Prefix prefix) => (prefix.Address.Value ^ _pool.Address.Value) >> (128 - _prefixLength);
}
