// When a binding bucket must next look at a mobile node (lifetime expiry, MinDelayBeforeBCEDelete, ...): a priority
// queue of (node, deadline) that holds at most one entry per node at or before the node's real deadline, instead of
// one per persisted event. Before, every PBU queued an entry that left only when it fell due, so the queue grew with
// rate x lifetime rather than with the number of nodes (the 1 h soak: ~460 MB at 4,000 PBUs/s). An entry that fires
// early is harmless: the bucket finds nothing due and queues the node's real deadline then.
namespace Pmip6Akka.Actors.Lma;

public sealed class DeadlineQueue
{
    private readonly PriorityQueue<string, DateTimeOffset> _queue = new();
    /// <summary>Each node's earliest queued deadline.</summary>
    private readonly Dictionary<string, DateTimeOffset> _earliest = new(StringComparer.Ordinal);

    /// <summary>Entries queued (at most one per node, plus earlier ones that superseded a later one until it falls due).</summary>
    public int Count => _queue.Count;

    /// <summary>Queues <paramref name="deadline"/> for <paramref name="node"/> unless an entry at or before it is queued already.</summary>
    public void Add(string node, DateTimeOffset deadline)
    {
        if (_earliest.TryGetValue(node, out var queued) && queued <= deadline)
            return;
        _earliest[node] = deadline;
        _queue.Enqueue(node, deadline);
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
}
