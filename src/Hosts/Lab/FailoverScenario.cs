// `pmip6 lab run --scenario failover` (issue 9): a cluster lab of 3 LMA nodes on PostgreSQL (LabCluster), N mobile
// nodes registered through the load generator from pmip-load (the bench's MAGs, authenticated like the lab's) and the
// lab's two real mobile nodes, each receiving 1000 UDP packets/s from the CN through the core. The load keeps refreshing
// every binding about once a second (a PBU unanswered for 1 s is sent again). Then the node that anchors a real node is killed
// (the one running sharding's coordinator when a real node is anchored there, else mn1's)
// with SIGKILL, and the report says: when every binding answered again (each session's first accepted PBA after the
// kill), when each real node's traffic flowed again (the end of its longest silence), and what was lost or handed out
// again — bindings (each node's /status before and after) and prefixes (status, and every accepted refresh's HNP).
// Then the killed node starts again and rejoins under the same load: when it serves, when the coordinator hands it buckets,
// and whether any session was dropped meanwhile. The lab is taken down by the caller whatever happens (LabCommand.Run's finally).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Cli;
using Pmip6Akka.Hosts.Config;

namespace Pmip6Akka.Hosts.Lab;

public sealed record FailoverOptions(int Sessions = FailoverScenario.DefaultSessions, int Lmas = 3)
{
    /// <summary>The issue's target: the real nodes' traffic flows again within this after the kill.</summary>
    public static readonly TimeSpan TrafficTarget = TimeSpan.FromSeconds(10);
}

/// <summary>A real mobile node's downlink across the kill.</summary>
/// <param name="Owner">The node whose bindings held it before the kill.</param>
/// <param name="BackMs">Since the kill, when its downlink arrived again after its longest silence; null if it never did.</param>
public sealed record FailoverStream(string Node, string Owner, bool OwnerKilled, double LongestSilenceMs, double? BackMs, StreamStatistics Udp);

/// <summary>The killed node restarted under the same load: when it served, when it ran buckets again, what the refreshes saw meanwhile.</summary>
public sealed record RejoinFigures(string Node, double? ServingMs, double? FirstBucketMs, int Buckets, long Refreshes, long Accepted, long Rejected,
    long Unanswered, string Statuses)
{
    public int BindingsAfter { get; init; }
    public int BindingsLost { get; init; }
    /// <summary>Bindings on no node's /status at the first look after the rejoin (their bucket was being handed off) that showed later.</summary>
    public int InTransitAtFirstLook { get; init; }
    public int PrefixesReassigned { get; init; }
    /// <summary>Each real node's longest downlink silence while the node rejoined.</summary>
    public IReadOnlyDictionary<string, double> LongestSilenceMs { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// No session dropped: no binding lost or given another prefix, and the node took a share. Refreshes rejected with 156 (a PBU that
    /// waited out the timestamp window while its bucket moved) are counted, not failed: a MAG retries them with the LMA's time.
    /// </summary>
    public bool Succeeded => Buckets > 0 && BindingsLost == 0 && PrefixesReassigned == 0;
}

public sealed record FailoverReport(
    FailoverOptions Options, string Victim, int VictimBuckets, int VictimBindings, int BindingsBefore, int BindingsAfter, int BindingsLost,
    int PrefixesReassigned, long RefreshPrefixChanges, double? EveryBindingBackMs, double? MedianBindingBackMs, int SessionsNeverBack,
    IReadOnlyList<FailoverStream> Streams, int BucketsAfter, int SharedAddressPathsAfter, string RegistrationText, string? Error)
{
    /// <summary>The killed node restarted and rejoined (after the failover was measured).</summary>
    public RejoinFigures? Rejoin { get; init; }

    /// <summary>The killed node was the oldest member, running sharding's coordinator (which had to move before shards could).</summary>
    public bool VictimRanCoordinator { get; init; }

    /// <summary>What happened after the kill, ms since it: failure detection, downing, re-homing, routing (observed or from the logs).</summary>
    public IReadOnlyList<(double Ms, string What)> Timeline { get; init; } = [];

    /// <summary>The real nodes the killed node anchored have their traffic back within the target.</summary>
    public bool TrafficTargetMet => Streams.Where(s => s.OwnerKilled).All(s => s.BackMs is { } back && back < FailoverOptions.TrafficTarget.TotalMilliseconds);

    public bool Succeeded => Error is null && BindingsLost == 0 && PrefixesReassigned == 0 && RefreshPrefixChanges == 0 && SessionsNeverBack == 0
                             && Streams.All(s => s.BackMs is not null) && Rejoin?.Succeeded != false;

    public JsonNode ToJson() => JsonSerializer.SerializeToNode(new
    {
        scenario = "failover",
        lmaNodes = Options.Lmas,
        sessions = Options.Sessions,
        registration = RegistrationText,
        victim = Victim,
        victimBuckets = VictimBuckets,
        victimBindings = VictimBindings,
        victimRanCoordinator = VictimRanCoordinator,
        everyBindingBackMs = Round(EveryBindingBackMs),
        medianBindingBackMs = Round(MedianBindingBackMs),
        sessionsNeverBack = SessionsNeverBack,
        bindingsBefore = BindingsBefore,
        bindingsAfter = BindingsAfter,
        bindingsLost = BindingsLost,
        prefixesReassigned = PrefixesReassigned,
        refreshPrefixChanges = RefreshPrefixChanges,
        bucketsAfter = BucketsAfter,
        sharedAddressPathsAfter = SharedAddressPathsAfter,
        streams = Streams.Select(s => new
        {
            node = s.Node,
            owner = s.Owner,
            ownerKilled = s.OwnerKilled,
            trafficBackMs = Round(s.BackMs),
            longestSilenceMs = Round(s.LongestSilenceMs),
            sent = s.Udp.Sent,
            received = s.Udp.Received,
            lost = s.Udp.Lost,
        }),
        timeline = Timeline.Select(t => new { ms = Math.Round(t.Ms, 1), what = t.What }),
        rejoin = Rejoin is not { } j ? null : new
        {
            node = j.Node,
            servingMs = Round(j.ServingMs),
            firstBucketMs = Round(j.FirstBucketMs),
            buckets = j.Buckets,
            refreshes = j.Refreshes,
            accepted = j.Accepted,
            rejected = j.Rejected,
            unanswered = j.Unanswered,
            bindingsAfter = j.BindingsAfter,
            bindingsLost = j.BindingsLost,
            bindingsInTransitAtFirstLook = j.InTransitAtFirstLook,
            prefixesReassigned = j.PrefixesReassigned,
            longestSilenceMs = j.LongestSilenceMs.ToDictionary(p => p.Key, p => Math.Round(p.Value, 1)),
            succeeded = j.Succeeded,
        },
        trafficTargetMs = FailoverOptions.TrafficTarget.TotalMilliseconds,
        trafficTargetMet = TrafficTargetMet,
        succeeded = Succeeded,
        error = Error,
    })!;

    private static double? Round(double? ms) => ms is { } v ? Math.Round(v, 1) : null;

    public void Print(TextWriter o)
    {
        static string S(double? ms) => ms is { } v ? (v / 1000).ToString("0.00 s", CultureInfo.InvariantCulture) : "never";
        o.WriteLine($"failover: {Options.Lmas} LMA nodes on PostgreSQL, {Options.Sessions} load-generator MNs + {Streams.Count} real MNs (1000 UDP packets/s each)");
        o.WriteLine($"  registration: {RegistrationText}");
        o.WriteLine($"  SIGKILL {Victim}: it ran {VictimBuckets} binding buckets with {VictimBindings} bindings" +
                    (VictimRanCoordinator ? " and sharding's coordinator (the oldest member: the coordinator moved too)" : ""));
        o.WriteLine($"  every binding answering again: {S(EveryBindingBackMs)} after the kill (median session {S(MedianBindingBackMs)}; {SessionsNeverBack} never)");
        foreach (var s in Streams)
            o.WriteLine(s.OwnerKilled
                ? $"  {s.Node} (anchored on {s.Owner}, killed): traffic back {S(s.BackMs)} after the kill, longest silence {s.LongestSilenceMs:F0} ms, " +
                  $"{s.Udp.Lost} of {s.Udp.Sent} packets lost"
                : $"  {s.Node} (anchored on {s.Owner}, a survivor): longest silence {s.LongestSilenceMs:F0} ms (ended {S(s.BackMs)} after the kill), " +
                  $"{s.Udp.Lost} of {s.Udp.Sent} packets lost");
        foreach (var (ms, what) in Timeline)
            o.WriteLine($"    {S(ms),9}  {what}");
        o.WriteLine($"  bindings: {BindingsBefore} before, {BindingsAfter} after, {BindingsLost} lost; prefixes reassigned: {PrefixesReassigned} " +
                    $"(status), {RefreshPrefixChanges} (refresh answers)");
        o.WriteLine($"  after: {BucketsAfter} buckets on the survivors, the core reaches the LMAA over {SharedAddressPathsAfter} nodes");
        if (Rejoin is { } j)
        {
            o.WriteLine($"  rejoin: {j.Node} restarted, serving after {S(j.ServingMs)}, first buckets after {S(j.FirstBucketMs)}, {j.Buckets} buckets after 5 s more");
            o.WriteLine($"    refreshes meanwhile: {j.Accepted} of {j.Refreshes} accepted, {j.Rejected} rejected, {j.Unanswered} unanswered within 1 s ({j.Statuses}); " +
                        $"bindings {j.BindingsAfter}, {j.BindingsLost} lost ({j.InTransitAtFirstLook} in a bucket being handed off at the first look), " +
                        $"{j.PrefixesReassigned} prefixes reassigned; longest silence " +
                        string.Join(", ", j.LongestSilenceMs.Select(p => $"{p.Key} {p.Value:F0} ms")));
        }
        o.WriteLine($"  target (traffic back in < {FailoverOptions.TrafficTarget.TotalSeconds:0} s): {(TrafficTargetMet ? "met" : "NOT met")}");
        if (Error is not null)
            o.WriteLine($"  error: {Error}");
        o.WriteLine(Succeeded ? "result: nothing lost, nothing reassigned" : "result: FAILED");
    }
}

public static class FailoverScenario
{
    public const int DefaultSessions = 1000;
    public const int Buckets = Pmip6Akka.Actors.Lma.BindingBuckets.Count;
    private static readonly TimeSpan Baseline = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Observation = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public static FailoverReport Run(string runDirectory, FailoverOptions options, TextWriter progress, CancellationToken cancel)
    {
        var plan = LabPlan.Create(2, 2, lmas: options.Lmas, store: LabPlan.Postgres);
        LabUp.Run(plan, runDirectory, TimeSpan.FromSeconds(120), progress, cancel, LabBuffering.Default with { Enabled = false });
        AwaitPlacement(plan, cancel);
        progress.WriteLine($"lab run: every bucket placed, the core routes all {Buckets} slices; registering {options.Sessions} MNs from {LabCluster.LoadNamespace}");

        var lma = Ipv6Address.Parse(LabCluster.SharedAddress);
        var mags = LabCluster.LoadMagAddresses.Select(Ipv6Address.Parse).ToArray();
        var signers = Signers(runDirectory, mags.Length);
        var sockets = NetnsRunner.Run(LabCluster.LoadNamespace, () => mags.Select(mag =>
            MobilityHeaderSocket.TryOpen(new MobilityHeaderSocketOptions { LocalAddress = mag, ReceiveTimeout = TimeSpan.FromMilliseconds(100) }, out var s, out var e)
                ? s : throw new LabFailure($"cannot open a Mobility Header socket on {mag} in {LabCluster.LoadNamespace}: {e.Message}")).ToArray());
        try
        {
            // Every session refreshed about once a second; one unanswered for a second is sent again (its owner may be dead).
            var settings = new SignalingBenchmark.BenchSettings(lma, options.Sessions, mags, Rate: options.Sessions, Duration: 0, Window: options.Sessions,
                AgainstSelf: false, LmaHttp: null, LossAfter: TimeSpan.FromSeconds(1));
            using var load = new SignalingBenchmark.LoadGenerator(settings, sockets,
                (mag, buffer, length) => FloodBenchmark.Sign(signers[mag], buffer, length, mags[mag], lma));
            load.StartReceivers();
            try
            {
                return Measure(runDirectory, plan, options, load, progress, cancel);
            }
            finally
            {
                load.StopReceivers();
            }
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    private static FailoverReport Measure(string runDirectory, LabPlan plan, FailoverOptions options, SignalingBenchmark.LoadGenerator load,
        TextWriter progress, CancellationToken cancel)
    {
        // Like a MAG, the load generator sends a refused or unanswered registration again (a fresh cluster's first PBUs can wait
        // out the timestamp window: 156); three rounds at most.
        var registration = load.RunPhase(refresh: false, cancel);
        var registrationText = $"{registration.Accepted} of {options.Sessions} accepted in {registration.Elapsed.TotalSeconds:F1} s " +
                               $"({registration.StatusText}; {registration.Lost} unanswered)";
        var registered = registration.Accepted;
        for (var round = 2; round <= 3 && registered < options.Sessions; round++)
        {
            var again = load.RunPhase(refresh: false, cancel);
            registered += again.Accepted;
            registrationText += $", round {round}: {again.Accepted} of {again.Sent} ({again.StatusText})";
        }
        if (registered < options.Sessions)
            throw new LabFailure($"the load generator registered only {registered} of {options.Sessions}: {registrationText}");
        progress.WriteLine($"lab run: {registrationText}; starting the real nodes' downlink");

        var origin = Stopwatch.GetTimestamp();
        var streams = plan.MobileNodeList.Select(mn => (Mn: mn, Udp: new UdpStream(LabPlan.CnNamespace, mn.Namespace,
            IPAddress.Parse(NodeAddresses.InPool(mn.Namespace)[0]), 1000, origin))).ToList();
        using var stopRefresh = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        SignalingBenchmark.PhaseResult? refreshed = null;
        var refresher = new Thread(() => refreshed = load.RunPhase(refresh: true, stopRefresh.Token, Observation + Baseline + Settle))
            { IsBackground = true, Name = "failover-refresh" };
        try
        {
            foreach (var s in streams)
                s.Udp.Start();
            refresher.Start();
            Sleep(Baseline, cancel);

            var before = SteadyBindings([.. LabCluster.Nodes(plan)], plan.MobileNodeList.Select(mn => mn.MnId), cancel);
            var owners = plan.MobileNodeList.ToDictionary(mn => mn.MnId, mn => before.FirstOrDefault(b => b.Value.ContainsKey(mn.MnId)).Key);
            if (owners.FirstOrDefault(o => o.Value == 0) is { Key: { } unowned })
                throw new LabFailure($"no LMA node holds {unowned} before the kill");
            // The anchor of a real node; the one that also runs sharding's coordinator when there is one (the worst case: the
            // coordinator has to move before the shards can), else mn1's.
            bool RunsCoordinator(int node) => Status(node, 0)?.GetProperty("cluster") is { } c && c.TryGetProperty("coordinator", out var v) && v.GetBoolean();
            var coordinatorAnchor = owners.Values.Distinct().FirstOrDefault(RunsCoordinator);
            var victim = coordinatorAnchor != 0 ? coordinatorAnchor : owners[plan.MobileNodeList[0].MnId];
            var victimRanCoordinator = coordinatorAnchor != 0;
            var victimBuckets = Status(victim, 0)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0;
            var survivors = LabCluster.Nodes(plan).Where(n => n != victim).ToArray();
            var pid = LabState.ReadPid(runDirectory, LabCluster.LmaName(victim)) ?? throw new LabFailure($"no pid file for {LabCluster.LmaName(victim)}");
            progress.WriteLine($"lab run: SIGKILL {LabCluster.LmaName(victim)} (pid {pid}, {before[victim].Count} bindings, {victimBuckets} buckets)");

            var killed = Stopwatch.GetTimestamp();
            load.Mark(killed);
            LabDaemons.Kill(pid);
            var killMs = Ms(origin, killed);

            // Until every session was answered again and each real node receives what the CN sends now; meanwhile when the core
            // lost the dead node's paths, when its buckets ran on the survivors, when the core routed every slice again.
            var killedUtc = DateTimeOffset.UtcNow;
            var timeline = new SortedDictionary<double, string>();
            void Mark(string what) => timeline.TryAdd(Stopwatch.GetElapsedTime(killed).TotalMilliseconds, what);
            bool pathsGone = false, bucketsBack = false, routesBack = false, routesDropped = false;
            var deadline = killed + (long)(Observation.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                cancel.ThrowIfCancellationRequested();
                if (!pathsGone && LabCluster.SharedAddressPaths() < plan.Lmas)
                    { pathsGone = true; Mark("the core's route to the LMAA lost the dead node (BFD/BGP)"); }
                var routes = LabCluster.SliceRoutesAtCore();
                routesDropped |= routes < Buckets;
                if (routesDropped && !routesBack && routes >= Buckets)
                    { routesBack = true; Mark("the core routes every prefix slice again"); }
                if (!bucketsBack && survivors.Sum(n => Status(n, 0)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0) == Buckets)
                    { bucketsBack = true; Mark("every binding bucket runs on a survivor"); }
                var sessionsBack = Enumerable.Range(0, options.Sessions).All(i => load.AcceptedSinceMark(i) != 0);
                var now = Ms(origin, Stopwatch.GetTimestamp());
                var flowing = streams.All(s => s.Udp.LastArrivalMs is { } last && last > killMs && now - last < 100);
                if (sessionsBack && flowing)
                    break;
                Thread.Sleep(100);
            }
            Sleep(Settle, cancel);
            foreach (var (ms, what) in ClusterLogTimeline(runDirectory, survivors, killedUtc))
                timeline.TryAdd(ms, what);
            stopRefresh.Cancel();
            refresher.Join();
            var failoverEnd = Ms(origin, Stopwatch.GetTimestamp());

            // What the failover cost, before the killed node comes back.
            var backs = Enumerable.Range(0, options.Sessions).Select(load.AcceptedSinceMark).Where(t => t != 0)
                .Select(t => Stopwatch.GetElapsedTime(killed, t).TotalMilliseconds).Order().ToList();
            var beforeUnion = before.Values.SelectMany(b => b).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value);
            var (after, lost, reassigned, _) = SettledBindings(beforeUnion, survivors, cancel);
            var report = new FailoverReport(options, LabCluster.LmaName(victim), victimBuckets, before[victim].Count, beforeUnion.Count, after, lost,
                reassigned, load.PrefixChanges, backs.Count == options.Sessions ? backs[^1] : null, backs.Count > 0 ? backs[backs.Count / 2] : null,
                options.Sessions - backs.Count,
                [.. streams.Select(s => Stream(s.Mn, s.Udp, owners[s.Mn.MnId], victim, killMs, failoverEnd))],
                survivors.Sum(n => Status(n, 0)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0), LabCluster.SharedAddressPaths(),
                registrationText, null)
            {
                Timeline = [.. timeline.Select(t => (t.Key, t.Value))],
                VictimRanCoordinator = victimRanCoordinator,
            };

            progress.WriteLine($"lab run: failover measured; restarting {LabCluster.LmaName(victim)} to rejoin the cluster under the same load");
            var rejoin = Rejoin(runDirectory, plan, victim, load, progress, cancel);
            var end = streams.Max(s => s.Udp.Stop(TimeSpan.FromMilliseconds(500)));
            var (rejoinAfter, rejoinLost, rejoinReassigned, inTransit) = SettledBindings(beforeUnion, [.. LabCluster.Nodes(plan)], cancel);
            return report with
            {
                Rejoin = rejoin with
                {
                    InTransitAtFirstLook = inTransit,
                    BindingsAfter = rejoinAfter,
                    BindingsLost = rejoinLost,
                    PrefixesReassigned = rejoinReassigned,
                    LongestSilenceMs = streams.ToDictionary(s => s.Mn.Name,
                        s => ArrivalStatistics.Compute(s.Udp.SendTimes, s.Udp.Arrivals, failoverEnd, end).LargestGapMs),
                },
            };
        }
        finally
        {
            stopRefresh.Cancel();
            if (refresher.IsAlive)
                refresher.Join();
            foreach (var s in streams)
                s.Udp.Dispose();
        }
    }

    /// <summary>
    /// Bindings against before once the buckets stand still: while the coordinator rebalances, a bucket handed off is stopped on one
    /// node and not yet started on the other, so its bindings show on no node's /status for a moment — or, the nodes being read one
    /// after another, on two. Read again (at most 30 s) until every bucket runs somewhere, nothing is missing and nothing shows
    /// twice; a binding really lost stays missing and is counted. Also how many were missing at the first look and showed later.
    /// </summary>
    private static (int Count, int Lost, int Reassigned, int InTransit) SettledBindings(Dictionary<string, string> before, int[] nodes,
        CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        HashSet<string>? missingFirst = null;
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var placed = nodes.Sum(n => Status(n, 0)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0);
            var now = Bindings(nodes);
            var shown = now.Values.SelectMany(b => b.Keys).GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
            missingFirst ??= [.. before.Keys.Where(k => !shown.ContainsKey(k))];
            var (count, lost, reassigned) = Compare(before, now);
            if ((placed == Buckets && lost == 0 && shown.Values.All(c => c == 1)) || clock.Elapsed > TimeSpan.FromSeconds(30))
                return (count, lost, reassigned, missingFirst.Count(shown.ContainsKey));
            Thread.Sleep(500);
        }
    }

    /// <summary>Node → bindings, read again (at most 10 s) until each of <paramref name="required"/> shows and no binding shows on two nodes.</summary>
    private static Dictionary<int, Dictionary<string, string>> SteadyBindings(int[] nodes, IEnumerable<string> required, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var now = Bindings(nodes);
            var shown = now.Values.SelectMany(b => b.Keys).GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
            if ((required.All(shown.ContainsKey) && shown.Values.All(c => c == 1)) || clock.Elapsed > TimeSpan.FromSeconds(10))
                return now;
            Thread.Sleep(250);
        }
    }

    /// <summary>Bindings now (MN-ID → prefixes, over the nodes asked) against before: how many, how many lost, how many with other prefixes.</summary>
    private static (int Count, int Lost, int Reassigned) Compare(Dictionary<string, string> before, Dictionary<int, Dictionary<string, string>> now)
    {
        var union = now.Values.SelectMany(b => b).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Select(p => p.Value).ToList());
        return (union.Count, before.Keys.Count(mn => !union.ContainsKey(mn)),
            before.Count(p => union.TryGetValue(p.Key, out var prefixes) && (prefixes.Count != 1 || prefixes[0] != p.Value)));
    }

    /// <summary>
    /// The killed node starts again with its configuration and joins; the coordinator hands it shards (every 10 s a few) while
    /// the load keeps refreshing every binding. Measured until it has run buckets for 5 s (at most 90 s).
    /// </summary>
    private static RejoinFigures Rejoin(string runDirectory, LabPlan plan, int node, SignalingBenchmark.LoadGenerator load, TextWriter progress,
        CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        SignalingBenchmark.PhaseResult? refreshed = null;
        var refresher = new Thread(() => refreshed = load.RunPhase(refresh: true, stop.Token, TimeSpan.FromMinutes(3))) { IsBackground = true, Name = "rejoin-refresh" };
        var (name, ns) = (LabCluster.LmaName(node), LabCluster.LmaNamespace(node));
        double? serving = null, firstBucket = null;
        var buckets = 0;
        refresher.Start();
        var started = Stopwatch.GetTimestamp();
        double Since() => Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            var pid = LabDaemons.Start(runDirectory, name, ns, "lma", Path.Combine(runDirectory, LabCluster.LmaFile(node)));
            LabDaemons.AwaitReady(runDirectory, name, ns, LabPlan.LmaHttpPort, pid, TimeSpan.FromSeconds(120), cancel);
            serving = Since();
            while (Since() < 90_000 && (firstBucket is not { } first || Since() - first < 5_000))
            {
                cancel.ThrowIfCancellationRequested();
                buckets = Status(node, 0)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0;
                if (buckets > 0 && firstBucket is null)
                {
                    firstBucket = Since();
                    progress.WriteLine($"lab run: {name} runs its first buckets {firstBucket / 1000:F1} s after its restart");
                }
                Thread.Sleep(250);
            }
        }
        finally
        {
            stop.Cancel();
            refresher.Join();
        }
        var r = refreshed!;
        return new RejoinFigures(name, serving, firstBucket, buckets, r.Sent, r.Accepted, r.Rejected, r.Lost, r.StatusText);
    }

    private static FailoverStream Stream(MobileNodePlan mn, UdpStream udp, int owner, int victim, double killMs, double endMs)
    {
        var stats = ArrivalStatistics.Compute(udp.SendTimes, udp.Arrivals, killMs, endMs);
        // The longest silence from the kill on; traffic is back where it ends (arrivals after it), relative to the kill.
        double? back = stats.GapStartMs is { } start && start + stats.LargestGapMs < endMs ? Math.Max(0, start + stats.LargestGapMs - killMs) : null;
        return new FailoverStream(mn.Name, owner == 0 ? "?" : LabCluster.LmaName(owner), owner == victim, stats.LargestGapMs, back, stats);
    }

    /// <summary>Waits until the buckets run somewhere and the core has a route for every slice (BGP converged).</summary>
    private static void AwaitPlacement(LabPlan plan, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var placed = LabCluster.Nodes(plan).Sum(n => Status(n)?.GetProperty("cluster").GetProperty("buckets").GetInt32() ?? 0);
            var routed = LabCluster.SliceRoutesAtCore();
            if (placed == Buckets && routed >= Buckets)
                return;
            if (clock.Elapsed > TimeSpan.FromSeconds(90))
                throw new LabFailure($"after 90 s {placed} of {Buckets} binding buckets run on a node and the core routes {routed} slices");
            Thread.Sleep(250);
        }
    }

    private static JsonElement? Status(int node, int limit = 100_000) =>
        DaemonHttp.TryGetJson(LabCluster.LmaNamespace(node), LabPlan.LmaHttpPort, $"/status?limit={limit}");

    /// <summary>What the survivors' cluster logs say after the kill, first occurrence each: unreachable, the resolver's decision, removal.</summary>
    private static IEnumerable<(double Ms, string What)> ClusterLogTimeline(string runDirectory, IEnumerable<int> survivors, DateTimeOffset killedUtc)
    {
        var markers = new (string Text, string What)[]
        {
            ("as UNREACHABLE", "a survivor marked the dead node unreachable (failure detector)"),
            ("SBR took decision", "the split-brain resolver downed it"),
            ("Leader is removing", "the leader removed it from the cluster"),
        };
        foreach (var (text, what) in markers)
        {
            var first = survivors.SelectMany(n => LogTimes(LabState.LogFile(runDirectory, LabCluster.LmaName(n)), text))
                .Where(t => t >= killedUtc).Order().FirstOrDefault();
            if (first != default)
                yield return ((first - killedUtc).TotalMilliseconds, what);
        }
    }

    /// <summary>The UTC times of an Akka log's lines containing <paramref name="text"/> ("[LEVEL][MM/dd/yyyy HH:mm:ss.fffZ]...").</summary>
    private static IEnumerable<DateTimeOffset> LogTimes(string log, string text)
    {
        if (!File.Exists(log))
            yield break;
        foreach (var line in File.ReadLines(log))
        {
            if (!line.Contains(text, StringComparison.Ordinal))
                continue;
            var open = line.IndexOf("][", StringComparison.Ordinal);
            var close = open < 0 ? -1 : line.IndexOf(']', open + 2);
            if (close > open && DateTimeOffset.TryParseExact(line[(open + 2)..close], "MM/dd/yyyy HH:mm:ss.fffK", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                yield return at;
        }
    }

    /// <summary>Node → (MN-ID → its prefixes, joined) as each node's /status shows its bindings.</summary>
    private static Dictionary<int, Dictionary<string, string>> Bindings(IEnumerable<int> nodes) => nodes.ToDictionary(n => n, n =>
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Status(n) is { } s && s.TryGetProperty("bindings", out var bindings))
            foreach (var b in bindings.EnumerateArray())
                result[b.GetProperty("mnId").GetString()!] = string.Join(' ', b.GetProperty("hnps").EnumerateArray().Select(p => p.GetString()).Order());
        return result;
    });

    /// <summary>One authenticator per load MAG from keys-load.conf (SPIs in the order of the MAGs).</summary>
    private static SignallingAuthenticator[] Signers(string runDirectory, int mags)
    {
        var keys = KeysFile.Read(Path.Combine(runDirectory, LabConfigs.LoadKeysFile)).Keys.OrderBy(k => k.Spi).ToArray();
        if (keys.Length != mags)
            throw new LabFailure($"{LabConfigs.LoadKeysFile} holds {keys.Length} keys for {mags} load MAGs");
        return [.. keys.Select(k => new SignallingAuthenticator(new KeyRing([k]), AuthenticationSettings.Default))];
    }

    private static double Ms(long origin, long timestamp) => Stopwatch.GetElapsedTime(origin, timestamp).TotalMilliseconds;

    private static void Sleep(TimeSpan span, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(span))
            cancel.ThrowIfCancellationRequested();
    }
}
