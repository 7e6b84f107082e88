using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class PrefixPoolStateSpec
{
    private static PrefixPoolState Pool(string prefix = "2001:db8:a000::/48") => new(Ipv6Prefix.Parse(prefix), 64);

    private static PrefixesAllocated Allocate(PrefixPoolState pool, string mn, int session, int count)
    {
        var e = pool.Decide(mn, session, count)!;
        pool.Apply(e);
        return e;
    }

    [Fact]
    public void Prefixes_are_carved_in_order_from_the_pool()
    {
        var pool = Pool();
        Assert.Equal(["2001:db8:a000::/64", "2001:db8:a000:1::/64"], Allocate(pool, "mn1", 1, 2).Prefixes.Select(p => p.ToString()));
        Assert.Equal("2001:db8:a000:2::/64", Assert.Single(Allocate(pool, "mn2", 1, 1).Prefixes).ToString());
        Assert.Equal(3, pool.Allocated);
    }

    [Fact]
    public void Two_mobile_nodes_never_share_a_prefix()
    {
        var pool = Pool();
        var seen = new HashSet<Ipv6Prefix>();
        for (var i = 0; i < 1000; i++)
        {
            var e = Allocate(pool, $"mn{i}", 1, 1 + i % 3);
            foreach (var prefix in e.Prefixes)
                Assert.True(seen.Add(prefix), $"{prefix} handed out twice");
            if (i % 7 == 0)
            {
                var release = new PrefixesReleased($"mn{i}", 1, e.Prefixes);
                pool.Apply(release);
                foreach (var prefix in e.Prefixes)
                    seen.Remove(prefix);
            }
        }
    }

    [Fact]
    public void Deciding_changes_nothing_until_the_event_is_applied()
    {
        var pool = Pool();
        var first = pool.Decide("mn1", 1, 2)!;
        Assert.Equal(first.Prefixes.ToArray(), pool.Decide("mn1", 1, 2)!.Prefixes.ToArray());
        Assert.Equal(0, pool.Allocated);
        pool.Apply(first);
        Assert.Equal(2, pool.Allocated);
        Assert.True(pool.IsHeldBy(first.Prefixes[1], "mn1", 1));
        Assert.False(pool.IsHeldBy(first.Prefixes[1], "mn2", 1));
        Assert.False(pool.IsHeldBy(first.Prefixes[1], "mn1", 2));
        Assert.DoesNotContain(first.Prefixes[0], pool.Decide("mn2", 1, 2)!.Prefixes);
    }

    [Fact]
    public void A_prefix_far_beyond_the_dense_range_is_owned_and_released_like_any_other()
    {
        // A replayed event may carry a prefix of another pool layout: kept aside, never a huge owner array.
        var pool = Pool("2001:db8::/32");
        var far = Ipv6Prefix.Parse("2001:db8:ffff:ff00::/64");
        pool.Apply(new PrefixesAllocated("mn1", 1, [far]));
        Assert.True(pool.IsHeldBy(far, "mn1", 1));
        Assert.Equal(1, pool.Allocated);
        pool.Apply(new PrefixesReleased("mn1", 1, [far]));
        Assert.False(pool.IsHeld(far));
        Assert.Equal(0, pool.Allocated);
        Assert.Equal(far, Assert.Single(pool.Decide("mn2", 1, 1)!.Prefixes)); // the freed prefix is handed out first
    }

    [Fact]
    public void A_released_prefix_is_reused_and_replaying_the_events_rebuilds_the_same_pool()
    {
        var pool = Pool();
        var events = new List<IPrefixPoolEvent>();
        void Do(IPrefixPoolEvent e) { pool.Apply(e); events.Add(e); }
        var a = pool.Decide("mn1", 1, 1)!; Do(a);
        var b = pool.Decide("mn2", 1, 1)!; Do(b);
        Do(new PrefixesReleased("mn1", 1, a.Prefixes));
        var c = pool.Decide("mn3", 1, 1)!; Do(c);
        Assert.Equal(a.Prefixes.ToArray(), c.Prefixes.ToArray());

        var replayed = Pool();
        foreach (var e in events)
            replayed.Apply(e);
        Assert.Equal(pool.Decide("mn4", 1, 2)!.Prefixes.ToArray(), replayed.Decide("mn4", 1, 2)!.Prefixes.ToArray());
        Assert.True(replayed.IsHeldBy(c.Prefixes[0], "mn3", 1));
    }

    [Fact]
    public void After_a_snapshot_recovery_freed_prefixes_below_the_high_water_mark_are_reused()
    {
        var pool = Pool();
        var a = Allocate(pool, "mn1", 1, 1);
        var b = Allocate(pool, "mn2", 1, 1);
        var c = Allocate(pool, "mn3", 1, 1);
        pool.Apply(new PrefixesReleased("mn2", 1, b.Prefixes));

        // A snapshot holds the sessions in use (mn1, mn3), not the free list.
        var recovered = Pool();
        recovered.Apply(a);
        recovered.Apply(c);
        recovered.ReclaimHoles();
        Assert.Equal(b.Prefixes.ToArray(), recovered.Decide("mn4", 1, 1)!.Prefixes.ToArray());
        var next = recovered.Decide("mn5", 1, 2)!;
        Assert.DoesNotContain(a.Prefixes[0], next.Prefixes);
        Assert.DoesNotContain(c.Prefixes[0], next.Prefixes);
    }

    [Fact]
    public void An_exhausted_pool_says_so()
    {
        var pool = new PrefixPoolState(Ipv6Prefix.Parse("2001:db8:a000::/63"), 64);
        Allocate(pool, "mn1", 1, 2);
        Assert.Null(pool.Decide("mn2", 1, 1));
    }
}
