// When a binding bucket must next look at a mobile node (lifetime expiry, MinDelayBeforeBCEDelete, ...): a priority
// queue of (node, deadline) that holds the node's earliest deadline. Before, every PBU queued an entry that left only
// when it fell due, so the queue grew with rate x lifetime rather than with the number of nodes (the 1 h soak: ~460 MB
// at 4,000 PBUs/s). An earlier deadline (a handover's or de-registration's MinDelayBeforeBCEDelete) supersedes a queued
// later one, which stays behind in the heap: with a 1 h lifetime and 1,200 handovers and de-registrations a second those
// superseded entries grew to ~25 MB in 50 minutes of the next soak. So once they outnumber the live entries the heap is
// rebuilt from the live ones alone (amortised O(1) per Add). An entry that fires early is harmless: the bucket finds
// nothing due and queues the node's real deadline then.
namespace Pmip6Akka.Actors.Lma;

public sealed class DeadlineQueue
{
    /// <summary>Superseded entries tolerated beyond one per live entry before the heap is rebuilt.</summary>
    private const int Slack = 32;

    private PriorityQueue<string, DateTimeOffset> _queue = new();
    /// <summary>Each node's earliest queued deadline: the live entries.</summary>
    private readonly Dictionary<string, DateTimeOffset> _earliest = new(StringComparer.Ordinal);

    /// <summary>Entries queued: one per node with a deadline, plus superseded (later) ones, at most as many again plus a slack.</summary>
    public int Count => _queue.Count;

    /// <summary>Queues <paramref name="deadline"/> for <paramref name="node"/> unless an entry at or before it is queued already.</summary>
    public void Add(string node, DateTimeOffset deadline)
    {
        if (_earliest.TryGetValue(node, out var queued) && queued <= deadline)
            return;
        _earliest[node] = deadline;
        _queue.Enqueue(node, deadline);
        if (_queue.Count > 2 * _earliest.Count + Slack)
            Compact();
    }

    /// <summary>The earliest queued deadline, if any.</summary>
    public bool TryPeek(out DateTimeOffset at) => _queue.TryPeek(out _, out at);

    /// <summary>Takes every node with an entry due at <paramref name="now"/> (each once).</summary>
    public HashSet<string> TakeDue(DateTimeOffset now)
    {
        var due = new HashSet<string>(StringComparer.Ordinal);
        while (_queue.TryPeek(out var node, out var at) && at <= now)
        {
            _queue.Dequeue();
            if (_earliest.TryGetValue(node, out var earliest) && earliest == at)
                _earliest.Remove(node);
            due.Add(node);
        }
        return due;
    }

    /// <summary>Drops every superseded entry: a new heap (and array) holding each node's earliest deadline only.</summary>
    private void Compact() =>
        _queue = new PriorityQueue<string, DateTimeOffset>(_earliest.Select(e => (e.Key, e.Value)));
}
