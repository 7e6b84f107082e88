// The LMA's home network prefix pool (RFC 5213 §5.3.2: the LMA allocates the MN's HNPs). Persistent
// through its events, so a restart never hands a prefix out twice. Allocation is idempotent per
// (MN-ID, session): asking again returns the same prefixes, so a crash between the pool's persist
// and the binding entity's persist neither leaks nor duplicates a prefix.
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
    private readonly Ipv6Prefix _pool;
    private readonly byte _prefixLength;
    private readonly UInt128 _capacity;
    private UInt128 _next;
    private readonly Stack<UInt128> _free = new();
    private readonly Dictionary<(string, int), ImmutableArray<Ipv6Prefix>> _byOwner = new();
    private readonly Dictionary<Ipv6Prefix, (string MobileNodeId, int SessionId)> _owners = new();

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

    public int Allocated => _owners.Count;

    public UInt128 Capacity => _capacity;

    public (string MobileNodeId, int SessionId)? OwnerOf(Ipv6Prefix prefix) => _owners.TryGetValue(prefix, out var o) ? o : null;

    /// <summary>
    /// The event that allocates <paramref name="count"/> prefixes to the session, the prefixes it
    /// already holds (no event), or null when the pool cannot supply them.
    /// </summary>
    public PrefixesAllocated? Decide(string mobileNodeId, int sessionId, int count, out ImmutableArray<Ipv6Prefix> existing)
    {
        if (_byOwner.TryGetValue((mobileNodeId, sessionId), out existing))
            return null;
        existing = default;
        if ((UInt128)_free.Count + (_capacity - _next) < (UInt128)count)
            return null;
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>(count);
        var free = _free.ToArray(); // peek without popping: Apply does the state change
        var fromFree = Math.Min(count, free.Length);
        for (var i = 0; i < fromFree; i++)
            prefixes.Add(At(free[i]));
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
                    _owners[prefix] = (a.MobileNodeId, a.SessionId);
                }
                _byOwner[(a.MobileNodeId, a.SessionId)] = a.Prefixes;
                break;
            case PrefixesReleased r:
                _byOwner.Remove((r.MobileNodeId, r.SessionId));
                foreach (var prefix in r.Prefixes)
                    if (_owners.Remove(prefix))
                        _free.Push(IndexOf(prefix));
                break;
        }
    }

    /// <summary>
    /// After a recovery that started from a snapshot (which holds the prefixes in use, not the order
    /// they were freed in), makes every unused prefix below the high-water mark allocatable again.
    /// </summary>
    public void ReclaimHoles()
    {
        var inUse = _owners.Keys.Select(IndexOf).ToHashSet();
        var free = _free.ToHashSet();
        for (var index = _next; index > 0; index--)
        {
            var candidate = index - 1;
            if (!inUse.Contains(candidate) && !free.Contains(candidate))
                _free.Push(candidate);
        }
    }

    private Ipv6Prefix At(UInt128 index) =>
        new(new Ipv6Address(_pool.Address.Value | (index << (128 - _prefixLength))), _prefixLength);

    private UInt128 IndexOf(Ipv6Prefix prefix) => (prefix.Address.Value ^ _pool.Address.Value) >> (128 - _prefixLength);
}
