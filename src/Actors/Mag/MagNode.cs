// The MAG (RFC 5213 §6): turns attach and detach events into one MagSession per MN, routes PBAs to
// them, answers Binding Revocation Indications (RFC 5846) with a BRA and tears the session down,
// exchanges heartbeats with the LMA (RFC 5847) and re-registers every session when the LMA's
// restart counter changes.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public sealed record MagNodeSettings(Ipv6Address Address, Ipv6Address Lma, uint RestartCounter, MagSettings Session)
{
    /// <summary>MN policy profiles (RFC 5213 §6.2): an MN without one, or not allowed here, is not registered.</summary>
    public IPolicyStore? Policies { get; init; }

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(60);
    public int MissingHeartbeatsAllowed { get; init; } = 3;
}

public sealed class MagNode : ReceiveActor, IWithTimers
{
    private readonly MagNodeSettings _settings;
    private readonly IActorRef _dataplane;
    private readonly Counters _counters;
    private readonly HeartbeatMonitor _heartbeats;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SessionReport> _reports = new(StringComparer.Ordinal);
    // An MN that re-attached while its previous session was still de-registering: started once that session ends.
    private readonly Dictionary<string, MobileNodeAttached> _pendingAttach = new(StringComparer.Ordinal);
    private readonly HashSet<string> _detaching = new(StringComparer.Ordinal);
    private readonly HashSet<IActorRef> _subscribers = new();
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];
    private ushort _sequence = (ushort)Random.Shared.Next(ushort.MaxValue);
    private ushort _briSequence;

    public ITimerScheduler Timers { get; set; } = null!;

    public MagNode(MagNodeSettings settings, IActorRef dataplane, Counters counters)
    {
        _settings = settings;
        _dataplane = dataplane;
        _counters = counters;
        _heartbeats = new HeartbeatMonitor(settings.RestartCounter, settings.MissingHeartbeatsAllowed, counters, _log, "LMA");
        _heartbeats.AddPeer(settings.Lma);

        Receive<EndpointRegistered>(r => _log.Info("MAG {0} serving, LMA {1}", r.Address, settings.Lma));
        Receive<MobileNodeAttached>(OnAttached);
        Receive<MobileNodeDetached>(d =>
        {
            _pendingAttach.Remove(d.MobileNodeId);
            if (_sessions.TryGetValue(d.MobileNodeId, out var session))
            {
                _detaching.Add(d.MobileNodeId);
                session.Tell(new MagSession.Detach());
            }
        });
        Receive<MobilityMessageReceived>(OnMessage);
        Receive<SessionReport>(report =>
        {
            _reports[report.MobileNodeId] = report;
            foreach (var subscriber in _subscribers)
                subscriber.Tell(report);
        });
        Receive<Terminated>(t =>
        {
            foreach (var (mn, actor) in _sessions.Where(s => s.Value.Equals(t.ActorRef)).ToList())
            {
                _sessions.Remove(mn);
                _reports.Remove(mn);
                _detaching.Remove(mn);
                if (_pendingAttach.Remove(mn, out var pending))
                    OnAttached(pending);
            }
        });
        Receive<SubscribeSessionReports>(_ => _subscribers.Add(Sender));
        Receive<GetBindingUpdateList>(_ => Sender.Tell(new BindingUpdateListView([.. _reports.Values.OrderBy(r => r.MobileNodeId)])));
        Receive<LmaNode.GetStatus>(_ => Sender.Tell(_counters.Snapshot()));
        Receive<HeartbeatMonitor.HeartbeatDue>(_ => _heartbeats.Tick(Send));
        Receive<RevokeAllSessions>(_ => RevokeAll());
    }

    public static Props Props(MagNodeSettings settings, IActorRef dataplane, Counters counters) =>
        Akka.Actor.Props.Create(() => new MagNode(settings, dataplane, counters));

    protected override void PreStart()
    {
        _dataplane.Tell(new RegisterEndpoint(_settings.Address));
        Timers.StartPeriodicTimer("heartbeat", new HeartbeatMonitor.HeartbeatDue(), TimeSpan.FromMilliseconds(100), _settings.HeartbeatInterval);
    }

    private void OnAttached(MobileNodeAttached attached)
    {
        var mn = attached.Attachment.MobileNodeId;
        if (_sessions.ContainsKey(mn))
        {
            if (_detaching.Contains(mn))
            {
                _pendingAttach[mn] = attached;
                _log.Info("{0} attached again while its de-registration runs; registering once it completes", mn);
            }
            else
                _log.Debug("{0} attached again while its session runs; ignored", mn);
            return;
        }
        if (_settings.Policies is { } policies)
        {
            var policy = policies.Find(mn);
            var refusal = policy is null ? "no policy profile for this MN"
                : !policy.ProxyRegistrationEnabled ? "its policy profile does not enable network-based mobility"
                : !policy.Allows(attached.Attachment.AccessTechnology) ? $"its policy profile does not allow {attached.Attachment.AccessTechnology}"
                : null;
            if (refusal is not null)
            {
                _counters.Increment("attach_refused_total", "reason", policy is null ? "no-policy" : "policy");
                _log.Warning("{0} attached but is not registered: {1}", mn, refusal);
                Self.Tell(new SessionReport(mn, MagSessionPhase.Failed, [], TimeSpan.Zero, refusal));
                return;
            }
        }
        var name = Uri.EscapeDataString(mn);
        var session = Context.ActorOf(MagSession.Props(attached.Attachment, _settings.Address, _settings.Lma, _sequence, _settings.Session, _dataplane, _counters), name);
        _sequence = unchecked((ushort)(_sequence + 64));
        Context.Watch(session);
        _sessions[mn] = session;
    }

    private void OnMessage(MobilityMessageReceived received)
    {
        if (!MobilityHeader.TryDecode(received.Message, out var mh, out var error))
        {
            Malformed(received, error);
            return;
        }
        switch (mh.Type)
        {
            case MobilityHeaderType.BindingAcknowledgement:
                if (!BindingAcknowledgement.TryDecode(mh, out var ba, out error)) { Malformed(received, error); return; }
                OnAcknowledgement(ba, received.Source);
                break;
            case MobilityHeaderType.Heartbeat:
                if (!Heartbeat.TryDecode(mh, out var hb, out error)) { Malformed(received, error); return; }
                if (_heartbeats.OnHeartbeat(hb, received.Source, Send) == HeartbeatMonitor.PeerEvent.Restarted)
                {
                    _log.Warning("LMA {0} restarted: re-registering {1} sessions", received.Source, _sessions.Count);
                    foreach (var session in _sessions.Values)
                        session.Tell(new MagSession.LmaRestarted());
                }
                break;
            case MobilityHeaderType.BindingRevocation:
                if (!BindingRevocation.TryDecode(mh, out var br, out error)) { Malformed(received, error); return; }
                if (br.IsIndication)
                    OnRevocation(br, received.Source);
                break;
            default:
                _counters.Increment("mh_ignored_total", "type", mh.Type.ToString());
                break;
        }
    }

    private void OnAcknowledgement(BindingAcknowledgement ba, Ipv6Address source)
    {
        if (!ba.IsProxy || source != _settings.Lma)
        {
            _counters.Increment("mh_ignored_total", "type", "ba-not-from-lma");
            return;
        }
        if (!ba.Options.TryGetMobileNodeIdentifier(out var id))
        {
            // A rejection for a PBU whose MN-ID was unusable: nothing to route it to.
            _log.Warning("PBA without MN-ID from {0}: {1}", source, StatusText.Describe(ba.Status));
            _counters.Increment("pba_rejected_total", "status", ((byte)ba.Status).ToString());
            return;
        }
        var mn = id.ToString();
        if (!_sessions.TryGetValue(mn, out var session))
        {
            _counters.Increment("mh_ignored_total", "type", "ba-unknown-mn");
            return;
        }
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>();
        foreach (var hnp in ba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        session.Tell(new MagSession.PbaArrived(new ProxyBindingAcknowledgement(source, ba.Status, ba.Sequence, ba.Lifetime, mn,
            prefixes.ToImmutable(), ba.Options.HandoffIndicator, ba.Options.AccessTechnologyType, null, ba.Options.LinkLocalAddress, ba.Options.Timestamp)));
    }

    private void OnRevocation(BindingRevocation bri, Ipv6Address source)
    {
        var status = BindingRevocationStatus.BindingDoesNotExist;
        string? mn = null;
        if (bri.Options.TryGetMobileNodeIdentifier(out var id))
        {
            mn = id.ToString();
            _detaching.Remove(mn);
            _pendingAttach.Remove(mn);
            if (_sessions.Remove(mn, out var session))
            {
                Context.Stop(session);
                _reports.Remove(mn);
                status = BindingRevocationStatus.Success;
                _log.Info("{0}: binding revoked by LMA {1} ({2})", mn, source, bri.Trigger);
            }
        }
        _counters.Increment("bri_received_total", "status", status.ToString());
        var w = MobilityHeaderWriter.BindingRevocationAcknowledgement(_buffer, status, bri.Sequence, BindingRevocation.ProxyFlag);
        if (mn is not null)
            WireText.WriteMobileNodeIdentifier(ref w, mn);
        if (w.TryFinish(out var length))
            Send(_buffer.AsSpan(0, length), source);
    }

    private void RevokeAll()
    {
        // RFC 5846 §8.1: a MAG-initiated global revocation: one BRI with the G flag for all its sessions.
        var w = MobilityHeaderWriter.BindingRevocationIndication(_buffer, RevocationTrigger.AdministrativeReason, ++_briSequence,
            BindingRevocation.ProxyFlag | BindingRevocation.GlobalFlag);
        if (w.TryFinish(out var length))
            Send(_buffer.AsSpan(0, length), _settings.Lma);
        Sender.Tell(_sessions.Count);
    }

    private void Send(ReadOnlySpan<byte> message, Ipv6Address destination) =>
        _dataplane.Tell(new SendMobilityMessage(message.ToArray(), _settings.Address, destination));

    private void Malformed(MobilityMessageReceived received, DecodeError error)
    {
        _counters.Increment("mh_decode_errors_total", "reason", error.ReasonName);
        _log.Debug("dropped a malformed MH message from {0}: {1}", received.Source, error);
    }
}
