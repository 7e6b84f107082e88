// IP flow mobility in the binding bucket (issue 8): the MN's FlowMobilityState beside its BindingState.
// Decisions are FlowMobilityState's; here they are persisted (same journal, same write as the session
// events they follow), sent (Flow Mobility Initiates, retransmitted on a timer) and told to the dataplane
// (PinFlow, and an outage's prefixes through the remaining MAG).
using System.Collections.Immutable;
using Akka.Actor;
using Pmip6Akka.Dataplane.Wire;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;

namespace Pmip6Akka.Actors.Lma;

public sealed partial class BindingBucket
{
    private FlowMobilityState Flows(string mn) => _flows.TryGetValue(mn, out var f) ? f : FlowMobilityState.Empty(mn);

    private void StoreFlows(string mn, FlowMobilityState flows)
    {
        if (flows.IsEmpty)
            _flows.Remove(mn);
        else
            _flows[mn] = flows;
    }

    private void OnRouteFlow(RouteFlow route, IActorRef replyTo)
    {
        var mn = route.MobileNodeId;
        var decision = Flows(mn).DecideMove(State(mn), route.Key, route.To, route.Reason, DateTimeOffset.UtcNow, _settings.Flows);
        if (decision.Refusal is { } refusal)
        {
            _counters?.Increment("flow_moves_refused_total", "reason", refusal.ToString().ToLowerInvariant());
            replyTo.Tell(new FlowRouteAnswer(mn, 0, FlowMoveDecision.Describe(refusal)));
            return;
        }
        var routeId = decision.Events[0] is FlowRouted routed ? routed.RouteId : (ushort)0;
        Persist(decision.Events, () => replyTo.Tell(new FlowRouteAnswer(mn, routeId, null)));
    }

    private FlowRoutesView FlowRoutes(string mn)
    {
        var flows = Flows(mn);
        var state = State(mn);
        return new FlowRoutesView(mn,
            [.. flows.Routes.Select(r => new FlowRouteView(r.RouteId, r.Key, r.SessionId,
                state.Sessions.FirstOrDefault(s => s.Id == r.SessionId)?.ProxyCoa ?? default, r.Reason, r.At))],
            [.. flows.Announcements.Where(a => a.Acknowledged).Select(a => a.Mag)]);
    }

    /// <summary>Route events that the session events of one write imply (outage moves), decided before they are folded.</summary>
    private ImmutableArray<IBindingEvent> FollowFlows(ImmutableArray<IBindingEvent> events) =>
        _flows.TryGetValue(events[0].MobileNodeId, out var flows)
            ? flows.Follow(State(events[0].MobileNodeId), events, DateTimeOffset.UtcNow)
            : [];

    /// <summary>
    /// A de-registered interface while the MN is active at another MAG: its prefixes go through that MAG
    /// (which holds routes for all of them) instead of waiting in the handover buffer. False: buffer as usual.
    /// </summary>
    private bool RedirectOnOutage(string mn, BindingState state, MobilitySession left)
    {
        if (!_settings.Flows.Enabled || FlowMobilityState.OutageFallback(state, left.Id) is not { } fallback)
            return false;
        _counters?.Increment("flow_outage_redirects_total");
        _log.Info("{0} session {1}: de-registered from {2}; its prefixes {3} go through {4} (session {5}) meanwhile",
            mn, left.Id, left.ProxyCoa, string.Join(",", left.Prefixes), fallback.ProxyCoa, fallback.Id);
        _dataplane.Tell(new InstallBinding(mn, left.Id, [.. left.Prefixes], fallback.ProxyCoa));
        return true;
    }

    private void PinRoutesOf(string mn, int sessionId)
    {
        var via = State(mn).Sessions.FirstOrDefault(s => s.Id == sessionId)?.ProxyCoa;
        foreach (var route in Flows(mn).Routes.Where(r => r.SessionId == sessionId))
            _dataplane.Tell(new PinFlow(mn, route.RouteId, route.Key, via));
    }

    private void AfterRecoveryOfFlows()
    {
        if (!_settings.Flows.Enabled)
            return; // routes kept in the journal stay there, unapplied, until flow mobility is on again
        foreach (var (mn, flows) in _flows.ToList())
        {
            // The recovered routes again in the dataplane; the announcements are derived state: sent afresh.
            foreach (var sessionId in flows.Routes.Select(r => r.SessionId).Distinct())
                PinRoutesOf(mn, sessionId);
            StoreFlows(mn, flows with { Announcements = [] });
        }
        foreach (var (mn, state) in _states.ToList())
        {
            foreach (var left in state.Sessions.Where(s => s.State == SessionState.AwaitingNewMag))
                RedirectOnOutage(mn, state, left);
            ReconcileFlows(mn);
        }
    }

    private void ReconcileFlows(string mn)
    {
        if (!_settings.Flows.Enabled)
            return;
        var (flows, effects) = Flows(mn).Reconcile(State(mn), DateTimeOffset.UtcNow, _settings.Flows);
        StoreFlows(mn, flows);
        CarryFlows(mn, effects);
        if (effects.IsEmpty)
            return;
        // The group changed: the MN's uplink is accepted from its other MAGs too (or, alone again, from its own only).
        foreach (var (sessionId, prefixes, _) in FlowMobilityState.UplinkAlternates(State(mn)))
            TellUplink(mn, sessionId, prefixes, Reflector(mn).EntryFor(sessionId) is { } entry ? ReflectorAlternate(entry) : null);
    }

    /// <summary>While a Context Cache Entry lives, the other MAG of its handover: the previous one in forward mode, the next one in buffer mode.</summary>
    private static Ipv6Address ReflectorAlternate(ContextCacheEntry entry) => entry.Downlink == DownlinkMode.Forward ? entry.PreviousMag : entry.NextMag;

    /// <summary>
    /// The one place that tells the dataplane which MAGs' uplink a session's prefixes are accepted from besides its own:
    /// the union of the flow-mobility group's other MAGs and, while a Context Cache Entry of the session lives, the other
    /// MAG of that handover (<paramref name="reflectorAlternate"/>: the caller knows whether the entry is live, which the
    /// folded state may not show yet while its event is being written).
    /// </summary>
    private void TellUplink(string mn, int sessionId, ImmutableArray<Ipv6Prefix> prefixes, Ipv6Address? reflectorAlternate)
    {
        var also = _settings.Flows.Enabled ? FlowMobilityState.UplinkAlternatesOf(State(mn), sessionId) : [];
        if (reflectorAlternate is { } alternate)
            also = also.Add(alternate).Distinct().ToImmutableArray();
        _dataplane.Tell(new AcceptUplink(mn, sessionId, [.. prefixes], also));
    }

    private void OnFlowMobilityAnswered(FlowMobilityAnswered answer)
    {
        var (flows, effects, matched) = Flows(answer.MobileNodeId).OnAcknowledgement(answer.From, answer.Sequence, answer.Status);
        if (!matched)
        {
            _counters?.Increment("flow_mobility_acks_unmatched_total");
            _log.Debug("{0}: Flow Mobility Acknowledgement from {1} (sequence {2}) matches no pending Initiate", answer.MobileNodeId, answer.From, answer.Sequence);
            return;
        }
        _log.Info("{0}: MAG {1} answered the Flow Mobility Initiate: {2}", answer.MobileNodeId, answer.From, answer.Status);
        StoreFlows(answer.MobileNodeId, flows);
        CarryFlows(answer.MobileNodeId, effects);
    }

    private void FlowsTick()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (mn, flows) in _flows.ToList())
        {
            var (next, effects) = flows.Tick(now, _settings.Flows);
            StoreFlows(mn, next);
            CarryFlows(mn, effects, arm: false);
        }
        ArmFlows();
    }

    private void CarryFlows(string mn, ImmutableArray<FlowEffect> effects, bool arm = true)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case FlowEffect.SendInitiate send:
                    if (!send.Message.TryWrite(_buffer, out var length))
                    {
                        _log.Error("{0}: Flow Mobility Initiate with {1} prefixes does not fit a Mobility Header; not sent", mn, send.Message.Prefixes.Length);
                        break;
                    }
                    _counters?.Increment("flow_mobility_initiates_sent_total", "attempt", send.Attempt == 1 ? "first" : "retransmission");
                    if (send.Attempt == 1)
                        _log.Info("{0}: telling MAG {1} all its prefixes {2} (Flow Mobility Initiate {3})", mn, send.Mag,
                            string.Join(",", send.Message.Prefixes), send.Message.Sequence);
                    else
                        _log.Warning("{0}: no Flow Mobility Acknowledgement from {1}; sending again (attempt {2})", mn, send.Mag, send.Attempt);
                    SendMobility(length, send.Mag, afterDataplaneChange: true);
                    break;
                case FlowEffect.AnnouncementFailed failed:
                    _counters?.Increment("flow_mobility_initiates_failed_total", "status", failed.Status is { } st ? ((byte)st).ToString() : "no-answer");
                    _log.Warning("{0}: MAG {1} {2} the Flow Mobility Initiate after {3} attempts; it routes only the prefixes of its own session", mn, failed.Mag,
                        failed.Status is { } status ? $"refused ({status})" : "never acknowledged", failed.Attempts);
                    break;
            }
        }
        if (arm && !effects.IsEmpty)
            ArmFlows();
    }

    private void ArmFlows()
    {
        DateTimeOffset? next = null;
        foreach (var flows in _flows.Values)
            if (flows.NextDeadline(_settings.Flows) is { } at && (next is null || at < next))
                next = at;
        if (next is { } due)
            Timers.StartSingleTimer(FlowsTimer, new FlowsDue(), TimeSpan.FromTicks(Math.Max(0, (due - DateTimeOffset.UtcNow).Ticks)));
        else
            Timers.Cancel(FlowsTimer);
    }
}
