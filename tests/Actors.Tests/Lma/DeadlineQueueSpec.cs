// The binding bucket's deadline queue: bounded by the number of mobile nodes, not by how often they refresh, and with no
// per-node record of its own (the bucket tells it each node's deadline before and after a change). Nodes are the binding
// table's handles.
using Pmip6Akka.Actors.Lma;

namespace Pmip6Akka.Actors.Tests.Lma;

public class DeadlineQueueSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_node_refreshed_many_times_keeps_one_entry_which_fires_at_its_first_deadline()
    {
        var queue = new DeadlineQueue();
        DateTimeOffset? deadline = null;
        for (var i = 0; i < 10_000; i++)
        {
            var next = T0.AddSeconds(3600 + i); // every refresh pushes the lifetime further out
            queue.Moved(1, deadline, next);
            deadline = next;
        }
        Assert.Equal(1, queue.Count);
        Assert.True(queue.TryPeek(out var at));
        Assert.Equal(T0.AddSeconds(3600), at);
        Assert.Empty(queue.TakeDue(T0.AddSeconds(3599)));
        Assert.Equal([1], queue.TakeDue(T0.AddSeconds(3600)));
        Assert.Equal(0, queue.Count);

        // Once it fired, the node's real (later) deadline is queued again.
        queue.Moved(1, null, deadline);
        Assert.Equal(1, queue.Count);
        Assert.True(queue.TryPeek(out at));
        Assert.Equal(T0.AddSeconds(3600 + 9_999), at);
    }

    [Fact]
    public void An_earlier_deadline_is_queued_before_a_later_one_and_each_node_is_taken_once()
    {
        var queue = new DeadlineQueue();
        queue.Moved(1, null, T0.AddSeconds(3600));
        queue.Moved(2, null, T0.AddSeconds(10));
        queue.Moved(1, T0.AddSeconds(3600), T0.AddSeconds(1)); // a de-registration: MinDelayBeforeBCEDelete, earlier
        Assert.Equal(3, queue.Count);
        Assert.Equal([1], queue.TakeDue(T0.AddSeconds(1)));
        Assert.Equal([2], queue.TakeDue(T0.AddSeconds(10)));
        // The superseded lifetime entry still fires (harmlessly: the bucket finds nothing due).
        Assert.Equal([1], queue.TakeDue(T0.AddSeconds(3600)));
        Assert.False(queue.TryPeek(out _));

        // Two entries of one node due together: taken once.
        queue.Moved(3, null, T0.AddSeconds(7300));
        queue.Moved(3, T0.AddSeconds(7300), T0.AddSeconds(7200));
        Assert.Equal([3], queue.TakeDue(T0.AddSeconds(7300)));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_node_without_a_deadline_any_more_queues_nothing()
    {
        var queue = new DeadlineQueue();
        queue.Moved(1, T0.AddSeconds(10), null); // its last session removed
        queue.Moved(2, null, null);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Deadlines_superseded_by_handovers_do_not_pile_up_until_the_lifetime_ends()
    {
        // The soak's pattern: a 1 h lifetime, then a handover's MinDelayBeforeBCEDelete (earlier) supersedes it, fires,
        // and the node's lifetime is queued again. Each round leaves the old lifetime entry behind in the heap; the owner
        // rebuilds from its live deadlines when asked to.
        var live = new Dictionary<int, DateTimeOffset>();
        var queue = new DeadlineQueue();
        for (var n = 0; n < 20; n++)
        {
            live[n] = T0.AddHours(1);
            queue.Moved(n, null, T0.AddHours(1));
        }
        var now = T0;
        for (var round = 0; round < 10_000; round++)
        {
            var mn = round % 20;
            now = now.AddMilliseconds(10);
            queue.Moved(mn, live[mn], now.AddMilliseconds(5));
            live[mn] = now.AddMilliseconds(5);
            Assert.Equal([mn], queue.TakeDue(now.AddMilliseconds(5)));
            live[mn] = now.AddHours(1);
            queue.Moved(mn, null, live[mn]);
            if (queue.NeedsRebuild(live.Count))
                queue.Rebuild(live.Select(l => (l.Key, l.Value)));
            Assert.InRange(queue.Count, 20, 2 * 20 + 32 + 1);
        }

        // Nothing live was lost by the rebuilds: every node still fires, each once, by its own latest lifetime.
        var fired = queue.TakeDue(now.AddHours(1));
        Assert.Equal(Enumerable.Range(0, 20).ToHashSet(), fired);
        Assert.Equal(0, queue.Count);
    }
}
