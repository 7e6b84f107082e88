// One actor per attached MN at the MAG: a thin shell around MagSessionState that owns the single
// retransmission/refresh timer, encodes and sends PBUs through the dataplane, and reports changes.
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public sealed class MagSession : ReceiveActor, IWithTimers
{
    public sealed record PbaArrived(ProxyBindingAcknowledgement Pba);
    public sealed record Detach(ReflectedContext? Handover = null);
    public sealed record LmaRestarted;
    private sealed record TimerDue;

    private MagSessionState _state;
    private readonly Ipv6Address _lma;
    private readonly IActorRef _dataplane;
    private readonly Counters _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];
    private DateTimeOffset _sentAt;

    public ITimerScheduler Timers { get; set; } = null!;

    public MagSession(Attachment attachment, Ipv6Address mag, Ipv6Address lma, ushort sequence, MagSettings settings, IActorRef dataplane, Counters counters)
    {
        _lma = lma;
        _dataplane = dataplane;
        _counters = counters;
        (_state, var effects) = MagSessionState.Attach(attachment, mag, sequence, DateTimeOffset.UtcNow, settings);
        Receive<PbaArrived>(p => Run(_state.OnAcknowledgement(p.Pba, DateTimeOffset.UtcNow)));
        Receive<TimerDue>(_ => Run(_state.OnTimer(DateTimeOffset.UtcNow)));
        Receive<Detach>(d => Run(_state.Detach(DateTimeOffset.UtcNow, d.Handover)));
        Receive<LmaRestarted>(_ => Run(_state.OnLmaRestart(DateTimeOffset.UtcNow)));
        Self.Tell(new Started(effects));
        Receive<Started>(s => Carry(s.Effects));
    }

    private sealed record Started(System.Collections.Immutable.ImmutableArray<MagEffect> Effects);

    public static Props Props(Attachment attachment, Ipv6Address mag, Ipv6Address lma, ushort sequence, MagSettings settings, IActorRef dataplane, Counters counters) =>
        Akka.Actor.Props.Create(() => new MagSession(attachment, mag, lma, sequence, settings, dataplane, counters));

    private void Run((MagSessionState State, System.Collections.Immutable.ImmutableArray<MagEffect> Effects) step)
    {
        _state = step.State;
        Carry(step.Effects);
    }

    private void Carry(System.Collections.Immutable.ImmutableArray<MagEffect> effects)
    {
        var mn = _state.Attachment.MobileNodeId;
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case MagEffect.SendPbu send:
                    if (!send.Pbu.TryWrite(_buffer, out var length))
                    {
                        _log.Error("PBU for {0} does not fit a Mobility Header", mn);
                        break;
                    }
                    if (_state.Transmissions > 1)
                        _counters.Increment("pbu_retransmissions_total");
                    _counters.Increment("pbu_sent_total");
                    _sentAt = DateTimeOffset.UtcNow;
                    _dataplane.Tell(new SendMobilityMessage(_buffer[..length], send.Pbu.ProxyCoa, _lma));
                    break;
                case MagEffect.StartTimer timer:
                    Timers.StartSingleTimer("session", new TimerDue(), timer.After);
                    break;
                case MagEffect.Established established:
                    _counters.Observe("pbu_pba_latency_seconds", (DateTimeOffset.UtcNow - _sentAt).TotalSeconds);
                    if (established.Kind == RegistrationKind.Initial)
                        _log.Info("{0} registered: prefixes {1}, lifetime {2}s", mn, string.Join(",", established.Prefixes), established.Lifetime.TotalSeconds);
                    Report(null, DateTimeOffset.UtcNow - _sentAt);
                    break;
                case MagEffect.Rejected rejected:
                    _counters.Increment("pba_rejected_total", "status", ((byte)rejected.Status).ToString());
                    _log.Warning("{0}: PBA {1}", mn, rejected.Meaning);
                    Report(rejected.Meaning);
                    Context.Stop(Self);
                    break;
                case MagEffect.GaveUp gaveUp:
                    _counters.Increment("pbu_gave_up_total");
                    _log.Warning("{0}: no PBA from LMA {1} after {2} transmissions while {3}; giving up (MAX_BINDACK_TIMEOUT)", mn, _lma, gaveUp.Transmissions, gaveUp.During);
                    Report($"no PBA after {gaveUp.Transmissions} transmissions");
                    Context.Stop(Self);
                    break;
                case MagEffect.Closed:
                    _log.Info("{0} de-registered", mn);
                    Report(null);
                    Context.Stop(Self);
                    break;
            }
        }
    }

    private void Report(string? detail, TimeSpan? roundTrip = null) =>
        Context.Parent.Tell(new SessionReport(_state.Attachment.MobileNodeId, _state.Phase, _state.Prefixes, _state.GrantedLifetime, detail) { RoundTrip = roundTrip });
}
