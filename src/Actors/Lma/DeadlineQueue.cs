// When a binding bucket must next look at a mobile node (lifetime expiry, MinDelayBeforeBCEDelete, ...): a priority
// queue of (node, deadline) entries. Invariant, kept by the bucket: every node with a deadline has an entry at or before
// it. So a deadline that moves later (a refresh) needs no entry, and one that moves earlier (a handover's or
// de-registration's MinDelayBeforeBCEDelete) gets one; the later entry stays behind, superseded, and fires early and
// harmlessly (the bucket finds nothing due and queues the node's real deadline then).
//
// Before, every PBU queued an entry that left only when it fell due, so the queue grew with rate x lifetime (the 1 h
// soak: ~460 MB at 4,000 PBUs/s); then a dictionary of each node's earliest queued deadline told which to skip, ~70
// bytes per binding that every registration's young collection promoted (issue 4). The bucket knows the node's deadline
// before and after each change, which is all the skipping needs. Superseded entries are dropped by a rebuild from the
// bucket's live deadlines once they outnumber them (amortised O(1) per entry).
//
// A node is the binding table's handle of an MN, an int: an entry naming the MN's string stored a young reference into the
// queue's old array with every registration, a card for the next young collection to scan (issue 4). A handle taken over
// by another MN after its own was removed leaves entries that fire early for the new one: harmless, as above.
namespace Pmip6Akka.Actors.Lma;

public sealed class DeadlineQueue
{
    /// <summary>Superseded entries tolerated beyond one per node before a rebuild is due.</summary>
    private const int Slack = 32;

    private PriorityQueue<int, DateTimeOffset> _queue = new();

    /// <summary>Entries queued: at least one per node with a deadline, plus superseded (later) ones.</summary>
    public int Count => _queue.Count;

    /// <summary>
    /// <paramref name="node"/>'s deadline changed from <paramref name="before"/> to <paramref name="after"/> (null: none).
    /// Queues <paramref name="after"/> unless it is no earlier than <paramref name="before"/>, whose entry (at or before
    /// it) is queued already. Pass a null <paramref name="before"/> when the node's entry was taken (<see cref="TakeDue"/>).
    /// </summary>
    public void Moved(int node, DateTimeOffset? before, DateTimeOffset? after)
    {
        if (after is not { } at || (before is { } was && was <= at))
            return;
        _queue.Enqueue(node, at);
    }

    /// <summary>Whether superseded entries outnumber the live ones of <paramref name="nodes"/> nodes (plus a slack).</summary>
    public bool NeedsRebuild(int nodes) => _queue.Count > 2 * nodes + Slack;

    /// <summary>Drops every entry and queues <paramref name="live"/>: each node's deadline, once.</summary>
    public void Rebuild(IEnumerable<(int Node, DateTimeOffset Deadline)> live) => _queue = new PriorityQueue<int, DateTimeOffset>(live);

    /// <summary>The earliest queued deadline, if any.</summary>
    public bool TryPeek(out DateTimeOffset at) => _queue.TryPeek(out _, out at);

    /// <summary>Takes every entry due at <paramref name="now"/>; each node once. The caller queues their deadlines again.</summary>
    public HashSet<int> TakeDue(DateTimeOffset now)
    {
        var due = new HashSet<int>();
        while (_queue.TryPeek(out var node, out var at) && at <= now)
        {
            _queue.Dequeue();
            due.Add(node);
        }
        return due;
    }
}
