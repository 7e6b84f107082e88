// The LMA's protocol handler (RFC 5213 §5.3): decodes every Mobility Header message its dataplane
// hands over, admits or rejects PBUs (154, 160/158/161/162, 156, 153) before any entity sees them,
// forwards admitted PBUs to the binding entity of the MN, answers heartbeats (RFC 5847) with its
// restart counter, and routes BRAs to the entity that revoked. Malformed input is dropped, counted
// by reason and logged at debug; nothing a peer sends can stop it.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record LmaNodeSettings(Ipv6Address Address, LmaAdmissionSettings Admission, uint RestartCounter)
{
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(60);
    public int MissingHeartbeatsAllowed { get; init; } = 3;
    /// <summary>
    /// Whether this LMA sends heartbeat requests to its MAGs (RFC 5847 §3.2 lets either end). Off on a node of a cluster: the
    /// MAG's answers go to the shared LMA address, so to whichever node the core's ECMP picks, and every other node would
    /// report healthy MAGs unreachable. The node still answers every MAG's requests, which is how a MAG detects a dead anchor.
    /// </summary>
    public bool InitiatesHeartbeats { get; init; } = true;
    /// <summary>Limits on a context carried in a de-registration (Context Reflector).</summary>
    public ContextLimits ContextLimits { get; init; } = ContextLimits.Default;
    /// <summary>The receive thread's bound on waiting messages: each one taken off the mailbox gives its place back.</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveQueueBound? ReceiveQueue { get; init; }
    /// <summary>A lone node's running buckets: an admitted PBU goes straight to its bucket when it is there, else through the region.</summary>
    public LocalBucketDirectory? Buckets { get; init; }
}

public sealed class LmaNode : ReceiveActor, IWithTimers
{
    public sealed record GetStatus;

    private readonly LmaNodeSettings _settings;
    private readonly IPolicyStore _policies;
    private readonly IActorRef _dataplane;
    private readonly IActorRef _bindings;
    private readonly IActorRef? _index;
    private readonly Counters _counters;
    private readonly HeartbeatMonitor _heartbeats;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];

    public ITimerScheduler Timers { get; set; } = null!;

    public LmaNode(LmaNodeSettings settings, IPolicyStore policies, IActorRef dataplane, IActorRef bindings, Counters counters, IActorRef? index = null)
    {
        _index = index;
        _settings = settings;
        _policies = policies;
        _dataplane = dataplane;
        _bindings = bindings;
        _counters = counters;
        _heartbeats = new HeartbeatMonitor(settings.RestartCounter, settings.MissingHeartbeatsAllowed, counters, _log, "MAG");
        foreach (var mag in settings.Admission.AuthorizedMags)
            _heartbeats.AddPeer(mag);

        Receive<EndpointRegistered>(r => _log.Info("LMA listening on {0} (restart counter {1})", r.Address, settings.RestartCounter));
        Receive<MobilityMessageReceived>(OnMessage);
        Receive<HeartbeatMonitor.HeartbeatDue>(_ => _heartbeats.Tick(Send));
        Receive<RevokeBinding>(r => _bindings.Forward(r));
        Receive<GetBinding>(g => _bindings.Forward(g));
        Receive<RouteFlow>(r => _bindings.Forward(r));
        Receive<GetFlowRoutes>(g => _bindings.Forward(g));
        Receive<FlowExpired>(e => _bindings.Tell(e)); // from the dataplane's flow table
        Receive<GetStatus>(_ => Sender.Tell(_counters.Snapshot()));
    }

    public static Props Props(LmaNodeSettings settings, IPolicyStore policies, IActorRef dataplane, IActorRef bindings, Counters counters,
        IActorRef? index = null) =>
        Akka.Actor.Props.Create(() => new LmaNode(settings, policies, dataplane, bindings, counters, index));

    protected override void PreStart()
    {
        _dataplane.Tell(new RegisterEndpoint(_settings.Address));
        if (_settings.InitiatesHeartbeats)
            Timers.StartPeriodicTimer("heartbeat", new HeartbeatMonitor.HeartbeatDue(), _settings.HeartbeatInterval);
    }

    private void OnMessage(MobilityMessageReceived received)
    {
        // Its place given back once the message is handled: whoever sees the queue shrink also sees what it was
        // counted as (a decode error included).
        try
        {
            Handle(received);
        }
        finally
        {
            _settings.ReceiveQueue?.Leave();
        }
    }

    private void Handle(MobilityMessageReceived received)
    {
        if (!MobilityHeader.TryDecode(received.Message, out var mh, out var error))
        {
            Malformed(received, error);
            return;
        }
        switch (mh.Type)
        {
            case MobilityHeaderType.BindingUpdate:
                if (!BindingUpdate.TryDecode(mh, out var bu, out error)) { Malformed(received, error); return; }
                OnBindingUpdate(bu, received.Source, received.ReceivedAt);
                break;
            case MobilityHeaderType.Heartbeat:
                if (!Heartbeat.TryDecode(mh, out var hb, out error)) { Malformed(received, error); return; }
                _heartbeats.OnHeartbeat(hb, received.Source, Send);
                break;
            case MobilityHeaderType.BindingRevocation:
                if (!BindingRevocation.TryDecode(mh, out var br, out error)) { Malformed(received, error); return; }
                if (br.IsIndication)
                {
                    OnMagRevocation(br, received.Source);
                    return;
                }
                if (!br.Options.TryGetMobileNodeIdentifier(out var id))
                {
                    _counters.Increment("mh_ignored_total", "type", "bra-without-mn-id");
                    return;
                }
                _bindings.Tell(new RevocationAcknowledged(id.ToString(), br.Sequence, br.Status, received.Source));
                break;
            case MobilityHeaderType.Experimental:
                if (!ContextReflectionAcknowledgement.TryDecode(mh, out var ack, out error)) { Malformed(received, error); return; }
                _counters.Increment("context_reflection_acks_received_total", "status", ((byte)ack.Status).ToString());
                _bindings.Tell(new ContextReflectionAnswered(ack.MobileNodeId.ToString(), received.Source, ack.Sequence, ack.Status));
                break;
            case MobilityHeaderType.UpdateNotificationAcknowledgement:
                if (!FlowMobilityAcknowledgement.TryDecode(mh, out var fma, out error)) { Malformed(received, error); return; }
                _counters.Increment("flow_mobility_acks_received_total", "status", ((byte)fma.Status).ToString());
                _bindings.Tell(new FlowMobilityAnswered(fma.MobileNodeId.ToString(), received.Source, fma.Sequence, fma.Status));
                break;
            default:
                _counters.Increment("mh_ignored_total", "type", mh.Type.ToString());
                _log.Debug("ignored {0} from {1}", mh.Type, received.Source);
                break;
        }
    }

    /// <summary>
    /// Context Reflector: the context items of a de-registration. A bad item costs the MN only the
    /// reflector (the de-registration itself goes on, standard), counted and logged with the field.
    /// </summary>
    private ProxyBindingUpdate WithContext(ProxyBindingUpdate pbu, in BindingUpdate bu)
    {
        if (!pbu.IsDeregistration)
            return pbu;
        if (ReflectedContext.TryFrom(bu.Options, _settings.ContextLimits, out var context, out var error))
            return context is null ? pbu : pbu with { Context = context };
        _counters.Increment("reflector_fallback_total", "reason", "bad-context");
        _log.Warning("{0}: de-registration from {1} carries a bad context ({2}); handled without the Context Reflector",
            pbu.MobileNodeId, pbu.ProxyCoa, error);
        return pbu;
    }

    private void OnBindingUpdate(BindingUpdate bu, Ipv6Address source, DateTimeOffset receivedAt)
    {
        _counters.Increment("pbu_received_total");
        if (!bu.IsProxy)
        {
            // RFC 5213 §5.3.1: a BU without the P flag is not ours to process as a proxy registration.
            Reply(LmaAdmission.RejectUndecodable(source, bu, BindingAcknowledgementStatus.ProxyRegistrationNotEnabled));
            return;
        }
        if (!LmaAdmission.IsAuthorized(_settings.Admission, source))
        {
            Reply(LmaAdmission.RejectUndecodable(source, bu, BindingAcknowledgementStatus.MagNotAuthorizedForProxyRegistration));
            return;
        }
        if (!ProxyBindingUpdate.TryFrom(bu, source, out var pbu, out var missing))
        {
            Reply(LmaAdmission.RejectUndecodable(source, bu, missing));
            return;
        }
        var rejection = LmaAdmission.Check(pbu!, _settings.Admission, _policies, receivedAt, out var policy);
        if (rejection is not null)
        {
            Reply(rejection);
            return;
        }
        var request = new HandleProxyBindingUpdate(WithContext(pbu!, bu), policy!, System.Diagnostics.Stopwatch.GetTimestamp());
        if (_settings.Buckets?.Find(BindingBuckets.Bucket(request.MobileNodeId)) is { } bucket)
            bucket.Tell(request);
        else
            _bindings.Tell(request);
    }

    /// <summary>
    /// RFC 5846 §8.1: a MAG revokes bindings itself — all of them with the G flag (at its shutdown),
    /// or one MN's. The LMA drops them and acknowledges.
    /// </summary>
    private void OnMagRevocation(BindingRevocation bri, Ipv6Address mag)
    {
        var status = BindingRevocationStatus.Success;
        if (!LmaAdmission.IsAuthorized(_settings.Admission, mag))
            status = BindingRevocationStatus.GlobalRevocationNotAuthorized;
        else if (bri.IsGlobal && _index is not null)
        {
            var bindings = _bindings;
            _index.Ask<BindingIndexView>(new GetBindingIndex(int.MaxValue, mag), TimeSpan.FromSeconds(30)).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully)
                    foreach (var b in t.Result.Bindings)
                        bindings.Tell(new RevokeSessionsAt(b.MobileNodeId, mag));
            });
            _log.Info("MAG {0} revoked all its bindings ({1})", mag, bri.Trigger);
        }
        else if (bri.Options.TryGetMobileNodeIdentifier(out var id))
            _bindings.Tell(new RevokeSessionsAt(id.ToString(), mag));
        else
            status = BindingRevocationStatus.CannotIdentifyBinding;
        _counters.Increment("bri_received_total", "status", status.ToString());
        var w = MobilityHeaderWriter.BindingRevocationAcknowledgement(_buffer, status, bri.Sequence,
            (ushort)(BindingRevocation.ProxyFlag | (bri.IsGlobal ? BindingRevocation.GlobalFlag : 0)));
        if (w.TryFinish(out var length))
            Send(_buffer.AsSpan(0, length), mag);
    }

    private void Reply(ProxyBindingAcknowledgement pba)
    {
        _counters.Increment("pba_sent_total", "status", ((byte)pba.Status).ToString());
        _log.Info("PBU from {0} for {1} rejected: {2}", pba.ProxyCoa, pba.MobileNodeId ?? "(no MN-ID)", Protocol.StatusText.Describe(pba.Status));
        if (pba.TryWrite(_buffer, out var length))
            Send(_buffer.AsSpan(0, length), pba.ProxyCoa);
    }

    private void Send(ReadOnlySpan<byte> message, Ipv6Address destination) =>
        _dataplane.Tell(new SendMobilityMessage(message.ToArray(), _settings.Address, destination));

    private void Malformed(MobilityMessageReceived received, DecodeError error)
    {
        _counters.Increment("mh_decode_errors_total", "reason", error.ReasonName);
        _log.Debug("dropped a malformed MH message from {0}: {1}", received.Source, error);
    }
}
