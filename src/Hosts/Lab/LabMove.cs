// `pmip6 lab move mnK magN`: the layer-2 handover of a mobile node. Its access veth's MAG end leaves
// the old MAG's namespace (the old MAG sees the link go: detach), the node waits out the gap, the
// end comes up at the new MAG (attach), and the move is done when the new MAG's Binding Update List
// shows the node registered (polled every few ms). The measured time runs from the detach to that
// moment, gap included.
using System.Diagnostics;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public sealed record MoveResult(string MobileNode, string From, string To, TimeSpan Gap, TimeSpan DetachToRegistration,
    long DetachTimestamp, long RegisteredTimestamp)
{
    /// <summary>When the link came up at the new MAG (the layer-2 attach).</summary>
    public long AttachTimestamp { get; init; }
}

public static class LabMove
{
    public static readonly TimeSpan RegistrationTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    public static MoveResult Run(string runDirectory, string mobileNode, string targetMag, TimeSpan gap, CancellationToken cancel)
    {
        var state = LabState.Load(runDirectory);
        var k = LabPlan.ParseMobileNode(mobileNode);
        if (k is null || k > state.MobileNodes)
            throw new LabFailure($"no mobile node {mobileNode} in this lab (mn1..mn{state.MobileNodes})");
        var n = LabPlan.ParseMag(targetMag);
        if (n is null || n > state.Mags)
            throw new LabFailure($"no MAG {targetMag} in this lab (mag1..mag{state.Mags})");
        var mn = LabPlan.MobileNode(k.Value);
        var to = LabPlan.Mag(n.Value);
        var from = state.Placement[mn.Name];
        if (from == to.Name)
            throw new LabFailure($"{mn.Name} is already on {to.Name}");
        var fromNs = LabPlan.MagNamespace(LabPlan.ParseMag(from)!.Value);

        // A registration left at the target from an earlier visit must first be seen to go.
        var stale = IsRegistered(to, mn.MnId, cancel);
        var detach = Stopwatch.GetTimestamp();
        Tool.Ip("-n", fromNs, "link", "set", mn.MagSideDevice, "netns", to.Namespace);
        state.Placement[mn.Name] = to.Name;
        state.Save(runDirectory);
        var upAt = detach + (long)(gap.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < upAt)
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(0, (upAt - Stopwatch.GetTimestamp()) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
        Tool.Ip("-n", to.Namespace, "link", "set", mn.MagSideDevice, "up");
        var attach = Stopwatch.GetTimestamp();

        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var registered = IsRegistered(to, mn.MnId, cancel);
            var now = Stopwatch.GetTimestamp();
            if (registered && !stale)
                return new MoveResult(mn.Name, from, to.Name, gap, Stopwatch.GetElapsedTime(detach, now), detach, now) { AttachTimestamp = attach };
            stale &= registered;
            if (Stopwatch.GetElapsedTime(detach, now) > RegistrationTimeout)
                throw new LabFailure($"{to.Name} did not register {mn.Name} within {RegistrationTimeout.TotalSeconds:F0} s of the move " +
                                     $"(see {LabState.LogFile(runDirectory, to.Name)})");
            Thread.Sleep(PollInterval);
        }
    }

    public static bool IsRegistered(MagPlan mag, string mnId, CancellationToken cancel)
    {
        if (DaemonHttp.TryGetJson(mag.Namespace, mag.HttpPort, "/status", cancel) is not { } status
            || !status.TryGetProperty("bindingUpdateList", out var list) || list.ValueKind != JsonValueKind.Array)
            return false;
        return list.EnumerateArray().Any(e => e.TryGetProperty("mnId", out var id) && id.GetString() == mnId
                                              && e.TryGetProperty("state", out var s) && s.GetString() is "registered" or "refreshing");
    }
}
