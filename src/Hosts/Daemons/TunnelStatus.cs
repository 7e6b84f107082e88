// The userspace tunnel as /status and /metrics show it: every tunnel endpoint with its traffic, the
// number of prefixes steered, and every drop by reason.
using Pmip6Akka.Dataplane.Linux;

namespace Pmip6Akka.Hosts.Daemons;

public static class TunnelStatus
{
    public static object? Of(UserspaceTunnel? tunnel) => tunnel is null ? null : new
    {
        device = tunnel.DeviceName,
        role = tunnel.Forwarder.Role.ToString().ToLowerInvariant(),
        prefixes = tunnel.Forwarder.Table.RouteCount,
        endpoints = tunnel.Forwarder.Table.Endpoints.OrderBy(e => e.Remote).Select(e => new
        {
            remote = e.Remote.ToString(),
            packetsOut = e.PacketsOut,
            bytesOut = e.BytesOut,
            packetsIn = e.PacketsIn,
            bytesIn = e.BytesIn,
        }).ToArray(),
        counters = tunnel.Forwarder.Counters.All().Select(c => new { name = c.Name, reason = c.Reason, count = c.Value })
            .Append(new { name = "tunnel_parked_total", reason = "", count = tunnel.ParkedTotal })
            .Append(new { name = "tunnel_parked_released_total", reason = "", count = tunnel.ReplayedTotal })
            .Append(new { name = "tunnel_parked_expired_total", reason = "", count = tunnel.ParkExpired }).ToArray(),
    };

    public static IEnumerable<(string Name, string Help, double Value)> Gauges(UserspaceTunnel? tunnel)
    {
        if (tunnel is null)
            yield break;
        yield return ("tunnel_prefixes", "home network prefixes steered through the userspace tunnel", tunnel.Forwarder.Table.RouteCount);
        yield return ("tunnel_endpoints", "tunnel endpoints (peers) kept", tunnel.Forwarder.Table.Endpoints.Count);
        yield return ("tunnel_parked_total", "downlink held at a MAG until its route was installed", tunnel.ParkedTotal);
        yield return ("tunnel_parked_released_total", "parked downlink released once the route came", tunnel.ReplayedTotal);
        yield return ("tunnel_parked_expired_total", "parked downlink dropped after 300 ms without a route", tunnel.ParkExpired);
        foreach (var (name, reason, value) in tunnel.Forwarder.Counters.All())
            yield return (reason.Length == 0 ? name : $"{name.Replace("_total", "")}_{reason.Replace('-', '_')}_total", "userspace tunnel counter", value);
        if (tunnel.Forwarder.Flows is not { } flows)
            yield break;
        yield return ("flow_table_flows", "downlink flows tracked (flow mobility)", flows.Count);
        yield return ("flow_table_routes", "flow routes (moved flows) set in the flow table", flows.PinCount);
        foreach (var (name, value) in flows.Counters.All())
            yield return (name, "downlink flow table counter", value);
    }
}

/// <summary>The LMA's handover buffer as /status and /metrics show it.</summary>
public static class BufferingStatus
{
    public static object? Of(HandoverBuffering? buffering) => buffering is null ? null : new
    {
        queue = buffering.QueueNumber,
        nodesBuffering = buffering.Buffer.NodesBuffering,
        packetsHeld = buffering.Buffer.PacketsHeld,
        heldTotal = buffering.Buffer.HeldTotal,
        releasedTotal = buffering.Buffer.ReleasedTotal,
        passedTotal = buffering.Buffer.PassedTotal,
        dropped = Enum.GetValues<Pmip6Akka.Dataplane.Forwarding.BufferDropReason>()
            .Select(r => new { reason = Pmip6Akka.Dataplane.Forwarding.HandoverBuffer.ReasonName(r), count = buffering.Buffer.Dropped(r) }).ToArray(),
        verdictErrors = buffering.VerdictErrors,
        ruleErrors = buffering.RuleErrors,
        pendingRuleChanges = buffering.PendingRuleWork,
        skippedForRuleBacklog = buffering.SkippedForRuleBacklog,
        ruleRounds = buffering.RuleRounds,
        ruleRoundFallbacks = buffering.RuleRoundFallbacks,
        receiveOverruns = buffering.ReceiveOverruns,
        returnedParked = buffering.ParkedTotal,
        returnedParkedDropped = buffering.ParkedDropped,
        // Newest first.
        episodes = buffering.Buffer.RecentEpisodes().Select(e => new
        {
            mnId = e.MobileNodeId,
            startedAt = e.StartedAt.ToString("O"),
            heldMs = Math.Round(e.Held.TotalMilliseconds, 3),
            packets = e.Packets,
            peak = e.Peak,
            peakBytes = e.PeakBytes,
            released = e.Released,
            dropped = e.Dropped,
            flushMs = Math.Round(e.FlushDuration.TotalMilliseconds, 3),
            maxAddedDelayMs = Math.Round(e.MaxAddedDelay.TotalMilliseconds, 3),
            meanAddedDelayMs = Math.Round(e.MeanAddedDelay.TotalMilliseconds, 3),
            outcome = e.Outcome,
        }).ToArray(),
    };

    public static IEnumerable<(string Name, string Help, double Value)> Gauges(HandoverBuffering? buffering)
    {
        if (buffering is null)
            yield break;
        yield return ("buffer_nodes", "mobile nodes whose downlink is being held", buffering.Buffer.NodesBuffering);
        yield return ("buffer_packets", "packets held in the handover queue", buffering.Buffer.PacketsHeld);
        yield return ("buffer_held_total", "packets ever held for a handover", buffering.Buffer.HeldTotal);
        yield return ("buffer_released_total", "held packets released after a handover", buffering.Buffer.ReleasedTotal);
        foreach (var reason in Enum.GetValues<Pmip6Akka.Dataplane.Forwarding.BufferDropReason>())
            yield return ($"buffer_dropped_{Pmip6Akka.Dataplane.Forwarding.HandoverBuffer.ReasonName(reason).Replace('-', '_')}_total", "held packets dropped", buffering.Buffer.Dropped(reason));
        yield return ("buffer_rule_errors_total", "ip6tables rule changes that failed", buffering.RuleErrors);
        yield return ("buffer_rule_changes_pending", "ip6tables rule changes waiting for the rules thread", buffering.PendingRuleWork);
        yield return ("buffer_skipped_rule_backlog_total", "nodes whose downlink was not held: too many rule changes waiting", buffering.SkippedForRuleBacklog);
        yield return ("buffer_rule_rounds_total", "rounds of buffering rule changes (one ip6tables-restore run each)", buffering.RuleRounds);
        yield return ("buffer_rule_round_fallbacks_total", "rounds whose ip6tables-restore run failed and were made change by change", buffering.RuleRoundFallbacks);
        yield return ("buffer_returned_parked_total", "packets a MAG returned, parked until the node's buffering started", buffering.ParkedTotal);
        yield return ("buffer_returned_parked_dropped_total", "returned packets dropped: parked too long (500 ms) or too many", buffering.ParkedDropped);
        yield return ("buffer_receive_overruns_total", "NFQUEUE receive overruns (ENOBUFS: the kernel dropped queue messages for us)", buffering.ReceiveOverruns);
    }
}
