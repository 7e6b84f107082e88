// IP flow mobility at the MAG (issue 8, RFC 7864): the LMA's Flow Mobility Initiate names all of an MN's
// prefixes; the MAG routes the ones its own session does not hold (the MN's other interfaces' prefixes)
// onto the MN's access link here, through the same path as its own (InstallAccessRoute: route onto the
// link, uplink source rule into the tunnel, tunnel downlink accepted), and acknowledges. A node it does
// not serve is answered 132 (MN not attached, RFC 7864). The extra routes go with the node's session.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public sealed partial class MagNode
{
    private sealed record FlowInitiate(ImmutableArray<Ipv6Prefix> Prefixes, ushort Sequence, ImmutableArray<(ushort Id, ushort Priority)> Flows);

    /// <summary>The access link of each MN's session (null: not reported by an access link).</summary>
    private readonly Dictionary<string, int?> _accessLinkOf = new(StringComparer.Ordinal);
    /// <summary>Prefixes routed onto an MN's link here besides its own session's.</summary>
    private readonly Dictionary<string, (int IfIndex, ImmutableArray<Ipv6Prefix> Prefixes)> _flowRoutes = new(StringComparer.Ordinal);
    /// <summary>An Initiate that arrived before the MN's own registration completed: applied and answered once it has.</summary>
    private readonly Dictionary<string, FlowInitiate> _pendingInitiates = new(StringComparer.Ordinal);

    private void OnFlowMobilityInitiate(MobilityHeader mh, Ipv6Address source)
    {
        if (!FlowMobilityInitiate.TryDecode(mh, out var fmi, out var error))
        {
            _counters.Increment("mh_decode_errors_total", "reason", error.ReasonName);
            _log.Debug("dropped a malformed Flow Mobility Initiate from {0}: {1}", source, error);
            return;
        }
        if (source != _settings.Lma)
        {
            _counters.Increment("mh_ignored_total", "type", "flow-initiate-not-from-lma");
            return;
        }
        var mn = fmi.MobileNodeId.ToString();
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>();
        foreach (var hnp in fmi.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        var flows = ImmutableArray.CreateBuilder<(ushort, ushort)>();
        foreach (var flow in FlowDescriptions.Of(fmi.Options))
            flows.Add((flow.FlowId, flow.Priority));
        var initiate = new FlowInitiate(prefixes.ToImmutable(), fmi.Sequence, flows.ToImmutable());
        if (!_sessions.ContainsKey(mn) || _detaching.Contains(mn))
        {
            _log.Info("{0}: Flow Mobility Initiate from {1} for a node not attached here; answering 132", mn, source);
            Answer(mn, initiate, UpdateNotificationStatus.MobileNodeNotAttached);
            return;
        }
        if (!_reports.TryGetValue(mn, out var report) || report.Prefixes.IsEmpty)
        {
            _pendingInitiates[mn] = initiate; // its PBA is on its way: answered when the session reports its prefixes
            return;
        }
        ApplyInitiate(mn, initiate, report.Prefixes);
    }

    private void OnSessionReportForFlows(SessionReport report)
    {
        if (report.Phase is MagSessionPhase.Closed or MagSessionPhase.Failed or MagSessionPhase.Deregistering)
        {
            EndFlows(report.MobileNodeId);
            return;
        }
        if (!report.Prefixes.IsEmpty && _pendingInitiates.Remove(report.MobileNodeId, out var pending))
            ApplyInitiate(report.MobileNodeId, pending, report.Prefixes);
    }

    private void ApplyInitiate(string mn, FlowInitiate initiate, ImmutableArray<Ipv6Prefix> own)
    {
        if (initiate.Prefixes.IsEmpty)
        {
            _log.Warning("{0}: Flow Mobility Initiate {1} names no prefix (HNP option); answering 131", mn, initiate.Sequence);
            Answer(mn, initiate, UpdateNotificationStatus.ReasonUnspecified);
            return;
        }
        if (_accessLinkOf.GetValueOrDefault(mn) is not { } ifIndex)
        {
            _log.Warning("{0}: Flow Mobility Initiate {1}: no access link is known for the node here; answering 128", mn, initiate.Sequence);
            Answer(mn, initiate, UpdateNotificationStatus.FailedToUpdateSessionParameters);
            return;
        }
        var extra = initiate.Prefixes.Except(own).ToImmutableArray();
        var before = _flowRoutes.TryGetValue(mn, out var routed) ? routed.Prefixes : [];
        var gone = before.Except(extra).ToArray();
        var added = extra.Except(before).ToArray();
        if (gone.Length > 0)
            _dataplane.Tell(new RemoveAccessRoute(mn, gone, ifIndex, _settings.Lma));
        if (added.Length > 0)
            _dataplane.Tell(new InstallAccessRoute(mn, added, ifIndex, _settings.Lma));
        if (extra.IsEmpty)
            _flowRoutes.Remove(mn);
        else
            _flowRoutes[mn] = (ifIndex, extra);
        if (_settings.Policies?.Find(mn)?.SharedPrefix == true && !extra.SequenceEqual(before))
            Publish(new SharedPrefixesChanged(mn, extra));
        _counters.Increment("flow_initiates_applied_total");
        _log.Info("{0}: routing its other prefixes {1} onto its link here too (Flow Mobility Initiate {2})", mn, string.Join(",", extra), initiate.Sequence);
        Answer(mn, initiate, UpdateNotificationStatus.Success);
    }

    /// <summary>The node's session here ended: the extra prefixes leave its link with it.</summary>
    private void EndFlows(string mn)
    {
        _pendingInitiates.Remove(mn);
        if (!_sessions.ContainsKey(mn))
            _accessLinkOf.Remove(mn);
        if (_flowRoutes.Remove(mn, out var routed))
        {
            _dataplane.Tell(new RemoveAccessRoute(mn, [.. routed.Prefixes], routed.IfIndex, _settings.Lma));
            if (_settings.Policies?.Find(mn)?.SharedPrefix == true)
                Publish(new SharedPrefixesChanged(mn, []));
        }
    }

    private void Publish(SharedPrefixesChanged change)
    {
        foreach (var subscriber in _subscribers)
            subscriber.Tell(change);
    }

    private void Answer(string mn, FlowInitiate initiate, UpdateNotificationStatus status)
    {
        _counters.Increment("flow_initiates_answered_total", "status", ((byte)status).ToString());
        var perFlow = status == UpdateNotificationStatus.Success ? FlowIdentificationStatus.Success : FlowIdentificationStatus.RejectedReasonUnspecified;
        var w = MobilityHeaderWriter.FlowMobilityAcknowledgement(_buffer, initiate.Sequence, status);
        WireText.WriteMobileNodeIdentifier(ref w, mn);
        foreach (var (id, priority) in initiate.Flows)
            w.Flow(id, priority, perFlow);
        if (w.TryFinish(out var length))
            Send(_buffer.AsSpan(0, length), _settings.Lma);
    }
}
