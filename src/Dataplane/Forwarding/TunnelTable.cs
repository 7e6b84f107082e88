// The userspace tunnel's forwarding state (RFC 5213 §5.6 at the LMA, §6.10 at the MAG): which tunnel
// endpoint serves each home network prefix. One TunnelEndpoint per LMA–MAG peer, created when the first
// binding through it is installed and kept for the node's life, so a handover only re-points prefixes
// (no tunnel is torn down or rebuilt). The control plane (one dataplane actor) writes; the forwarding
// threads read concurrently. Reads are O(1) per distinct prefix length in use (one, in practice: the
// pool hands out one length) and allocate nothing.
using System.Collections.Concurrent;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

/// <summary>The far end of one IPv6-in-IPv6 tunnel with its traffic counters (updated lock-free by the forwarding threads).</summary>
public sealed class TunnelEndpoint(Ipv6Address remote)
{
    private long _packetsOut, _bytesOut, _packetsIn, _bytesIn;

    /// <summary>The tunnel's remote address: the proxy-CoA at the LMA, the LMA address at the MAG.</summary>
    public Ipv6Address Remote { get; } = remote;

    public long PacketsOut => Interlocked.Read(ref _packetsOut);
    public long BytesOut => Interlocked.Read(ref _bytesOut);
    public long PacketsIn => Interlocked.Read(ref _packetsIn);
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    // The last packets sent through this tunnel (fingerprint, time), so a packet the peer sends back can be
    // put where it belongs in the handover buffer. Written by the one encapsulating thread; a racing reader
    // at worst misses an entry.
    private const int RecentSends = 256;
    private readonly long[] _sentFingerprints = new long[RecentSends];
    private readonly long[] _sentAt = new long[RecentSends];
    private int _nextSent;

    internal void RememberSent(long fingerprint, long ticks)
    {
        var i = _nextSent;
        _sentFingerprints[i] = fingerprint;
        Volatile.Write(ref _sentAt[i], ticks);
        _nextSent = (i + 1) % RecentSends;
    }

    /// <summary>When a packet with this fingerprint was last sent through this tunnel (Stopwatch ticks), if recently.</summary>
    public bool TryFindSent(long fingerprint, out long ticks)
    {
        for (var i = 0; i < RecentSends; i++)
            if (_sentFingerprints[i] == fingerprint)
            {
                ticks = Volatile.Read(ref _sentAt[i]);
                return true;
            }
        ticks = 0;
        return false;
    }

    internal void CountOut(int bytes)
    {
        Interlocked.Increment(ref _packetsOut);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    internal void CountIn(int bytes)
    {
        Interlocked.Increment(ref _packetsIn);
        Interlocked.Add(ref _bytesIn, bytes);
    }
}

public sealed class TunnelTable
{
    private readonly ConcurrentDictionary<Ipv6Address, TunnelEndpoint> _endpoints = new();
    private readonly ConcurrentDictionary<Ipv6Prefix, TunnelEndpoint> _routes = new();
    private readonly Lock _write = new();
    private readonly PrefixLengths _lengths = new();

    public int RouteCount => _routes.Count;

    public IReadOnlyCollection<TunnelEndpoint> Endpoints => [.. _endpoints.Values];

    /// <summary>The endpoint for <paramref name="remote"/>, created on first use and kept.</summary>
    public TunnelEndpoint Endpoint(Ipv6Address remote) => _endpoints.GetOrAdd(remote, static r => new TunnelEndpoint(r));

    /// <summary>Whether a tunnel to <paramref name="remote"/> exists (a peer we have had a binding with).</summary>
    public bool TryLookupEndpoint(Ipv6Address remote, out TunnelEndpoint endpoint) => _endpoints.TryGetValue(remote, out endpoint!);

    /// <summary>Routes <paramref name="prefix"/> through the tunnel to <paramref name="remote"/> (replacing any earlier route: a handover).</summary>
    public void Set(Ipv6Prefix prefix, Ipv6Address remote)
    {
        prefix = PrefixLengths.Normalize(prefix);
        var endpoint = Endpoint(remote);
        lock (_write)
        {
            if (_routes.TryGetValue(prefix, out _))
            {
                _routes[prefix] = endpoint;
                return;
            }
            _routes[prefix] = endpoint;
            _lengths.Add(prefix.Length);
        }
    }

    /// <summary>
    /// Removes the route for <paramref name="prefix"/>; with <paramref name="onlyVia"/>, only while it still points at
    /// that endpoint (a late removal for the previous MAG must not undo the new MAG's route).
    /// </summary>
    public bool Remove(Ipv6Prefix prefix, Ipv6Address? onlyVia = null)
    {
        prefix = PrefixLengths.Normalize(prefix);
        lock (_write)
        {
            if (!_routes.TryGetValue(prefix, out var current) || (onlyVia is { } via && current.Remote != via))
                return false;
            _routes.TryRemove(prefix, out _);
            _lengths.Remove(prefix.Length);
            return true;
        }
    }

    /// <summary>Whether <paramref name="prefix"/> itself (not a covering one) is routed through <paramref name="via"/>.</summary>
    public bool IsRoutedVia(Ipv6Prefix prefix, Ipv6Address via) =>
        _routes.TryGetValue(PrefixLengths.Normalize(prefix), out var current) && current.Remote == via;

    /// <summary>The endpoint serving <paramref name="address"/> (longest matching prefix), allocation-free.</summary>
    public bool TryLookup(Ipv6Address address, out TunnelEndpoint endpoint)
    {
        foreach (var length in _lengths.Current)
        {
            if (_routes.TryGetValue(new Ipv6Prefix(address.Mask(length), length), out endpoint!))
                return true;
        }
        endpoint = null!;
        return false;
    }

    /// <summary>The prefix serving <paramref name="address"/>, for status and tests.</summary>
    public IReadOnlyList<(Ipv6Prefix Prefix, Ipv6Address Remote)> Routes() =>
        [.. _routes.Select(r => (r.Key, r.Value.Remote)).OrderBy(r => r.Key.Address)];


}
