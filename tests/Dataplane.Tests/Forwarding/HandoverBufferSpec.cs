// The LMA's handover buffer as bookkeeping: what is held for whom, in which order it is released and at
// what pace, and what is dropped first when a cap or the holding time is exceeded.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using Xunit;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class HandoverBufferSpec
{
    private sealed class Verdicts : IVerdicts
    {
        public readonly List<uint> Accepted = [];
        public readonly List<uint> Dropped = [];
        public void Accept(uint packetId) => Accepted.Add(packetId);
        public void Drop(uint packetId) => Dropped.Add(packetId);
    }

    private static readonly Ipv6Prefix Hnp1 = Ipv6Prefix.Parse("2001:db8:a000:1::/64");
    private static readonly Ipv6Prefix Hnp2 = Ipv6Prefix.Parse("2001:db8:a000:2::/64");
    private static readonly Ipv6Address Mn1 = Ipv6Address.Parse("2001:db8:a000:1::10");
    private static readonly Ipv6Address Mn2 = Ipv6Address.Parse("2001:db8:a000:2::10");
    private static readonly long Second = Stopwatch.Frequency;
    private static long Ms(double ms) => (long)(ms * Second / 1000);

    private static (HandoverBuffer Buffer, Verdicts Verdicts) Buffer(HandoverBufferLimits? limits = null)
    {
        var verdicts = new Verdicts();
        return (new HandoverBuffer(limits ?? new HandoverBufferLimits { Adaptive = false, FlushRate = 1000 }, verdicts), verdicts);
    }

    private static List<FinishedNode> Tick(HandoverBuffer buffer, long at)
    {
        var finished = new List<FinishedNode>();
        buffer.Tick(at, finished);
        return finished;
    }

    [Fact]
    public void Downlink_for_a_de_registered_node_is_held_and_nothing_else_is()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        Assert.True(buffer.TryHold(1, Mn1, 100, Ms(1)));
        Assert.False(buffer.TryHold(2, Mn2, 100, Ms(1)));
        Assert.Equal(1, buffer.PacketsHeld);
        Assert.Empty(verdicts.Accepted);
        Tick(buffer, Ms(500)); // no flush yet: still held
        Assert.Empty(verdicts.Accepted);
    }

    [Fact]
    public void A_flush_releases_in_arrival_order_at_the_configured_pace_then_reports_the_node_finished()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        for (uint id = 1; id <= 10; id++)
            buffer.TryHold(id, Mn1, 100, Ms(id));
        Assert.True(buffer.Flush("mn1", Ms(100)));
        Assert.Empty(Tick(buffer, Ms(100)));
        Assert.Equal([1u], verdicts.Accepted); // the first at once
        Assert.Empty(Tick(buffer, Ms(104)));
        Assert.Equal([1u, 2, 3, 4, 5], verdicts.Accepted); // 1000/s: one more per millisecond
        var finished = Tick(buffer, Ms(120));
        Assert.Equal([1u, 2, 3, 4, 5, 6, 7, 8, 9, 10], verdicts.Accepted);
        Assert.Equal("mn1", Assert.Single(finished).MobileNodeId);
        buffer.Complete("mn1", Ms(121));
        Assert.False(buffer.IsBuffering("mn1"));
        var episode = Assert.Single(buffer.RecentEpisodes());
        Assert.Equal((10, 10, 10, 0, "flushed"), (episode.Packets, episode.Peak, episode.Released, episode.Dropped, episode.Outcome));
        Assert.InRange(episode.MaxAddedDelay.TotalMilliseconds, 100, 120);
    }

    [Fact]
    public void Adaptive_pacing_drains_at_least_twice_as_fast_as_packets_arrived()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { Adaptive = true, FlushRate = 100 });
        buffer.Start("mn1", [Hnp1], 0);
        for (uint id = 1; id <= 200; id++) // 200 packets in 100 ms: 2000/s
            buffer.TryHold(id, Mn1, 100, Ms(id / 2.0));
        buffer.Flush("mn1", Ms(100));
        for (var t = 100; t <= 140; t++) // the pacer ticks every millisecond
            Tick(buffer, Ms(t));
        // at >= 4000/s, 40 ms release >= 160
        Assert.InRange(verdicts.Accepted.Count, 150, 200);
    }

    [Fact]
    public void Packets_arriving_while_the_flush_runs_join_the_end_of_the_queue()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(1, Mn1, 100, Ms(1));
        buffer.TryHold(2, Mn1, 100, Ms(2));
        buffer.Flush("mn1", Ms(10));
        Tick(buffer, Ms(10));
        buffer.TryHold(3, Mn1, 100, Ms(10.5));
        Tick(buffer, Ms(20));
        Assert.Equal([1u, 2, 3], verdicts.Accepted);
    }

    [Fact]
    public void Over_the_per_node_cap_the_oldest_are_dropped_and_counted()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { MaxPacketsPerNode = 3, Adaptive = false, FlushRate = 1_000_000 });
        buffer.Start("mn1", [Hnp1], 0);
        for (uint id = 1; id <= 5; id++)
            buffer.TryHold(id, Mn1, 100, Ms(id));
        Assert.Equal([1u, 2], verdicts.Dropped);
        Assert.Equal(2, buffer.Dropped(BufferDropReason.OverflowNode));
        buffer.Flush("mn1", Ms(10));
        Tick(buffer, Ms(11));
        Assert.Equal([3u, 4, 5], verdicts.Accepted);
    }

    [Fact]
    public void Over_the_byte_cap_the_oldest_are_dropped()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { MaxBytesPerNode = 2500 });
        buffer.Start("mn1", [Hnp1], 0);
        for (uint id = 1; id <= 3; id++)
            buffer.TryHold(id, Mn1, 1000, Ms(id));
        Assert.Equal([1u], verdicts.Dropped);
    }

    [Fact]
    public void A_global_overflow_is_paid_by_the_node_holding_the_most_and_other_nodes_keep_theirs()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { MaxPackets = 4 });
        buffer.Start("mn1", [Hnp1], 0);
        buffer.Start("mn2", [Hnp2], 0);
        buffer.TryHold(100, Mn2, 100, Ms(1));
        for (uint id = 1; id <= 4; id++)
            buffer.TryHold(id, Mn1, 100, Ms(1 + id));
        Assert.Equal([1u], verdicts.Dropped);
        Assert.Equal(1, buffer.Dropped(BufferDropReason.OverflowGlobal));
        Assert.Equal(4, buffer.PacketsHeld);
    }

    [Fact]
    public void After_the_maximum_holding_time_the_rest_is_dropped_and_only_that_node_ends()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { MaxHoldTime = TimeSpan.FromMilliseconds(200) });
        buffer.Start("mn1", [Hnp1], 0);
        buffer.Start("mn2", [Hnp2], Ms(150));
        buffer.TryHold(1, Mn1, 100, Ms(1));
        buffer.TryHold(2, Mn1, 100, Ms(2));
        buffer.TryHold(3, Mn2, 100, Ms(160));
        var finished = Tick(buffer, Ms(250));
        Assert.Equal(("mn1", true), (Assert.Single(finished).MobileNodeId, finished[0].Expired));
        Assert.Equal([1u, 2], verdicts.Dropped);
        Assert.Equal(2, buffer.Dropped(BufferDropReason.Expired));
        Assert.True(buffer.IsBuffering("mn2"));
        Assert.Equal("expired", Assert.Single(buffer.RecentEpisodes()).Outcome);
    }

    [Fact]
    public void Discarding_drops_what_is_held_when_no_new_binding_comes()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(1, Mn1, 100, Ms(1));
        Assert.True(buffer.Discard("mn1", "session removed"));
        Assert.Equal([1u], verdicts.Dropped);
        Assert.False(buffer.TryHold(2, Mn1, 100, Ms(2)));
    }

    [Fact]
    public void Once_a_flush_has_emptied_the_queue_later_packets_pass_at_once_while_the_rule_is_being_removed()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(1, Mn1, 100, Ms(1));
        buffer.Flush("mn1", Ms(5));
        Assert.Single(Tick(buffer, Ms(5)));
        Assert.False(buffer.TryHold(2, Mn1, 100, Ms(6))); // nothing held before it: no reason to hold it
        buffer.Complete("mn1", Ms(7));
        Assert.Equal([1u], verdicts.Accepted);
        Assert.Equal(1, buffer.PassedTotal);
    }

    [Fact]
    public void A_node_de_registered_again_as_its_flush_ends_keeps_holding_and_the_old_completion_does_not_end_it()
    {
        var (buffer, verdicts) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(1, Mn1, 100, Ms(1));
        buffer.Flush("mn1", Ms(5));
        var first = Assert.Single(Tick(buffer, Ms(5))); // emptied: its rule removal is queued with this episode
        Assert.Equal([1u], verdicts.Accepted);

        buffer.Start("mn1", [Hnp1], Ms(6)); // moved again before that removal ran
        Assert.True(buffer.TryHold(2, Mn1, 100, Ms(7)));
        Assert.False(buffer.Complete("mn1", Ms(8), first.Episode)); // the old episode's completion: not this one's
        Assert.True(buffer.IsBuffering("mn1"));
        Assert.Equal(1, buffer.PacketsHeld);
        Assert.Equal([1u], verdicts.Accepted); // packet 2 still held for the new binding

        buffer.Flush("mn1", Ms(20));
        var second = Assert.Single(Tick(buffer, Ms(20)));
        Assert.NotEqual(first.Episode, second.Episode);
        Assert.True(buffer.Complete("mn1", Ms(21), second.Episode));
        Assert.Equal([1u, 2u], verdicts.Accepted);
        Assert.False(buffer.IsBuffering("mn1"));
    }

    [Fact]
    public void A_completion_for_an_ended_episode_does_not_end_a_new_one_of_the_same_node()
    {
        var (buffer, _) = Buffer();
        buffer.Start("mn1", [Hnp1], 0);
        buffer.Flush("mn1", Ms(1));
        var first = Assert.Single(Tick(buffer, Ms(1)));
        Assert.True(buffer.Discard("mn1", "session removed")); // ended some other way before its completion ran
        buffer.Start("mn1", [Hnp1], Ms(2)); // a new episode, a new NodeBuffer
        Assert.False(buffer.Complete("mn1", Ms(3), first.Episode));
        Assert.True(buffer.IsBuffering("mn1"));
    }

    [Fact]
    public void A_packet_held_behind_others_during_the_flush_is_released_on_completion_at_the_latest()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { Adaptive = false, FlushRate = 1 });
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(1, Mn1, 100, Ms(1));
        buffer.TryHold(2, Mn1, 100, Ms(2));
        buffer.Flush("mn1", Ms(5));
        Tick(buffer, Ms(5));
        Assert.True(buffer.TryHold(3, Mn1, 100, Ms(6)));
        buffer.Complete("mn1", Ms(7));
        Assert.Equal([1u, 2, 3], verdicts.Accepted);
    }

    [Fact]
    public void A_packet_sent_back_by_the_previous_MAG_is_released_where_it_was_in_the_stream_not_at_the_end()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { Adaptive = false, FlushRate = 1_000_000 });
        buffer.Start("mn1", [Hnp1], 0);
        buffer.TryHold(11, Mn1, 100, Ms(11));
        buffer.TryHold(12, Mn1, 100, Ms(12));
        buffer.TryHold(10, Mn1, 100, Ms(12.4), order: HandoverBuffer.ReturnedOrder(Ms(10))); // first sent to the old MAG at 10 ms, back at 12.4 ms
        buffer.Flush("mn1", Ms(20));
        Tick(buffer, Ms(21));
        Assert.Equal([10u, 11, 12], verdicts.Accepted);
    }

    [Fact]
    public void A_returned_packet_goes_ahead_of_every_packet_the_rule_queued_whatever_the_stamps_say()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { Adaptive = false, FlushRate = 1_000_000 });
        buffer.Start("mn1", [Hnp1], 0);
        // 1 passed the LMA before the rule was in place but waited in the TUN for the encapsulating thread, which
        // stamped it at 13 ms; 2 came after it and the queue's thread stamped it at 11 ms.
        buffer.TryHold(2, Mn1, 100, Ms(11));
        buffer.TryHold(1, Mn1, 100, Ms(14), order: HandoverBuffer.ReturnedOrder(Ms(13)));
        buffer.TryHold(3, Mn1, 100, Ms(15));
        buffer.TryHold(0, Mn1, 100, Ms(16), order: HandoverBuffer.ReturnedOrder(Ms(12))); // returned later, sent earlier
        buffer.Flush("mn1", Ms(20));
        Tick(buffer, Ms(21));
        Assert.Equal([0u, 1, 2, 3], verdicts.Accepted);
    }

    /// <summary>A buffer holding at most 3 packets for mn1, after packets 11-14 (sent at 11-14 ms) were queued in a handover.</summary>
    private static (HandoverBuffer Buffer, Verdicts Verdicts) CappedAtThreeAfterFour()
    {
        var (buffer, verdicts) = Buffer(new HandoverBufferLimits { MaxPacketsPerNode = 3, Adaptive = false, FlushRate = 1_000_000 });
        buffer.Start("mn1", [Hnp1], 0);
        for (uint id = 11; id <= 14; id++)
            buffer.TryHold(id, Mn1, 100, Ms(id));
        return (buffer, verdicts);
    }

    [Fact]
    public void A_returned_packet_older_than_one_a_cap_already_dropped_is_dropped_too_oldest_first_holds()
    {
        var (buffer, verdicts) = CappedAtThreeAfterFour(); // 11 dropped for the cap, 12-14 held
        buffer.TryHold(10, Mn1, 100, Ms(15), order: HandoverBuffer.ReturnedOrder(Ms(10))); // sent before 11, returned by the old MAG only now
        buffer.TryHold(15, Mn1, 100, Ms(15)); // 12 dropped for the cap
        Assert.Equal([11u, 10, 12], verdicts.Dropped);
        Assert.Equal(3, buffer.Dropped(BufferDropReason.OverflowNode));
        buffer.Flush("mn1", Ms(20));
        Tick(buffer, Ms(21));
        Assert.Equal([13u, 14, 15], verdicts.Accepted);
    }

    [Fact]
    public void What_the_MAG_just_left_sends_back_is_not_dropped_for_the_previous_episode_s_cap()
    {
        var (buffer, verdicts) = CappedAtThreeAfterFour(); // 11 dropped for the cap, 12-14 held
        buffer.Flush("mn1", Ms(20));
        Tick(buffer, Ms(21)); // 12-14 released to the new MAG
        buffer.Start("mn1", [Hnp1], Ms(22)); // and the node left it again while the flush was ending
        // The new MAG sends 14 back (re-injected with a new id): it went out after 11 was dropped, so it is kept.
        Assert.True(buffer.TryHold(20, Mn1, 100, Ms(23), order: HandoverBuffer.ReturnedOrder(Ms(21))));
        buffer.Flush("mn1", Ms(30));
        Tick(buffer, Ms(31));
        Assert.Equal([11u], verdicts.Dropped);
        Assert.Equal([12u, 13, 14, 20], verdicts.Accepted);
    }

    [Fact]
    public void A_tunnel_endpoint_remembers_when_it_sent_a_packet()
    {
        var endpoint = new TunnelTable().Endpoint(Ipv6Address.Parse("2001:db8:ff::1:1"));
        var lma = new TunnelForwarder(TunnelRole.Anchor, new TunnelTable(), new ForwardingCounters());
        lma.Table.Set(Hnp1, Ipv6Address.Parse("2001:db8:ff::1:1"));
        var packet = new byte[48];
        packet[0] = 0x60;
        packet[5] = 8;
        Mn1.Write(packet.AsSpan(24));
        var before = Stopwatch.GetTimestamp();
        Assert.Equal(ForwardingVerdict.Forward, lma.Encapsulate(packet, out var sentTo));
        Assert.True(sentTo.TryFindSent(PacketFingerprint.Of(packet), out var at));
        Assert.InRange(at, before, Stopwatch.GetTimestamp());
        Assert.False(endpoint.TryFindSent(PacketFingerprint.Of(packet), out _));

        // The same packet back from a MAG whose kernel routed it once more (hop limit one less) is still recognised.
        var routedBack = (byte[])packet.Clone();
        routedBack[PacketFingerprint.HopLimitOffset]--;
        Assert.True(sentTo.TryFindSent(PacketFingerprint.Of(routedBack), out var again));
        Assert.Equal(at, again);
        routedBack[30] ^= 1; // but not another packet
        Assert.False(sentTo.TryFindSent(PacketFingerprint.Of(routedBack), out _));
    }
}
