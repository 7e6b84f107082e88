// RFC 5847 heartbeats between MAG and LMA: each side sends Heartbeat Requests to its peers every
// interval and answers requests with a response carrying its Restart Counter. A peer that misses
// `missingAllowed` responses in a row is reported unreachable; a changed Restart Counter means the
// peer restarted (and lost state it did not persist), which the owner acts on.
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Protocol;

public delegate void SendMessage(ReadOnlySpan<byte> message, Ipv6Address destination);

public sealed class HeartbeatMonitor(uint restartCounter, int missingAllowed, Counters counters, ILoggingAdapter log, string peerKind)
{
    public sealed record HeartbeatDue;

    public enum PeerEvent { None, Restarted, Recovered }

    private sealed class Peer
    {
        public uint? RestartCounter;
        public int Outstanding;
        public bool ReportedUnreachable;
    }

    private readonly Dictionary<Ipv6Address, Peer> _peers = new();
    private readonly byte[] _buffer = new byte[64];
    private uint _sequence;

    public uint RestartCounter => restartCounter;

    public void AddPeer(Ipv6Address peer) => _peers.TryAdd(peer, new Peer());

    public IEnumerable<(Ipv6Address Address, bool Reachable, uint? RestartCounter)> Peers =>
        _peers.Select(p => (p.Key, !p.Value.ReportedUnreachable, p.Value.RestartCounter));

    /// <summary>Sends a request to every peer, after reporting those that stopped answering.</summary>
    public void Tick(SendMessage send)
    {
        foreach (var (address, peer) in _peers)
        {
            if (peer.Outstanding >= missingAllowed && !peer.ReportedUnreachable)
            {
                peer.ReportedUnreachable = true;
                counters.Increment("heartbeat_peer_unreachable_total");
                log.Warning("{0} {1} missed {2} heartbeats in a row: unreachable", peerKind, address, peer.Outstanding);
            }
            peer.Outstanding++;
            var w = MobilityHeaderWriter.Heartbeat(_buffer, response: false, ++_sequence);
            w.RestartCounter(restartCounter);
            if (w.TryFinish(out var length))
            {
                counters.Increment("heartbeat_sent_total");
                send(_buffer.AsSpan(0, length), address);
            }
        }
    }

    /// <summary>Handles a received heartbeat: answers requests; checks the restart counter of responses.</summary>
    public PeerEvent OnHeartbeat(Heartbeat heartbeat, Ipv6Address from, SendMessage send)
    {
        var peer = _peers.TryGetValue(from, out var known) ? known : null;
        if (!heartbeat.IsResponse)
        {
            var w = MobilityHeaderWriter.Heartbeat(_buffer, response: true, heartbeat.Sequence);
            w.RestartCounter(restartCounter);
            if (w.TryFinish(out var length))
                send(_buffer.AsSpan(0, length), from);
        }
        if (peer is null)
            return PeerEvent.None;
        var result = PeerEvent.None;
        if (heartbeat.IsResponse)
        {
            peer.Outstanding = 0;
            if (peer.ReportedUnreachable)
            {
                peer.ReportedUnreachable = false;
                log.Info("{0} {1} answers heartbeats again", peerKind, from);
                result = PeerEvent.Recovered;
            }
        }
        if (heartbeat.Options.RestartCounter is { } counter)
        {
            if (peer.RestartCounter is { } previous && previous != counter)
            {
                counters.Increment("heartbeat_peer_restarts_total");
                log.Warning("{0} {1} restarted (restart counter {2} -> {3})", peerKind, from, previous, counter);
                result = PeerEvent.Restarted;
            }
            peer.RestartCounter = counter;
        }
        return result;
    }
}
