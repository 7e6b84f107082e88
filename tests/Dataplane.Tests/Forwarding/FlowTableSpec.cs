// The LMA's downlink flow table (issue 8): per-flow counts and rate under stable ids, the home tunnel by
// default, atomic moves by command, idle expiry, a bounded table, and no allocation per packet.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Dataplane.Tests.Forwarding.FlowPackets;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class FlowTableSpec
{
    private static readonly long Second = Stopwatch.Frequency;
    private readonly TunnelTable _tunnels = new();

    public FlowTableSpec() => _tunnels.Set(Hnp, Mag1);

    private FlowTable Table(int maxFlows = 1024, TimeSpan? idle = null, int sweep = 2) =>
        new(_tunnels, new FlowTableSettings { MaxFlows = maxFlows, IdleTimeout = idle ?? TimeSpan.FromSeconds(30), SweepPerPacket = sweep });

    private static Ipv6Address Via(FlowTable table, byte[] packet, long now)
    {
        Assert.Equal(ForwardingVerdict.Forward, table.Classify(packet, now, out var endpoint));
        return endpoint.Remote;
    }

    private static FlowSnapshot Row(FlowTable table, ulong id, long now) => table.Snapshot(now).Single(r => r.Id == id);

    [Fact]
    public void Packets_of_one_flow_are_counted_under_one_stable_id_and_each_new_flow_gets_the_next()
    {
        var table = Table();
        var voice = Udp(40000, 5004, payload: 160);
        for (var i = 0; i < 3; i++)
            table.Classify(voice, i, out _);
        table.Classify(Tcp(443, 50000), 3, out _);
        var rows = table.Snapshot(4);
        Assert.Equal([1UL, 2UL], rows.Select(r => r.Id));
        Assert.Equal(3, rows[0].Packets);
        Assert.Equal(3L * voice.Length, rows[0].Bytes);
        Assert.Equal(new FlowKey(Cn, Mn, 0, IpProtocol.Udp, 40000, 5004, true), rows[0].Key);
        Assert.Equal(1, rows[1].Packets);
        Assert.Equal(2, table.Count);
        Assert.Equal(4, table.Counters.TrackedPackets);
    }

    [Fact]
    public void A_flow_follows_its_prefixs_home_tunnel_across_a_handover()
    {
        var table = Table();
        var bulk = Tcp(443, 50000);
        Assert.Equal(Mag1, Via(table, bulk, 0));
        _tunnels.Set(Hnp, Mag2);
        Assert.Equal(Mag2, Via(table, bulk, 1));
        var row = Row(table, 1, 2);
        Assert.Equal(Mag2, row.Via);
        Assert.Null(row.MovedTo);
    }

    [Fact]
    public void A_moved_flow_takes_its_new_tunnel_from_the_next_packet_and_the_other_flows_stay_home()
    {
        var table = Table();
        var voice = Udp(40000, 5004);
        var bulk = Tcp(443, 50000);
        Via(table, voice, 0);
        Via(table, bulk, 0);
        Assert.True(table.TryMove(2, _tunnels.Endpoint(Mag2)));
        Assert.Equal(Mag2, Via(table, bulk, 1));
        Assert.Equal(Mag1, Via(table, voice, 1));
        Assert.Equal(Mag2, Row(table, 2, 2).MovedTo);
        Assert.Equal(Mag2, Row(table, 2, 2).Via);
        Assert.Null(Row(table, 1, 2).MovedTo);
        Assert.Equal(1, table.Counters.FlowMoves);

        Assert.True(table.TryMove(2, null)); // back to its home tunnel
        Assert.Equal(Mag1, Via(table, bulk, 3));
        Assert.False(table.TryMove(99, _tunnels.Endpoint(Mag2)));
    }

    [Fact]
    public void A_moved_flow_stays_on_its_chosen_tunnel_when_its_prefix_is_handed_over()
    {
        var table = Table();
        var bulk = Tcp(443, 50000);
        Via(table, bulk, 0);
        table.TryMove(1, _tunnels.Endpoint(Mag2));
        _tunnels.Set(Hnp, Ipv6Address.Parse("2001:db8:ff::1:3"));
        Assert.Equal(Mag2, Via(table, bulk, 1));
    }

    [Fact]
    public void Idle_flows_expire_and_a_returning_flow_gets_a_new_id_not_its_old_move()
    {
        var table = Table(idle: TimeSpan.FromSeconds(30));
        var bulk = Tcp(443, 50000);
        Via(table, bulk, 0);
        table.TryMove(1, _tunnels.Endpoint(Mag2));
        Assert.Equal(0, table.ExpireIdle(29 * Second));
        Assert.Equal(1, table.ExpireIdle(30 * Second));
        Assert.Equal(0, table.Count);
        Assert.Equal(1, table.Counters.FlowsExpired);
        Assert.Equal(Mag1, Via(table, bulk, 31 * Second)); // the entry is reused; the expired flow's move is not inherited
        Assert.Equal([2UL], table.Snapshot(31 * Second).Select(r => r.Id));
    }

    [Fact]
    public void Classifying_packets_also_expires_idle_flows_a_few_entries_at_a_time()
    {
        var table = Table(maxFlows: 8, idle: TimeSpan.FromSeconds(1), sweep: 2);
        for (ushort port = 1; port <= 4; port++)
            table.Classify(Udp(port, 9), 0, out _);
        var voice = Udp(40000, 5004);
        for (var i = 0; i < 4; i++) // 4 packets × 2 entries examined = the whole table
            table.Classify(voice, 2 * Second + i, out _);
        Assert.Equal([5UL], table.Snapshot(3 * Second).Select(r => r.Id));
    }

    [Fact]
    public void At_capacity_new_flows_go_home_untracked_and_counted_while_tracked_flows_keep_their_moves()
    {
        var table = Table(maxFlows: 2);
        Via(table, Udp(1, 9), 0);
        Via(table, Udp(2, 9), 0);
        table.TryMove(1, _tunnels.Endpoint(Mag2));
        Assert.Equal(Mag1, Via(table, Udp(3, 9), 1));
        Assert.Equal(Mag1, Via(table, Udp(3, 9), 2));
        Assert.Equal(Mag2, Via(table, Udp(1, 9), 3));
        Assert.Equal(2, table.Counters.UntrackedPackets);
        Assert.Equal(2, table.Count);
        Assert.Equal([1UL, 2UL], table.Snapshot(4).Select(r => r.Id));
    }

    [Fact]
    public void The_rate_is_measured_per_window_smoothed_across_windows_and_decays_when_idle()
    {
        var table = new FlowTable(_tunnels, new FlowTableSettings { RateWindow = TimeSpan.FromSeconds(1), RateSmoothing = 0.5 });
        var packet = Udp(1, 9, payload: 1000 - 48); // 1000 octets on the wire
        Assert.Equal(1000, packet.Length);
        table.Classify(packet, 0, out _);
        Assert.Equal(0, Row(table, 1, Second / 2).BytesPerSecond); // the first window has not ended
        Assert.Equal(500, Row(table, 1, Second).BytesPerSecond, 6); // 0.5 × 1000 + 0.5 × 0
        table.Classify(packet, Second + 1, out _);
        table.Classify(packet, Second + 2, out _);
        Assert.Equal(1250, Row(table, 1, 2 * Second).BytesPerSecond, 6); // 0.5 × 2000 + 0.5 × 500
        Assert.Equal(312.5, Row(table, 1, 4 * Second).BytesPerSecond, 6); // two empty windows: 1250 / 4
    }

    [Fact]
    public void Destinations_without_a_binding_create_no_flow_and_bad_headers_are_malformed()
    {
        var table = Table();
        var elsewhere = Build(Cn, Ipv6Address.Parse("2001:db8:a000:77::1"), 0, IpProtocol.Udp, Ports(1, 2, 8));
        Assert.Equal(ForwardingVerdict.NoBinding, table.Classify(elsewhere, 0, out _));
        Assert.Equal(ForwardingVerdict.Malformed, table.Classify(new byte[20], 0, out _));
        Assert.Equal(0, table.Count);
        Assert.Equal(1, table.Counters.UnboundPackets);
        Assert.Equal(1, table.Counters.MalformedPackets);
    }

    [Fact]
    public void Under_churn_every_tracked_flow_keeps_its_count_until_it_has_been_idle_for_the_timeout()
    {
        // A small table, many keys, random arrivals: the hash index with backward-shift deletion must keep
        // finding every live flow. Model: per key, its id and packets since that id appeared.
        var table = Table(maxFlows: 64, idle: TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 10), sweep: 3);
        var idle = FlowTable.ToTicks(TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 10));
        var keys = Enumerable.Range(0, 200).Select(i => Udp((ushort)i, (ushort)(i * 7), flowLabel: (uint)(i % 5))).ToArray();
        var model = new Dictionary<int, (ulong Id, long Packets, long Last)>();
        var random = new Random(8);
        ulong highest = 0;
        var now = 0L;
        for (var step = 0; step < 5000; step++)
        {
            now += random.Next(0, (int)(idle / 20));
            var k = random.Next(keys.Length) % (step % 1000 < 500 ? 40 : 200);
            var full = table.Count == table.Capacity;
            table.Classify(keys[k], now, out _);
            var row = table.Snapshot(now).SingleOrDefault(r => r.Key == Key(keys[k]));
            if (row is null)
            {
                Assert.True(full, $"step {step}: a flow went missing while the table had room");
                model.Remove(k);
                continue;
            }
            if (model.TryGetValue(k, out var known) && known.Id == row.Id)
                Assert.Equal(known.Packets + 1, row.Packets);
            else
            {
                Assert.True(row.Id > highest, $"step {step}: id {row.Id} reused");
                Assert.Equal(1, row.Packets);
                if (model.TryGetValue(k, out known))
                    Assert.True(now - known.Last >= idle, $"step {step}: flow {known.Id} was lost before it was idle");
            }
            highest = Math.Max(highest, row.Id);
            model[k] = (row.Id, row.Packets, now);
        }
        var snapshot = table.Snapshot(now);
        Assert.Equal(snapshot.Count, snapshot.Select(r => r.Key).Distinct().Count());
        Assert.Equal(table.Count, snapshot.Count);
    }

    private static FlowKey Key(byte[] packet)
    {
        Assert.True(FlowKey.TryRead(packet, out var key));
        return key;
    }

    [Fact]
    public void Classification_allocates_nothing_new_flows_expiry_and_a_full_table_included()
    {
        var idle = TimeSpan.FromMilliseconds(1);
        var table = Table(maxFlows: 256, idle: idle, sweep: 2);
        var step = FlowTable.ToTicks(idle) / 500; // a flow comes back every 1000 steps: expired by then
        var packets = Enumerable.Range(0, 1000).Select(i => Udp((ushort)i, 5001, flowLabel: (uint)i)).ToArray();
        for (var i = 0; i < 3 * packets.Length; i++) // every path once: create, update, full table, expiry, a move
        {
            table.Classify(packets[i % packets.Length], i * step, out _);
            if (i == 500)
                table.TryMove(table.Snapshot(i * step)[0].Id, _tunnels.Endpoint(Mag2));
        }
        var next = 3 * packets.Length;
        Assert.Equal(0, Allocations.SteadyState(() =>
        {
            for (var end = next + 30_000; next < end; next++)
                table.Classify(packets[next % packets.Length], next * step, out _);
        }));
        Assert.True(table.Counters.FlowsExpired > 0 && table.Counters.UntrackedPackets > 0, "the loop exercised expiry and a full table");
    }
}

public sealed class FlowTableThreadSpec
{
    [Fact]
    public void Readers_snapshot_and_move_while_the_forwarding_thread_writes_and_see_no_torn_row_and_one_switch_point()
    {
        var tunnels = new TunnelTable();
        tunnels.Set(Hnp, Mag1);
        var table = new FlowTable(tunnels);
        // Four flows of different sizes: a consistent row always has Bytes = Packets × size.
        var packets = Enumerable.Range(0, 4).Select(i => Udp((ushort)(1000 + i), 9, payload: 10 + 100 * i)).ToArray();
        var sizes = packets.ToDictionary(p => { FlowKey.TryRead(p, out var k); return k; }, p => (long)p.Length);
        // At least MinRounds, and on until RoundsAfterMove more after the reader's move (a reader the scheduler starves
        // still gets its 20 snapshots in while packets flow); a generous bound ends a run that never gets there.
        const int MinRounds = 200_000, RoundsAfterMove = 20_000;
        var giveUp = Stopwatch.StartNew();
        var moveTried = 0; // set by the reader once its move has returned
        var viaOfFlow2 = new List<bool>(MinRounds + RoundsAfterMove); // true: went through MAG2
        var writer = new Thread(() =>
        {
            var stopAt = int.MaxValue;
            for (var i = 0; i < MinRounds || i < stopAt; i++)
            {
                for (var f = 0; f < packets.Length; f++)
                {
                    table.Classify(packets[f], i, out var endpoint);
                    if (f == 1)
                        viaOfFlow2.Add(endpoint.Remote == Mag2);
                }
                if (stopAt == int.MaxValue && (Volatile.Read(ref moveTried) == 1 || giveUp.Elapsed > TimeSpan.FromSeconds(60)))
                    stopAt = i + 1 + RoundsAfterMove;
            }
        });
        writer.Start();
        var torn = 0;
        var snapshots = 0;
        var moved = false;
        while (writer.IsAlive)
        {
            var rows = table.Snapshot(0);
            foreach (var row in rows)
                if (row.Bytes != row.Packets * sizes[row.Key])
                    torn++;
            // Counted once every flow is there: a writer thread slow to start leaves the first snapshots empty.
            if (rows.Count == packets.Length && ++snapshots == 20)
            {
                moved = table.TryMove(2, tunnels.Endpoint(Mag2));
                Volatile.Write(ref moveTried, 1);
            }
        }
        writer.Join();
        var rounds = viaOfFlow2.Count;
        Assert.Equal(0, torn);
        Assert.True(moved, "the move was made while packets flowed");
        var switches = Enumerable.Range(1, rounds - 1).Count(i => viaOfFlow2[i] != viaOfFlow2[i - 1]);
        Assert.Equal(1, switches);
        Assert.True(viaOfFlow2[^1]);
        Assert.All(table.Snapshot(rounds), row => Assert.Equal(rounds, row.Packets));
    }
}
