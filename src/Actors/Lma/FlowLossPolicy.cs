// Move on loss (issue 8), the decision only: given the flow table's rows, each LMA–MAG tunnel's loss
// (TunnelLossEstimator.Loss, 0..1) and a threshold, which flow moves where. The most lossy tunnel at or
// above the threshold gives up its highest-rate flow that can go elsewhere: to another MAG of the same
// mobile node whose tunnel is below the threshold (the least lossy; a tunnel without a figure counts as
// loss-free — the estimator gives no verdict on thin traffic). One move per decision: the caller applies
// it (RouteFlow, reason Loss) and decides again on fresh figures, so one burst moves one flow at a time.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>Flow <see cref="FlowId"/> of <see cref="MobileNodeId"/> leaves the lossy tunnel to <see cref="From"/> for <see cref="To"/>.</summary>
public sealed record LossMove(string MobileNodeId, ulong FlowId, FlowKey Key, Ipv6Address From, Ipv6Address To, double FromLoss, double BytesPerSecond)
{
    public RouteFlow Command => new(MobileNodeId, Key, To, FlowMoveReason.Loss);
}

public static class FlowLossPolicy
{
    public static LossMove? Decide(IReadOnlyList<FlowSnapshot> flows, IReadOnlyDictionary<Ipv6Address, double> loss, double threshold,
        ImmutableArray<BindingSnapshot> bindings)
    {
        if (threshold is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a share of packets in (0, 1]");
        double LossOf(Ipv6Address mag) => loss.TryGetValue(mag, out var l) ? l : 0;
        foreach (var (lossy, figure) in loss.Where(l => l.Value >= threshold).OrderByDescending(l => l.Value).ThenBy(l => l.Key))
        {
            foreach (var flow in flows.Where(f => f.Via == lossy).OrderByDescending(f => f.BytesPerSecond).ThenBy(f => f.Id))
            {
                var owner = bindings.FirstOrDefault(b => b.Sessions.Any(s => s.Prefixes.Any(p => p.Contains(flow.Key.Destination))));
                if (owner is null)
                    continue;
                var target = owner.Sessions
                    .Where(s => s.State == SessionState.Active && s.ProxyCoa != lossy && LossOf(s.ProxyCoa) < threshold)
                    .OrderBy(s => LossOf(s.ProxyCoa)).ThenBy(s => s.SessionId)
                    .FirstOrDefault();
                if (target is not null)
                    return new LossMove(owner.MobileNodeId, flow.Id, flow.Key, lossy, target.ProxyCoa, figure, flow.BytesPerSecond);
            }
        }
        return null;
    }
}
