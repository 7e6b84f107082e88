// Flow mobility in the LMA's dataplane (issue 8): the binding entities' flow routes (PinFlow) go into the
// forwarder's flow table (TunnelForwarder.Flows, there when flow-mobility is on); routes that ended with
// their flow are reported back to the LMA node (FlowExpired), which hands them to the MN's entity.
using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;

namespace Pmip6Akka.Actors.Dataplane;

public sealed partial class LinuxDataplane
{
    private sealed record FlowPinsDue;

    /// <summary>How often routes that ended with their flow are collected and reported.</summary>
    public static readonly TimeSpan FlowPinsInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<FlowKey, (string MobileNodeId, ushort RouteId)> _pinned = new();
    private bool _pinsWithoutTable;

    private void PinFlow(PinFlow pin)
    {
        if (_resources.Tunnel?.Forwarder is not { Flows: { } flows } forwarder)
        {
            _counters.Increment("flow_pins_ignored_total");
            if (!_pinsWithoutTable)
                _log.Warning("flow route {0}/{1} not applied: this dataplane classifies no flows (userspace tunnel with flow-mobility.enabled = on needed)",
                    pin.MobileNodeId, pin.RouteId);
            _pinsWithoutTable = true;
            return;
        }
        flows.Pin(pin.Key, pin.Via is { } via ? forwarder.Table.Endpoint(via) : null, Stopwatch.GetTimestamp());
        if (pin.Via is null)
            _pinned.Remove(pin.Key);
        else
            _pinned[pin.Key] = (pin.MobileNodeId, pin.RouteId);
        _counters.Increment("flow_pins_total", "action", pin.Via is null ? "clear" : "set");
        if (!Timers.IsTimerActive("flow-pins"))
            Timers.StartPeriodicTimer("flow-pins", new FlowPinsDue(), FlowPinsInterval);
    }

    private void ReportEndedPins()
    {
        if (_resources.Tunnel?.Forwarder.Flows is not { } flows)
            return;
        foreach (var key in flows.TakeEndedPins(Stopwatch.GetTimestamp()))
            if (_pinned.Remove(key, out var owner))
                _endpoint.Tell(new FlowExpired(owner.MobileNodeId, owner.RouteId, key));
        if (_pinned.Count == 0)
            Timers.Cancel("flow-pins");
    }
}
