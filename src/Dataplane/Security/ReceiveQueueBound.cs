// The bound on what a node's Mobility Header receive thread may have handed to its actors and not yet
// seen processed (issue 10: "bounded mailboxes and queues everywhere on the receive path"). The receive
// thread enters before it tells the first actor (the SignallingGuard, or the protocol handler when
// signalling is not authenticated); whoever ends a message's way leaves: the guard for a message it drops,
// the protocol handler for every message it takes off its mailbox, once it has handled it. Past the capacity the receive thread
// drops the message and counts it, so the two mailboxes together never hold more than the capacity of
// received messages, whatever arrives — the admission buckets bound the rate, this bounds the backlog
// when the actors are slower than that rate (a stalled dispatcher, a GC pause, a busy core).
// Thread-safe: one thread enters, actors on other threads leave.
namespace Pmip6Akka.Dataplane.Security;

public sealed class ReceiveQueueBound
{
    private int _depth;
    private long _dropped;

    public ReceiveQueueBound(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Messages handed over and not yet taken by the protocol handler (or dropped by the guard).</summary>
    public int Depth => Volatile.Read(ref _depth);

    /// <summary>Messages refused because <see cref="Capacity"/> were already waiting.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Takes a place for one message; false (and counted) when the queue is full.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _depth) <= Capacity)
            return true;
        Interlocked.Decrement(ref _depth);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Gives a place back. Never goes below zero: a message that did not enter (a spec's in-memory network) leaves nothing.</summary>
    public void Leave()
    {
        var depth = Volatile.Read(ref _depth);
        while (depth > 0)
        {
            var seen = Interlocked.CompareExchange(ref _depth, depth - 1, depth);
            if (seen == depth)
                return;
            depth = seen;
        }
    }
}
