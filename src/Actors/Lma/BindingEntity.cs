// The binding entity: one persistent actor per mobile node (keyed by MN-ID), holding every mobility
// session of that MN. Thin: BindingState decides, this actor persists the events, replies with the
// PBA, tells the dataplane what to install, keeps one timer for the next expiry, and asks the
// prefix pool for new prefixes. It stops itself (Passivate) once the MN has no session left.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record BindingEntitySettings(Ipv6Address LmaAddress, BindingSettings Binding)
{
    /// <summary>RFC 5846 §6: InitialBRITimeout; the BRI is sent once more if no BRA arrives.</summary>
    public TimeSpan InitialBriTimeout { get; init; } = TimeSpan.FromSeconds(1);
    public int BriMaxRetransmissions { get; init; } = 1;
    public int SnapshotEvery { get; init; } = 100;
}

public sealed class BindingEntity : ReceivePersistentActor, IWithTimers
{
    private sealed record ExpiryDue;
    private sealed record PoolAnswered(HandleProxyBindingUpdate Request, PrefixesAssigned Answer, IActorRef ReplyTo);
    private sealed record PoolFailed(HandleProxyBindingUpdate Request, Exception Cause);
    private sealed record DeferredPbu(HandleProxyBindingUpdate Request, IActorRef ReplyTo);
    private sealed record BriDue(ushort Sequence, Ipv6Address Mag, int Attempt, ImmutableArray<Ipv6Prefix> Prefixes);

    private const string ExpiryTimer = "expiry";
    private readonly string _mobileNodeId;
    private readonly BindingEntitySettings _settings;
    private readonly IActorRef _dataplane;
    private readonly IActorRef _pool;
    private readonly IActorRef? _index;
    private readonly Observability.Counters? _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private BindingState _state;
    private ushort _briSequence;
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId { get; }

    public BindingEntity(string mobileNodeId, BindingEntitySettings settings, IActorRef dataplane, IActorRef pool, IActorRef? index,
        Observability.Counters? counters = null)
    {
        _counters = counters;
        _mobileNodeId = mobileNodeId;
        _settings = settings;
        _dataplane = dataplane;
        _pool = pool;
        _index = index;
        _state = BindingState.Empty(mobileNodeId);
        PersistenceId = "bce-" + mobileNodeId;

        Recover<IBindingEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is BindingState snapshot)
                _state = snapshot;
        });
        Recover<RecoveryCompleted>(_ => AfterRecovery());
        Ready();
    }

    public static Props Props(string mobileNodeId, BindingEntitySettings settings, IActorRef dataplane, IActorRef pool, IActorRef? index,
        Observability.Counters? counters = null) =>
        Akka.Actor.Props.Create(() => new BindingEntity(mobileNodeId, settings, dataplane, pool, index, counters));

    private void AfterRecovery()
    {
        // Re-install what the journal says is bound (the dataplane may have restarted with us).
        foreach (var session in _state.Sessions)
            _dataplane.Tell(new InstallBinding(_mobileNodeId, session.Id, [.. session.Prefixes], session.ProxyCoa));
        Report();
        ArmExpiry();
    }

    private void Ready()
    {
        Command<HandleProxyBindingUpdate>(request => Handle(request, null, Sender));
        Command<DeferredPbu>(deferred => Handle(deferred.Request, null, deferred.ReplyTo, mayDefer: false));
        Command<ExpiryDue>(_ =>
        {
            var events = _state.Expire(DateTimeOffset.UtcNow);
            if (events.IsEmpty) ArmExpiry();
            else PersistThen(events, () => { });
        });
        Command<RevokeBinding>(revoke =>
        {
            var sessions = _state.Sessions;
            Sender.Tell(new RevocationStarted(_mobileNodeId, sessions.Count));
            if (sessions.IsEmpty) return;
            var events = _state.Revoke(DateTimeOffset.UtcNow);
            PersistThen(events, () =>
            {
                foreach (var session in sessions)
                    SendBri(unchecked(++_briSequence), session.ProxyCoa, session.Prefixes, revoke.Trigger, 0);
            });
        });
        Command<RevokeSessionsAt>(revoke =>
        {
            var events = _state.Revoke(DateTimeOffset.UtcNow, revoke.Mag);
            if (!events.IsEmpty)
                PersistThen(events, () => { });
        });
        Command<BriDue>(due => SendBri(due.Sequence, due.Mag, due.Prefixes, RevocationTrigger.AdministrativeReason, due.Attempt));
        Command<RevocationAcknowledged>(ack =>
        {
            Timers.Cancel(BriTimerKey(ack.Sequence));
            _log.Info("BRA from {0} for {1}: {2}", ack.Mag, _mobileNodeId, ack.Status);
            PassivateIfEmpty();
        });
        Command<GetBinding>(_ => Sender.Tell(Snapshot()));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("journal cleanup of {0} failed: {1}", PersistenceId, f.Cause.Message));
    }

    private void Handle(HandleProxyBindingUpdate request, ImmutableArray<Ipv6Prefix>? assigned, IActorRef replyTo, bool mayDefer = true)
    {
        var decision = _state.Decide(request.Pbu, request.Policy, DateTimeOffset.UtcNow, _settings.Binding, assigned, mayDefer && assigned is null);
        switch (decision)
        {
            case BindingDecision.Reject reject:
                SendPba(reject.Reply, request.ReceivedAtTimestamp);
                break;
            case BindingDecision.Defer defer:
                _log.Info("{0}: PBU from {1} with handoff state unknown; waiting {2} ms (MaxDelayBeforeNewBCEAssign) for the previous MAG's de-registration",
                    _mobileNodeId, request.Pbu.ProxyCoa, defer.After.TotalMilliseconds);
                Timers.StartSingleTimer("deferred-" + request.Pbu.ProxyCoa, new DeferredPbu(request, replyTo), defer.After);
                break;
            case BindingDecision.NeedPrefixes need:
                var sessionId = _state.NextSessionId;
                _pool.Ask<PrefixesAssigned>(new AllocatePrefixes(_mobileNodeId, sessionId, need.Count), TimeSpan.FromSeconds(10))
                    .PipeTo(Self, success: a => new PoolAnswered(request, a, replyTo), failure: e => new PoolFailed(request, e));
                BecomeStacked(AwaitingPool);
                break;
            case BindingDecision.Accept accept:
                if (accept.Events.IsEmpty)
                    SendPba(accept.Reply, request.ReceivedAtTimestamp);
                else
                    PersistThen(accept.Events, () => SendPba(accept.Reply, request.ReceivedAtTimestamp));
                break;
        }
    }

    private void AwaitingPool()
    {
        Command<PoolAnswered>(answered =>
        {
            UnbecomeStacked();
            Stash.UnstashAll();
            Handle(answered.Request, answered.Answer.Prefixes, answered.ReplyTo);
        });
        Command<PoolFailed>(failed =>
        {
            UnbecomeStacked();
            Stash.UnstashAll();
            _log.Error("prefix pool did not answer for {0}: {1}", _mobileNodeId, failed.Cause.Message);
            SendPba(ProxyBindingAcknowledgement.Reject(failed.Request.Pbu, BindingAcknowledgementStatus.InsufficientResources), failed.Request.ReceivedAtTimestamp);
        });
        CommandAny(_ => Stash.Stash());
    }

    private void PersistThen(ImmutableArray<IBindingEvent> events, Action after)
    {
        var remaining = events.Length;
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            Effects(e);
            if (--remaining > 0) return;
            after();
            Report();
            ArmExpiry();
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state);
            PassivateIfEmpty();
        });
    }

    private void Effects(IBindingEvent e)
    {
        switch (e)
        {
            case SessionRegistered r:
                _dataplane.Tell(new InstallBinding(_mobileNodeId, r.SessionId, [.. r.Prefixes], r.ProxyCoa));
                if (r.Kind != RegistrationKind.Refresh)
                    _log.Info("{0} session {1}: {2} at {3}, prefixes {4}, lifetime {5}s", _mobileNodeId, r.SessionId, r.Kind, r.ProxyCoa,
                        string.Join(",", r.Prefixes), r.Lifetime.TotalSeconds);
                break;
            case SessionDeregistered d:
                _log.Info("{0} session {1}: de-registered, kept until {2:O} for a handover", _mobileNodeId, d.SessionId, d.DeleteAt);
                break;
            case SessionRemoved r:
                _dataplane.Tell(new RemoveBinding(_mobileNodeId, r.SessionId, [.. r.ReleasedPrefixes]));
                _pool.Tell(new ReleasePrefixes(_mobileNodeId, r.SessionId, r.ReleasedPrefixes));
                _log.Info("{0} session {1}: removed ({2}), prefixes {3} released", _mobileNodeId, r.SessionId, r.Reason, string.Join(",", r.ReleasedPrefixes));
                break;
        }
    }

    private void SendPba(ProxyBindingAcknowledgement pba, long receivedAt)
    {
        _counters?.Increment("pba_sent_total", "status", ((byte)pba.Status).ToString());
        if (receivedAt != 0)
            _counters?.Observe("pbu_processing_seconds", System.Diagnostics.Stopwatch.GetElapsedTime(receivedAt).TotalSeconds);
        if (!pba.TryWrite(_buffer, out var length))
        {
            _log.Error("PBA for {0} does not fit a Mobility Header; not sent", _mobileNodeId);
            return;
        }
        _dataplane.Tell(new SendMobilityMessage(_buffer[..length], _settings.LmaAddress, pba.ProxyCoa));
    }

    private void SendBri(ushort sequence, Ipv6Address mag, ImmutableArray<Ipv6Prefix> prefixes, RevocationTrigger trigger, int attempt)
    {
        var w = MobilityHeaderWriter.BindingRevocationIndication(_buffer, trigger, sequence, BindingRevocation.ProxyFlag);
        WireText.WriteMobileNodeIdentifier(ref w, _mobileNodeId);
        foreach (var prefix in prefixes)
            w.HomeNetworkPrefix(prefix);
        if (!w.TryFinish(out var length))
            return;
        _dataplane.Tell(new SendMobilityMessage(_buffer[..length], _settings.LmaAddress, mag));
        if (attempt < _settings.BriMaxRetransmissions)
            Timers.StartSingleTimer(BriTimerKey(sequence), new BriDue(sequence, mag, attempt + 1, prefixes),
                _settings.InitialBriTimeout * (1 << attempt));
    }

    private static string BriTimerKey(ushort sequence) => "bri-" + sequence;

    private void ArmExpiry()
    {
        if (_state.NextDeadline is { } deadline)
        {
            var after = deadline - DateTimeOffset.UtcNow;
            Timers.StartSingleTimer(ExpiryTimer, new ExpiryDue(), after < TimeSpan.Zero ? TimeSpan.Zero : after);
        }
        else
        {
            Timers.Cancel(ExpiryTimer);
        }
    }

    private void PassivateIfEmpty()
    {
        if (_state.IsEmpty && !Timers.IsTimerActive("bri-" + _briSequence))
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    private BindingSnapshot Snapshot() => new(_mobileNodeId, Views());

    private ImmutableArray<SessionView> Views() =>
        [.. _state.Sessions.Select(s => new SessionView(s.Id, s.Prefixes, s.ProxyCoa, s.State, s.AccessTechnology, s.LinkLayerId, s.ExpiresAt))];

    private void Report() => _index?.Tell(new BindingChanged(_mobileNodeId, Views()));
}
