// `pmip6 lab run --scenario reflector`: the same moves three ways — standard (no buffering), buffering
// (issue 6) and Context Reflector (issue 7) — each in a fresh 2-MAG, 1-MN lab whose MAGs take
// `aaa-delay` (200 ms) to authorise a node without a reflected context. A UDP stream each way (CN→MN
// and MN→CN, 1000 packets/s) is counted at its receiver; per handover the report gives the interruption
// the MN saw, the packets lost each way, and the time from the layer-2 attach to the first uplink
// packet delivered to the CN. In the reflector run the serving MAG gets a handover hint before each
// move (`POST /hint`, what `./pmip6 hint` does).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Pmip6Akka.Hosts.Lab;

public enum ReflectorMode { Standard, Buffering, Reflector }

/// <summary>One handover of one mode, as the receivers saw it (times in ms).</summary>
public sealed record ReflectorMove(int Number, string From, string To, double DetachToRegistrationMs, StreamStatistics Downlink,
    StreamStatistics Uplink, double? AttachToFirstUplinkMs)
{
    /// <summary>Detach, layer-2 attach and registration at the new MAG, ms since the run's start (for the plot).</summary>
    public (double Detach, double Attach, double Registered) Times { get; init; }
}

/// <summary>One mode's run; the arrivals each way are kept for the plot.</summary>
public sealed record ReflectorRun(ReflectorMode Mode, IReadOnlyList<ReflectorMove> Moves, string? Error)
{
    public IReadOnlyList<Arrival> DownlinkArrivals { get; init; } = [];
    public IReadOnlyList<Arrival> UplinkArrivals { get; init; } = [];
}

public sealed record ReflectorReport(HandoverOptions Options, TimeSpan AaaDelay, IReadOnlyList<ReflectorRun> Runs)
{
    public bool Succeeded => Runs.All(r => r.Error is null && r.Moves.Count == Options.Moves);

    public void Print(TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reflector scenario: {Options.Moves} moves, layer-2 gap {Options.Gap.TotalMilliseconds:F0} ms, UDP {Options.PacketsPerSecond}/s each way, MAG aaa-delay {AaaDelay.TotalMilliseconds:F0} ms"));
        output.WriteLine($"{"move",-12} {"mode",-10} {"DL gap ms",10} {"DL lost",8} {"UL lost",8} {"attach->1st UL ms",18} {"detach->reg ms",15}");
        var count = Runs.Max(r => r.Moves.Count);
        for (var i = 0; i < count; i++)
            foreach (var run in Runs)
            {
                if (i >= run.Moves.Count)
                    continue;
                var m = run.Moves[i];
                var label = $"{m.Number} {m.From}->{m.To}";
                var firstUplink = m.AttachToFirstUplinkMs?.ToString("F1", CultureInfo.InvariantCulture) ?? "-";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{label,-12} {Name(run.Mode),-10} {m.Downlink.LargestGapMs,10:F1} {m.Downlink.Lost,8} {m.Uplink.Lost,8} {firstUplink,18} {m.DetachToRegistrationMs,15:F1}"));
            }
        foreach (var run in Runs)
        {
            var attach = run.Moves.Where(m => m.AttachToFirstUplinkMs is not null).Select(m => m.AttachToFirstUplinkMs!.Value).Order().ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Name(run.Mode),-10} total: DL lost {run.Moves.Sum(m => m.Downlink.Lost)}, UL lost {run.Moves.Sum(m => m.Uplink.Lost)}, " +
                $"median DL gap {Median(run.Moves.Select(m => m.Downlink.LargestGapMs)):F1} ms, median attach->1st UL {Median(attach):F1} ms")
                + (run.Error is null ? "" : $"; FAILED: {run.Error}"));
        }
    }

    public JsonObject ToJson() => new()
    {
        ["scenario"] = "reflector",
        ["moves"] = Options.Moves,
        ["gapMs"] = Options.Gap.TotalMilliseconds,
        ["packetsPerSecond"] = Options.PacketsPerSecond,
        ["aaaDelayMs"] = AaaDelay.TotalMilliseconds,
        ["succeeded"] = Succeeded,
        ["runs"] = new JsonArray([.. Runs.Select(r => (JsonNode)new JsonObject
        {
            ["mode"] = Name(r.Mode),
            ["error"] = r.Error,
            ["handovers"] = new JsonArray([.. r.Moves.Select(m => (JsonNode)new JsonObject
            {
                ["number"] = m.Number, ["from"] = m.From, ["to"] = m.To,
                ["detachToRegistrationMs"] = Math.Round(m.DetachToRegistrationMs, 3),
                ["downlinkInterruptionMs"] = Math.Round(m.Downlink.LargestGapMs, 3),
                ["downlinkLost"] = m.Downlink.Lost, ["downlinkDuplicated"] = m.Downlink.Duplicated, ["downlinkReordered"] = m.Downlink.Reordered,
                ["uplinkInterruptionMs"] = Math.Round(m.Uplink.LargestGapMs, 3),
                ["uplinkLost"] = m.Uplink.Lost,
                ["attachToFirstUplinkMs"] = m.AttachToFirstUplinkMs is { } a ? Math.Round(a, 3) : null,
            })]),
        })]),
    };

    public static string Name(ReflectorMode mode) => mode.ToString().ToLowerInvariant();

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

public static class ReflectorScenario
{
    public static readonly TimeSpan AaaDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Drain = TimeSpan.FromMilliseconds(500);

    public static ReflectorReport Run(string runDirectory, HandoverOptions options, TextWriter progress, CancellationToken cancel)
    {
        var runs = new List<ReflectorRun>();
        foreach (var mode in new[] { ReflectorMode.Standard, ReflectorMode.Buffering, ReflectorMode.Reflector })
        {
            progress.WriteLine($"lab run: reflector scenario, {ReflectorReport.Name(mode)} run");
            try
            {
                runs.Add(RunOnce(runDirectory, mode, options, progress, cancel));
            }
            finally
            {
                LabTeardown.Down(runDirectory);
            }
        }
        return new ReflectorReport(options, AaaDelay, runs);
    }

    private static ReflectorRun RunOnce(string runDirectory, ReflectorMode mode, HandoverOptions options, TextWriter progress, CancellationToken cancel)
    {
        var features = new LabBuffering(Enabled: mode != ReflectorMode.Standard) { Reflector = mode == ReflectorMode.Reflector, AaaDelay = AaaDelay };
        var plan = LabPlan.Create(2, 1);
        LabUp.Run(plan, runDirectory, TimeSpan.FromSeconds(60), progress, cancel, features);
        var mn = LabPlan.MobileNode(1);
        var address = NodeAddresses.InPool(mn.Namespace)[0];
        var origin = Stopwatch.GetTimestamp();
        using var downlink = new UdpStream(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(address), options.PacketsPerSecond, origin);
        using var uplink = new UdpStream(mn.Namespace, LabPlan.CnNamespace, IPAddress.Parse(LabPlan.CnAddress), options.PacketsPerSecond, origin);
        downlink.Start();
        uplink.Start();
        var moves = new List<(MoveResult Move, double DetachMs, double AttachMs)>();
        string? error = null;
        try
        {
            Sleep(Warmup, cancel);
            for (var i = 1; i <= options.Moves; i++)
            {
                var (from, target) = i % 2 == 1 ? (LabPlan.Mag(1), LabPlan.Mag(2)) : (LabPlan.Mag(2), LabPlan.Mag(1));
                if (mode == ReflectorMode.Reflector)
                {
                    var (status, body) = DaemonHttp.Post(from.Namespace, from.HttpPort,
                        $"/hint?mn-id={Uri.EscapeDataString(mn.MnId)}&next-mag={Uri.EscapeDataString(target.Address)}", cancel);
                    if (status != 202)
                        throw new LabFailure($"{from.Name} refused the handover hint ({status}): {body}");
                }
                var moved = LabMove.Run(runDirectory, mn.Name, target.Name, options.Gap, cancel);
                moves.Add((moved, Ms(origin, moved.DetachTimestamp), Ms(origin, moved.AttachTimestamp)));
                Sleep(options.Interval, cancel);
            }
        }
        catch (LabFailure e)
        {
            error = e.Message;
        }
        var end = downlink.Stop(Drain);
        var uplinkEnd = uplink.Stop(Drain);
        var down = (Sent: downlink.SendTimes, Arrivals: downlink.Arrivals);
        var up = (Sent: uplink.SendTimes, Arrivals: uplink.Arrivals);
        var measured = new List<ReflectorMove>();
        for (var i = 0; i < moves.Count; i++)
        {
            var (move, detach, attach) = moves[i];
            var from = detach - HandoverReport.WindowLeadMs;
            var to = i + 1 < moves.Count ? moves[i + 1].DetachMs - HandoverReport.WindowLeadMs : end;
            var firstUplink = up.Arrivals.Where(a => a.TimeMs >= attach).Select(a => (double?)a.TimeMs).FirstOrDefault();
            measured.Add(new ReflectorMove(i + 1, move.From, move.To, move.DetachToRegistration.TotalMilliseconds,
                ArrivalStatistics.Compute(down.Sent, down.Arrivals, from, to),
                ArrivalStatistics.Compute(up.Sent, up.Arrivals, from, Math.Min(to, uplinkEnd)),
                firstUplink - attach) { Times = (detach, attach, Ms(origin, move.RegisteredTimestamp)) });
        }
        return new ReflectorRun(mode, measured, error) { DownlinkArrivals = down.Arrivals, UplinkArrivals = up.Arrivals };
    }

    private static double Ms(long origin, long timestamp) => Stopwatch.GetElapsedTime(origin, timestamp).TotalMilliseconds;

    private static void Sleep(TimeSpan span, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(span))
            cancel.ThrowIfCancellationRequested();
    }
}
