// Move on loss (issue 8), the actor: on a timer it reads each LMA–MAG tunnel's cumulative (sent, lost)
// counters from a source, feeds one TunnelLossEstimator per tunnel, and while a tunnel is lossy asks
// FlowLossPolicy which flow leaves it, then sends that move (RouteFlow, reason Loss) to the MN's binding
// entity — one move per tick, so a lossy tunnel sheds its flows one at a time, fastest first.
// The source is an interface: the egress qdisc reader and the tunnel probes (docs/DESIGN-NOTES.md,
// "Per-tunnel loss") are not built yet; specs drive the actor with a fake one.
using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>Cumulative counters of the tunnel to one MAG: packets offered, packets lost.</summary>
public sealed record TunnelCounters(Ipv6Address Mag, long Sent, long Lost);

public interface ITunnelLossSource
{
    IReadOnlyList<TunnelCounters> Read();
}

public sealed record FlowLossSettings(double Threshold, TimeSpan Interval)
{
    /// <summary>The estimators turn lossy at the threshold and clear below a fifth of it (hysteresis).</summary>
    public LossEstimatorSettings Estimator => LossEstimatorSettings.Default with
    {
        Window = Interval, EnterThreshold = Threshold, LeaveThreshold = Threshold / 5,
    };
}

public sealed class FlowLossMonitor : ReceiveActor, IWithTimers
{
    private sealed record Tick;
    private sealed record Decide(BindingIndexView Index);

    private readonly FlowLossSettings _settings;
    private readonly ITunnelLossSource _source;
    private readonly Func<IReadOnlyList<FlowSnapshot>> _flows;
    private readonly IActorRef _index;
    private readonly IActorRef _bindings;
    private readonly Counters? _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Ipv6Address, TunnelLossEstimator> _estimators = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _deciding;

    public ITimerScheduler Timers { get; set; } = null!;

    public FlowLossMonitor(FlowLossSettings settings, ITunnelLossSource source, Func<IReadOnlyList<FlowSnapshot>> flows, IActorRef index,
        IActorRef bindings, Counters? counters = null)
    {
        settings.Estimator.Validate();
        _settings = settings;
        _source = source;
        _flows = flows;
        _index = index;
        _bindings = bindings;
        _counters = counters;
        Receive<Tick>(_ => Observe());
        Receive<Decide>(d => Move(d.Index));
        Receive<Status.Failure>(f =>
        {
            _deciding = false;
            _log.Warning("move on loss: binding index unavailable: {0}", f.Cause.Message);
        });
        Receive<FlowRouteAnswer>(a =>
        {
            if (a.Accepted)
                _counters?.Increment("flow_loss_moves_total");
            else
                _log.Warning("move on loss for {0} refused: {1}", a.MobileNodeId, a.Error);
        });
    }

    public static Props Props(FlowLossSettings settings, ITunnelLossSource source, Func<IReadOnlyList<FlowSnapshot>> flows, IActorRef index,
        IActorRef bindings, Counters? counters = null) =>
        Akka.Actor.Props.Create(() => new FlowLossMonitor(settings, source, flows, index, bindings, counters));

    protected override void PreStart() => Timers.StartPeriodicTimer("loss", new Tick(), _settings.Interval);

    private void Observe()
    {
        var now = _clock.Elapsed;
        foreach (var c in _source.Read())
        {
            if (!_estimators.TryGetValue(c.Mag, out var estimator))
                _estimators[c.Mag] = estimator = new TunnelLossEstimator(_settings.Estimator);
            switch (estimator.Observe(now, c.Sent, c.Lost))
            {
                case LossEvent.BecameLossy:
                    _counters?.Increment("tunnel_lossy_total");
                    _log.Warning("tunnel to {0} lossy ({1:P1}): moving its flows off, fastest first", c.Mag, estimator.Loss);
                    break;
                case LossEvent.Recovered:
                    _log.Info("tunnel to {0} clear again ({1:P1})", c.Mag, estimator.Loss);
                    break;
            }
        }
        if (_deciding || !_estimators.Values.Any(e => e.IsLossy))
            return;
        _deciding = true;
        _index.Ask<BindingIndexView>(new GetBindingIndex(int.MaxValue), TimeSpan.FromSeconds(5))
            .PipeTo(Self, success: view => new Decide(view));
    }

    private void Move(BindingIndexView index)
    {
        _deciding = false;
        // The estimator's verdict (with its hysteresis) says which tunnels are lossy; the others count as below the threshold.
        var loss = _estimators.ToDictionary(e => e.Key,
            e => e.Value.IsLossy ? Math.Max(e.Value.Loss, _settings.Threshold) : Math.Min(e.Value.Loss, _settings.Threshold * 0.999));
        if (FlowLossPolicy.Decide(_flows(), loss, _settings.Threshold, index.Bindings) is not { } move)
            return;
        _log.Info($"move on loss: flow {move.FlowId} of {move.MobileNodeId} ({move.Key}, {move.BytesPerSecond:F0} B/s) from {move.From} " +
                  $"({move.FromLoss:P1} lost) to {move.To}");
        _bindings.Tell(move.Command);
    }
}
