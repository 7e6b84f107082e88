// Handover buffering at the LMA (issue 6) end to end in the lab: a CN→MN UDP stream at 1000 packets/s
// across a move, counted at the mobile node's receiver (sequence numbers), with buffering on and off;
// and a per-node overflow that drops the moving node's oldest packets while another node's stream is
// untouched. Each spec brings up its own lab (the setting is the LMA's configuration) in the shared lab
// collection, and always takes it down; a later spec needing the shared 2-MAG lab brings it up again.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Pmip6Akka.Hosts.Lab;
using Xunit.Abstractions;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LabCollection.Name)]
public sealed class LabBufferingSpec(LabFixture lab, ITestOutputHelper output)
{
    private const int Rate = 1000;

    private void Up(params string[] options)
    {
        lab.Lab("down");
        lab.MarkDown();
        var up = lab.Lab(["up", "--mags", "2", "--timeout", "30", .. options]);
        Assert.True(up.ExitCode == 0, $"lab up {string.Join(' ', options)} failed: {up.Err.Trim()}");
    }

    private void Down()
    {
        lab.Lab("down");
        lab.MarkDown();
    }

    private static UdpStream Stream(string mnNamespace, long origin) =>
        new(LabPlan.CnNamespace, mnNamespace, IPAddress.Parse(NodeAddresses.InPool(mnNamespace)[0]), Rate, origin);

    private void Move(string mn, string mag, int gapMs)
    {
        var move = lab.Lab("move", mn, mag, "--gap-ms", $"{gapMs}");
        Assert.True(move.ExitCode == 0, $"lab move {mn} {mag} failed: {move.Err.Trim()}");
        output.WriteLine(move.Out.Trim());
    }

    private static double Ms(long origin) => Stopwatch.GetElapsedTime(origin).TotalMilliseconds;

    private static JsonElement LmaStatus() =>
        DaemonHttp.TryGetJson(LabPlan.LmaNamespace, LabPlan.LmaHttpPort, "/status?limit=1") ?? throw new Xunit.Sdk.XunitException("the LMA's /status does not answer");

    /// <summary>One move of mn1 with a <paramref name="gapMs"/> layer-2 gap under 1000 packets/s; what mn1 received of the packets sent from just before it.</summary>
    private (StreamStatistics Stats, long ReturnedByNewMag) MeasuredMove(int gapMs, bool warmUp)
    {
        var origin = Stopwatch.GetTimestamp();
        using var udp = Stream("pmip-mn1", origin);
        udp.Start();
        Thread.Sleep(500);
        var target = "mag2";
        if (warmUp)
        {
            // The first move after `lab up` runs the daemons' detach, buffering and flush paths for the first time (JIT):
            // it is measurably worse (a few more packets lost), so one unmeasured move goes first.
            Move("mn1", "mag2", gapMs);
            Thread.Sleep(700);
            target = "mag1";
        }
        var from = Ms(origin);
        var before = HandoverBufferFigures.Snapshot(LabPlan.Create(2, 1), CancellationToken.None);
        var lmaBefore = LmaStatus();
        Move("mn1", target, gapMs);
        Thread.Sleep(1000);
        var end = udp.Stop(TimeSpan.FromMilliseconds(500));
        var after = HandoverBufferFigures.Snapshot(LabPlan.Create(2, 1), CancellationToken.None);
        var lateBefore = HandoverBufferFigures.TunnelCounter(lmaBefore, "tunnel_returned_forwarded_total");
        var lateReturns = HandoverBufferFigures.TunnelCounter(LmaStatus(), "tunnel_returned_forwarded_total") - lateBefore;
        output.WriteLine($"during the move: returned by the previous MAG (LMA) {after.ReturnedByMag - before.ReturnedByMag}, of which after the flush {lateReturns}, " +
                         string.Join(", ", after.Parked.Keys.Select(m => $"{m} returned {after.ReturnedToLma[m] - before.ReturnedToLma[m]} parked {after.Parked[m] - before.Parked[m]}")));
        var stats = ArrivalStatistics.Compute(udp.SendTimes, udp.Arrivals, from, end);
        output.WriteLine($"gap {gapMs} ms: sent {stats.Sent}, received {stats.Received}, lost {stats.Lost}, duplicated {stats.Duplicated}, " +
                         $"reordered {stats.Reordered}, interruption {stats.LargestGapMs:F1} ms");
        var sends = udp.SendTimes;
        var received = udp.Arrivals.Select(a => a.Sequence).ToHashSet();
        var lost = Enumerable.Range(0, sends.Count).Where(i => sends[i] >= from && sends[i] < end && !received.Contains(i)).ToList();
        if (lost.Count > 0)
            output.WriteLine($"lost (sequence@sent ms since the move began): {string.Join(' ', lost.Take(20).Select(i => $"{i}@{sends[i] - from:F0}"))}");
        var out_of_order = ReorderedArrivals(udp.Arrivals, sends, from, end);
        if (out_of_order.Count > 0)
            output.WriteLine($"reordered (sequence sent→arrived ms since the move began, behind sequence): {string.Join(' ', out_of_order.Take(20))}");
        if (LmaStatus().GetProperty("buffering") is { ValueKind: JsonValueKind.Object } buffering)
            output.WriteLine($"LMA episodes (newest first): {buffering.GetProperty("episodes")}");
        return (stats, after.ReturnedToLma[target] - before.ReturnedToLma[target]);
    }

    /// <summary>First arrivals of the window that came after a higher sequence number, for the log: which packets, when.</summary>
    private static List<string> ReorderedArrivals(IReadOnlyList<Arrival> arrivals, IReadOnlyList<double> sends, double from, double end)
    {
        var seen = new HashSet<long>();
        long highest = -1;
        var result = new List<string>();
        foreach (var a in arrivals)
        {
            if (!seen.Add(a.Sequence))
                continue;
            var inWindow = a.Sequence < sends.Count && sends[(int)a.Sequence] >= from && sends[(int)a.Sequence] < end;
            if (inWindow && a.Sequence < highest)
                result.Add($"{a.Sequence}:{sends[(int)a.Sequence] - from:F0}→{a.TimeMs - from:F0}<{highest}");
            highest = Math.Max(highest, a.Sequence);
        }
        return result;
    }

    /// <summary>
    /// mn1 moves to mag2 with a <paramref name="gapMs"/> gap while mn2 stays; both receive 1000 packets/s. What each
    /// received (mn1 from just before its move), and the LMA's buffering status afterwards.
    /// </summary>
    private (UdpStream Moving, StreamStatistics Mn1, StreamStatistics Mn2, double From, double End, JsonElement Buffering) MoveOneOfTwo(int gapMs, string what)
    {
        var origin = Stopwatch.GetTimestamp();
        var moving = Stream("pmip-mn1", origin);
        using var staying = Stream("pmip-mn2", origin);
        moving.Start();
        staying.Start();
        Thread.Sleep(500);
        var from = Ms(origin);
        Move("mn1", "mag2", gapMs);
        Thread.Sleep(1000);
        var end = moving.Stop(TimeSpan.FromMilliseconds(500));
        staying.Stop(TimeSpan.Zero);
        moving.Dispose();
        var mn1 = ArrivalStatistics.Compute(moving.SendTimes, moving.Arrivals, from, end);
        var mn2 = ArrivalStatistics.Compute(staying.SendTimes, staying.Arrivals, 0, end);
        output.WriteLine($"mn1 ({what}): sent {mn1.Sent}, lost {mn1.Lost}, reordered {mn1.Reordered}; mn2 (stayed): sent {mn2.Sent}, lost {mn2.Lost}");
        var buffering = LmaStatus().GetProperty("buffering");
        output.WriteLine($"LMA buffering: {buffering}");
        return (moving, mn1, mn2, from, end, buffering);
    }

    [Fact]
    public void With_buffering_on_a_move_with_a_200_ms_gap_at_1000_packets_per_second_loses_at_most_what_is_on_the_access_link_and_duplicates_none()
    {
        // Issue 6: nothing lost but what is on the access link at the instant of detach (0-1), no reordering. Measured
        // since the MAG's fallback route and hop-limit-free fingerprints (docs/DESIGN-NOTES.md): 0 lost, 0 reordered
        // in most moves of 50, 200 and 1000 ms gaps, the odd 1-2 lost or reordered. Bounds: 2 lost, 3 reordered.
        Up("--buffering", "on");
        try
        {
            var (stats, returnedByNewMag) = MeasuredMove(200, warmUp: true);
            Assert.True(stats.Lost <= 2, $"{stats.Lost} of {stats.Sent} packets lost");
            Assert.Equal(0, stats.Duplicated);
            Assert.True(stats.Reordered <= 3, $"{stats.Reordered} packets reordered");
            // The node came back to mag1, which it had left 0.7 s before: mag1 parks the flushed downlink until the route is
            // in place instead of returning it to the LMA as downlink of a departed node (which came back behind newer packets).
            Assert.Equal(0, returnedByNewMag);
            Assert.True(stats.LargestGapMs >= 150, $"an interruption of only {stats.LargestGapMs:F1} ms: did the move happen?");
        }
        finally
        {
            Down();
        }
    }

    [Fact]
    public void With_buffering_off_the_same_move_loses_about_gap_times_rate()
    {
        Up("--buffering", "off");
        try
        {
            var (stats, _) = MeasuredMove(200, warmUp: false);
            Assert.True(stats.Lost >= 100, $"only {stats.Lost} of {stats.Sent} packets lost without buffering");
        }
        finally
        {
            Down();
        }
    }

    [Fact]
    public void An_overflowing_buffer_drops_the_moving_nodes_oldest_packets_and_counts_them_while_another_node_loses_nothing()
    {
        const int cap = 100;
        Up("--mns", "2", "--buffering", "on", "--buffer-max-packets", $"{cap}");
        try
        {
            var (moving, mn1, mn2, from, end, buffering) = MoveOneOfTwo(500, "moved, cap " + cap); // about 500 packets held against a cap of 100

            var episode = buffering.GetProperty("episodes").EnumerateArray().First(e => e.GetProperty("mnId").GetString() == "mn1@lab.pmip6");
            Assert.True(episode.GetProperty("dropped").GetInt32() > 0, $"no drop in mn1's episode {episode}");
            Assert.True(episode.GetProperty("peak").GetInt32() <= cap, $"peak above the cap: {episode}");
            var overflow = buffering.GetProperty("dropped").EnumerateArray().Single(d => d.GetProperty("reason").GetString() == "overflow-node");
            Assert.True(overflow.GetProperty("count").GetInt64() > 0, $"overflow-node not counted: {buffering.GetProperty("dropped")}");
            Assert.DoesNotContain(buffering.GetProperty("episodes").EnumerateArray(), e => e.GetProperty("mnId").GetString() == "mn2@lab.pmip6");

            // Oldest first: every packet mn1 lost was sent before every held packet that was released (arrived late).
            var sends = moving.SendTimes;
            var arrived = moving.Arrivals.GroupBy(a => a.Sequence).ToDictionary(g => g.Key, g => g.First().TimeMs);
            var lost = Enumerable.Range(0, sends.Count).Where(i => sends[i] >= from && sends[i] < end && !arrived.ContainsKey(i)).ToList();
            var released = arrived.Where(a => a.Key < sends.Count && sends[(int)a.Key] >= from && a.Value - sends[(int)a.Key] > 50).Select(a => a.Key).ToList();
            Assert.True(lost.Count >= 100, $"only {lost.Count} lost past a cap of {cap} over a 500 ms gap");
            Assert.NotEmpty(released);
            // A packet counts as released when it arrived over 50 ms late; under CI load a few packets sent just as the buffering began
            // arrive that late without having been held, so the boundary may blur by a few. Newest-first (or random) dropping would put
            // hundreds of lost packets after the first released one; oldest-first puts none, give or take that boundary.
            var lostAfterReleased = lost.Count(l => l > released.Min());
            Assert.True(lostAfterReleased <= 5,
                $"{lostAfterReleased} lost packets are newer than the oldest released one ({released.Min()}); newest lost {lost.Max()}");

            Assert.Equal(0, mn2.Lost);
            Assert.Equal(0, mn2.Duplicated);
        }
        finally
        {
            Down();
        }
    }

    [Fact]
    public void A_node_that_stays_away_longer_than_the_maximum_hold_time_has_its_held_packets_dropped_as_expired_while_another_node_loses_nothing()
    {
        Up("--mns", "2", "--buffering", "on"); // max-hold-time 3 s (the default)
        try
        {
            var (_, mn1, mn2, _, _, buffering) = MoveOneOfTwo(3600, "away 3.6 s"); // away longer than the LMA holds its downlink

            var episode = buffering.GetProperty("episodes").EnumerateArray().First(e => e.GetProperty("mnId").GetString() == "mn1@lab.pmip6");
            Assert.Equal("expired", episode.GetProperty("outcome").GetString());
            Assert.True(episode.GetProperty("dropped").GetInt32() > 2000, $"an expired hold of about 3 s at 1000/s dropped little: {episode}");
            var expired = buffering.GetProperty("dropped").EnumerateArray().Single(d => d.GetProperty("reason").GetString() == "expired");
            Assert.True(expired.GetProperty("count").GetInt64() > 2000, $"expiry not counted: {buffering.GetProperty("dropped")}");
            Assert.True(mn1.Lost > 3000, $"only {mn1.Lost} lost over a 3.6 s absence"); // nothing is delivered from a hold that expired
            Assert.True(mn1.Received > 500, "the stream resumed after the node registered again");

            Assert.Equal(0, mn2.Lost);
            Assert.Equal(0, mn2.Duplicated);
        }
        finally
        {
            Down();
        }
    }
}
