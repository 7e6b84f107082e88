// At the LMA: per prefix, the MAGs whose tunnelled uplink for it is accepted besides the MAG of its binding —
// the other MAG of a Context Reflector handover while its Context Cache Entry lives, and every other MAG of a
// multi-interface node's flow-mobility group (a weak-host node sends from any of its addresses out of any
// interface). Consulted only when a packet's outer source is not the binding's MAG, so it costs nothing on the
// usual path. One writer sets a prefix's whole set at a time (the binding bucket computes the union of what its
// features want); readers look up without a lock, as in TunnelTable.
using System.Collections.Concurrent;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

public sealed class UplinkAlternates(Func<Ipv6Address, TunnelEndpoint> endpoint)
{
    private readonly ConcurrentDictionary<Ipv6Prefix, TunnelEndpoint[]> _sets = new();
    private readonly Lock _write = new();
    private readonly PrefixLengths _lengths = new();

    public int Count => _sets.Count;

    /// <summary>Accepts <paramref name="prefix"/>'s uplink from each of <paramref name="remotes"/> too, replacing the earlier set; an empty set removes it.</summary>
    public void Set(Ipv6Prefix prefix, IReadOnlyCollection<Ipv6Address> remotes)
    {
        if (remotes.Count == 0)
        {
            Remove(prefix);
            return;
        }
        prefix = PrefixLengths.Normalize(prefix);
        var set = remotes.Distinct().Select(endpoint).ToArray();
        lock (_write)
        {
            if (!_sets.ContainsKey(prefix))
                _lengths.Add(prefix.Length);
            _sets[prefix] = set;
        }
    }

    public bool Remove(Ipv6Prefix prefix)
    {
        prefix = PrefixLengths.Normalize(prefix);
        lock (_write)
        {
            if (!_sets.TryRemove(prefix, out _))
                return false;
            _lengths.Remove(prefix.Length);
            return true;
        }
    }

    /// <summary>Whether <paramref name="outerSource"/> may send uplink from <paramref name="address"/> (longest matching prefix); its endpoint when so. Allocation-free.</summary>
    public bool TryFind(Ipv6Address address, Ipv6Address outerSource, out TunnelEndpoint found)
    {
        foreach (var length in _lengths.Current)
        {
            if (!_sets.TryGetValue(new Ipv6Prefix(address.Mask(length), length), out var set))
                continue;
            foreach (var candidate in set)
            {
                if (candidate.Remote == outerSource)
                {
                    found = candidate;
                    return true;
                }
            }
            break; // the longest matching prefix decides
        }
        found = null!;
        return false;
    }

    /// <summary>Every prefix with its accepted MAGs, for status and tests.</summary>
    public IReadOnlyList<(Ipv6Prefix Prefix, Ipv6Address[] Remotes)> Entries() =>
        [.. _sets.Select(s => (s.Key, s.Value.Select(e => e.Remote).ToArray())).OrderBy(s => s.Key.Address)];
}
