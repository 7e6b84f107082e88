// Flood limits on the Mobility Header receive path (issue 10), applied on the receive thread before a
// message becomes an actor message: token buckets per known peer (each authorised MAG at the LMA, the LMA
// at a MAG), one shared bucket for every other source (unauthorised or spoofed senders: they get no more
// than a trickle, enough to be answered and counted), and one for everything. What a bucket refuses is
// dropped and counted by scope; nothing grows with the number of sources (the table holds only the
// configured peers). Single writer: the receive thread; counters are read from other threads.
//
// A peer's bucket is charged only by what is known to come from that peer. Without authentication that is
// everything from its address (Admit). With authentication the receive thread checks first and admits after:
// a verified message is charged to its peer's bucket (Admit), a message accepted without protection (keys
// being rolled out) to a separate bucket for that address (AdmitUnverified), and one that fails the check is
// dropped before any bucket. So bogus messages sent from a legitimate MAG's address — which fail the check —
// cannot spend that MAG's tokens (bench flood --spoof-legitimate left it ~72 % of its PBUs when they could).
using System.Diagnostics;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Security;

/// <summary>Rates in messages per second; bursts in messages. Zero rate: that bucket never refuses.</summary>
public sealed record ReceiveAdmissionLimits
{
    public static readonly ReceiveAdmissionLimits Default = new();

    public double PerPeerRate { get; init; } = 5_000;
    public double PerPeerBurst { get; init; } = 5_000;
    public double OthersRate { get; init; } = 200;
    public double OthersBurst { get; init; } = 200;
    public double GlobalRate { get; init; } = 20_000;
    public double GlobalBurst { get; init; } = 20_000;
    /// <summary>Received messages the node's actors may have waiting at once (<see cref="ReceiveQueueBound"/>); past it the receive thread drops.</summary>
    public int MaxQueuedMessages { get; init; } = 8_192;
}

public enum AdmissionScope : byte
{
    Admitted,
    /// <summary>The peer's own bucket: messages from its address without authentication, verified ones with it.</summary>
    Peer,
    /// <summary>With authentication: messages accepted unprotected from a peer's address (a key roll-out), not charged to the peer's own bucket.</summary>
    UnverifiedPeer,
    Others,
    Global,
}

public sealed class ReceiveAdmission
{
    private sealed class Bucket(double rate, double burst, long now)
    {
        private readonly double _rate = rate, _burst = burst;
        private double _tokens = burst;
        private long _last = now;

        public bool TryTake(long now)
        {
            if (_rate <= 0)
                return true;
            _tokens = Math.Min(_burst, _tokens + (now - _last) * _rate / Stopwatch.Frequency);
            _last = now;
            if (_tokens < 1)
                return false;
            _tokens -= 1;
            return true;
        }
    }

    private readonly Dictionary<Ipv6Address, Bucket> _peers = new();
    private readonly Dictionary<Ipv6Address, Bucket> _unverified = new();
    private readonly Bucket _others;
    private readonly Bucket _global;
    private long _admitted, _peerLimited, _unverifiedLimited, _othersLimited, _globalLimited;

    public ReceiveAdmission(IEnumerable<Ipv6Address> peers, ReceiveAdmissionLimits limits, long now)
    {
        foreach (var peer in peers)
        {
            _peers[peer] = new Bucket(limits.PerPeerRate, limits.PerPeerBurst, now);
            _unverified[peer] = new Bucket(limits.PerPeerRate, limits.PerPeerBurst, now);
        }
        _others = new Bucket(limits.OthersRate, limits.OthersBurst, now);
        _global = new Bucket(limits.GlobalRate, limits.GlobalBurst, now);
    }

    public long Admitted => Interlocked.Read(ref _admitted);

    public long Limited(AdmissionScope scope) => scope switch
    {
        AdmissionScope.Peer => Interlocked.Read(ref _peerLimited),
        AdmissionScope.UnverifiedPeer => Interlocked.Read(ref _unverifiedLimited),
        AdmissionScope.Others => Interlocked.Read(ref _othersLimited),
        AdmissionScope.Global => Interlocked.Read(ref _globalLimited),
        _ => Admitted,
    };

    public static string ScopeName(AdmissionScope scope) => scope switch
    {
        AdmissionScope.Peer => "peer",
        AdmissionScope.UnverifiedPeer => "peer-unverified",
        AdmissionScope.Others => "others",
        AdmissionScope.Global => "global",
        _ => "admitted",
    };

    /// <summary>
    /// Whether a message from <paramref name="source"/> may go on — one the node does not authenticate, or one that
    /// verified as the peer's; the scope that refused it otherwise.
    /// </summary>
    public AdmissionScope Admit(Ipv6Address source, long now) => Admit(_peers, ref _peerLimited, AdmissionScope.Peer, source, now);

    /// <summary>
    /// Whether a message that claims <paramref name="source"/> without proving it (accepted unprotected by a node that
    /// authenticates) may go on: charged to that address's bucket for unverified messages, never to the peer's own.
    /// </summary>
    public AdmissionScope AdmitUnverified(Ipv6Address source, long now) => Admit(_unverified, ref _unverifiedLimited, AdmissionScope.UnverifiedPeer, source, now);

    private AdmissionScope Admit(Dictionary<Ipv6Address, Bucket> peers, ref long peerLimited, AdmissionScope peerScope, Ipv6Address source, long now)
    {
        // The source's own bucket first: a flooding source spends its tokens, not everybody's.
        if (peers.TryGetValue(source, out var peer))
        {
            if (!peer.TryTake(now))
                return Count(ref peerLimited, peerScope);
        }
        else if (!_others.TryTake(now))
            return Count(ref _othersLimited, AdmissionScope.Others);
        if (!_global.TryTake(now))
            return Count(ref _globalLimited, AdmissionScope.Global);
        Interlocked.Increment(ref _admitted);
        return AdmissionScope.Admitted;
    }

    private static AdmissionScope Count(ref long counter, AdmissionScope scope)
    {
        Interlocked.Increment(ref counter);
        return scope;
    }
}
