// Replay protection for authenticated signalling (docs/PROTOCOL.md, "Authenticated signalling"):
// every protected message carries a Message Identification (RFC 4285 §6) that its sender makes
// strictly increasing, in the RFC 5213 timestamp format. A message is fresh when its identification
// is within the replay window of the reception time and was not accepted from that peer before.
// Only messages whose authenticator verified are recorded, so forgeries cannot fill the memory; what
// is remembered per peer expires with the window and is capped (past the cap the oldest entries are
// forgotten and everything up to them is refused from then on — conservative, never a replay let in).
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Security;

public enum ReplayVerdict : byte
{
    Fresh,
    /// <summary>Further from the reception time than the window: too old (a replay) or from a clock far off.</summary>
    OutsideWindow,
    /// <summary>Already accepted from this peer (or older than what had to be forgotten).</summary>
    Duplicate,
}

public sealed class ReplayGuard(TimeSpan window, int maxRememberedPerPeer = 65536)
{
    private readonly Dictionary<Ipv6Address, Peer> _peers = new();

    public TimeSpan Window { get; } = window;

    private sealed class Peer
    {
        public readonly HashSet<ulong> Seen = new();
        public readonly Queue<ulong> Order = new();
        /// <summary>Identifications at or below this are refused: forgotten under the cap.</summary>
        public ulong Floor;
    }

    public ReplayVerdict Check(Ipv6Address peer, Pmip6Timestamp id, DateTimeOffset receivedAt)
    {
        if ((id.ToDateTimeOffset() - receivedAt).Duration() > Window)
            return ReplayVerdict.OutsideWindow;
        if (_peers.TryGetValue(peer, out var p) && (id.Raw <= p.Floor || p.Seen.Contains(id.Raw)))
            return ReplayVerdict.Duplicate;
        return ReplayVerdict.Fresh;
    }

    /// <summary>Records an identification <see cref="Check"/> found fresh, once its message verified.</summary>
    public void Accept(Ipv6Address peer, Pmip6Timestamp id, DateTimeOffset receivedAt)
    {
        if (!_peers.TryGetValue(peer, out var p))
            _peers[peer] = p = new Peer();
        var expired = Pmip6Timestamp.FromDateTimeOffset(receivedAt - Window).Raw;
        while (p.Order.TryPeek(out var oldest) && (oldest < expired || p.Order.Count >= maxRememberedPerPeer))
        {
            p.Order.Dequeue();
            p.Seen.Remove(oldest);
            if (oldest >= expired)
                p.Floor = Math.Max(p.Floor, oldest); // forgotten while still inside the window
        }
        if (p.Seen.Add(id.Raw))
            p.Order.Enqueue(id.Raw);
    }

    /// <summary>Identifications remembered for <paramref name="peer"/> (for specs and /status).</summary>
    public int Remembered(Ipv6Address peer) => _peers.TryGetValue(peer, out var p) ? p.Seen.Count : 0;
}
