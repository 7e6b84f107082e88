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

    /// <summary>
    /// How long the authorisation step (AAA) takes before a newly attached node's first PBU, standing in
    /// for a RADIUS/Diameter exchange; a node arriving with a reflected context skips it. Zero: none.
    /// </summary>
    public TimeSpan AaaDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The receive thread's bound on waiting messages: each one taken off the mailbox gives its place back.</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveQueueBound? ReceiveQueue { get; init; }

    /// <summary>Context Reflector at this MAG: hand contexts over, take reflected ones.</summary>
    public MagReflectorSettings Reflector { get; init; } = MagReflectorSettings.Default;
}

public sealed record MagReflectorSettings
{
    public static readonly MagReflectorSettings Default = new();

    public bool Enabled { get; init; }
    /// <summary>A handover hint older than this is ignored (the node did not leave when expected).</summary>
    public TimeSpan HintLifetime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Reflected contexts kept for nodes yet to arrive; past it a reflection is refused (130).</summary>
    public int StoreCapacity { get; init; } = 10_000;
    /// <summary>How long an AAA authorisation holds (carried in the context; an expired one is not reused).</summary>
    public TimeSpan AaaValidity { get; init; } = TimeSpan.FromHours(1);
    public ContextLimits Limits { get; init; } = ContextLimits.Default;
}

public sealed partial class MagNode : ReceiveActor, IWithTimers
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
    // Context Reflector: hints (where a node goes next), the running context of each session, the
    // contexts reflected to us for nodes about to arrive, nodes waiting for AAA, nodes handed over.
    private readonly Dictionary<string, (Ipv6Address NextMag, DateTimeOffset At)> _hints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (MobileNodeContext Context, DateTimeOffset AttachedAt)> _contexts = new(StringComparer.Ordinal);
    private readonly ReflectedContextStore _arrivals;
    private readonly Dictionary<string, MobileNodeAttached> _authorizing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _handedOver = new(StringComparer.Ordinal);
    private sealed record AaaCompleted(string MobileNodeId);
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
        _arrivals = new ReflectedContextStore(settings.Reflector.StoreCapacity);

        Receive<EndpointRegistered>(r => _log.Info("MAG {0} serving, LMA {1}", r.Address, settings.Lma));
        Receive<MobileNodeAttached>(OnAttached);
        Receive<MobileNodeDetached>(d =>
        {
            _pendingAttach.Remove(d.MobileNodeId);
            if (_authorizing.Remove(d.MobileNodeId))
                Timers.Cancel(AaaTimer(d.MobileNodeId));
            if (_sessions.TryGetValue(d.MobileNodeId, out var session))
            {
                _detaching.Add(d.MobileNodeId);
                session.Tell(new MagSession.Detach(Handover(d.MobileNodeId)));
            }
        });
        Receive<HandoverHint>(OnHint);
        Receive<AaaCompleted>(done =>
        {
            if (_authorizing.Remove(done.MobileNodeId, out var attached))
                StartSession(attached, Authorized(attached.Attachment.MobileNodeId), anticipated: null);
        });
        Receive<MobilityMessageReceived>(OnMessage);
        Receive<SessionReport>(report =>
        {
            if (report.Qos is null && _contexts.TryGetValue(report.MobileNodeId, out var running))
                report = report with { Qos = running.Context.Qos };
            _reports[report.MobileNodeId] = report;
            // Subscribers (the access link) hear of the session before anything the flow handling derives from it.
            foreach (var subscriber in _subscribers)
                subscriber.Tell(report);
            OnSessionReportForFlows(report);
        });
        Receive<Terminated>(t =>
        {
            foreach (var (mn, actor) in _sessions.Where(s => s.Value.Equals(t.ActorRef)).ToList())
            {
                _sessions.Remove(mn);
                _reports.Remove(mn);
                _detaching.Remove(mn);
                _contexts.Remove(mn);
                EndFlows(mn);
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
        if (_authorizing.ContainsKey(mn))
            return;
        var now = DateTimeOffset.UtcNow;
        if (_settings.Reflector.Enabled && _arrivals.Take(mn, now) is { } arrival && arrival.Context.Aaa is { } aaa && aaa.IsValid(now))
        {
            ArriveWithContext(attached, arrival);
            return;
        }
        if (_settings.AaaDelay > TimeSpan.Zero)
        {
            // The authorisation round trip (AAA) every node without a reflected context waits for.
            _authorizing[mn] = attached;
            _counters.Increment("aaa_requests_total");
            Timers.StartSingleTimer(AaaTimer(mn), new AaaCompleted(mn), _settings.AaaDelay);
            return;
        }
        StartSession(attached, Authorized(mn), anticipated: null);
    }

    private static string AaaTimer(string mn) => "aaa-" + mn;

    /// <summary>The context an authorisation (AAA) gives a node: authorised now, the QoS profile of its policy.</summary>
    private MobileNodeContext Authorized(string mn)
    {
        var qos = _settings.Policies?.Find(mn)?.Qos;
        return new MobileNodeContext(new AaaSession(DateTimeOffset.UtcNow, _settings.Reflector.AaaValidity), qos, AccountingCounters.Zero, null);
    }

    /// <summary>
    /// A node arrives whose context the LMA reflected to us: no AAA round trip, the QoS profile and
    /// accounting carried on, and its prefixes known — routes and Router Advertisement at once, ahead of
    /// the PBA (the LMA accepts its uplink from us while it holds the Context Cache Entry).
    /// </summary>
    private void ArriveWithContext(MobileNodeAttached attached, ReflectedArrival arrival)
    {
        var mn = arrival.MobileNodeId;
        _counters.Increment("context_arrivals_total", "result", "used");
        var context = arrival.Context with { Accounting = arrival.Context.Accounting with { Handovers = arrival.Context.Accounting.Handovers + 1 } };
        _log.Info("{0} arrived with a reflected context: AAA skipped, prefixes {1}, QoS {2}, attached {3:F1} s over {4} handovers so far",
            mn, string.Join(",", arrival.Prefixes), context.Qos?.ToString() ?? "none", context.Accounting.AttachedTime.TotalSeconds, context.Accounting.Handovers);
        var attachment = attached.Attachment with { KnownPrefixes = arrival.Prefixes, Handoff = HandoffIndicator.HandoffBetweenMagsForSameInterface };
        StartSession(new MobileNodeAttached(attachment), context, anticipated: arrival);
    }

    private void StartSession(MobileNodeAttached attached, MobileNodeContext context, ReflectedArrival? anticipated)
    {
        var mn = attached.Attachment.MobileNodeId;
        var name = Uri.EscapeDataString(mn);
        var session = Context.ActorOf(MagSession.Props(attached.Attachment, _settings.Address, _settings.Lma, _sequence, _settings.Session, _dataplane, _counters), name);
        _sequence = unchecked((ushort)(_sequence + 64));
        Context.Watch(session);
        _sessions[mn] = session;
        _contexts[mn] = (context, DateTimeOffset.UtcNow);
        _accessLinkOf[mn] = attached.Attachment.IfIndex;
        _handedOver.Remove(mn);
        if (anticipated is not null)
            Self.Tell(new SessionReport(mn, MagSessionPhase.Anticipated, anticipated.Prefixes, anticipated.ExpiresAt - DateTimeOffset.UtcNow,
                "registering from a reflected context"));
    }

    private void OnHint(HandoverHint hint)
    {
        if (!_settings.Reflector.Enabled)
        {
            Sender.Tell(new HintAnswer(false, "the Context Reflector is off at this MAG (context-reflector.enabled)"));
            return;
        }
        if (hint.NextMag == _settings.Address)
        {
            Sender.Tell(new HintAnswer(false, $"{hint.NextMag} is this MAG"));
            return;
        }
        var now = DateTimeOffset.UtcNow;
        // Hints for nodes that never left, and hand-overs the LMA never revoked (it fell back), go after a while:
        // neither table grows with nodes that are gone.
        Prune(_hints, h => now - h.At > _settings.Reflector.HintLifetime);
        Prune(_handedOver, at => now - at > HandedOverRetention);
        _hints[hint.MobileNodeId] = (hint.NextMag, now);
        _counters.Increment("handover_hints_total");
        var serving = _sessions.ContainsKey(hint.MobileNodeId);
        _log.Info("{0}: handover hint, next MAG {1}{2}", hint.MobileNodeId, hint.NextMag, serving ? "" : " (not attached here yet)");
        Sender.Tell(new HintAnswer(true, serving ? null : "the node is not attached here yet; the hint is kept"));
    }

    /// <summary>Longest a CCE can live at the LMA (context-reflector.context-lifetime's upper bound): no revocation comes later.</summary>
    private static readonly TimeSpan HandedOverRetention = TimeSpan.FromMinutes(10);

    private static void Prune<T>(Dictionary<string, T> table, Func<T, bool> stale)
    {
        foreach (var key in table.Where(e => stale(e.Value)).Select(e => e.Key).ToList())
            table.Remove(key);
    }

    /// <summary>The context the node's de-registration carries, when a live hint names its next MAG.</summary>
    private ReflectedContext? Handover(string mn)
    {
        if (!_hints.Remove(mn, out var hint) || !_settings.Reflector.Enabled)
            return null;
        var now = DateTimeOffset.UtcNow;
        if (now - hint.At > _settings.Reflector.HintLifetime || !_contexts.TryGetValue(mn, out var running))
        {
            _counters.Increment("handover_hints_unused_total", "reason", "expired");
            return null;
        }
        var accounting = running.Context.Accounting with { AttachedTime = running.Context.Accounting.AttachedTime + (now - running.AttachedAt) };
        _handedOver[mn] = now;
        _counters.Increment("context_handovers_total");
        return new ReflectedContext(hint.NextMag, (running.Context with { Accounting = accounting }).ToItems());
    }

    /// <summary>Context Reflection from our LMA: store the context for the node about to arrive and acknowledge.</summary>
    private void OnContextReflection(MobilityHeader mh, Ipv6Address source)
    {
        if (!ContextReflection.TryDecode(mh, out var reflection, out var error, contextLimits: _settings.Reflector.Limits))
        {
            _counters.Increment("mh_decode_errors_total", "reason", error.ReasonName);
            _log.Debug("dropped a malformed Context Reflection from {0}: {1}", source, error);
            return;
        }
        var mn = reflection.MobileNodeId.ToString();
        if (source != _settings.Lma)
        {
            _counters.Increment("mh_ignored_total", "type", "reflection-not-from-lma");
            return;
        }
        var now = DateTimeOffset.UtcNow;
        var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>();
        foreach (var hnp in reflection.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
        var items = ImmutableArray.CreateBuilder<ContextBlob>();
        var walk = ContextItems.Of(reflection.Options, _settings.Reflector.Limits);
        while (walk.MoveNext())
            if (walk.Current.Type == ContextItemType.ContextData)
                items.Add(new ContextBlob(walk.Current.Feature, [.. walk.Current.Blob]));
        string? why = null;
        var status = !_settings.Reflector.Enabled ? ContextReflectionStatus.NotAuthorized
            : _settings.Policies is { } policies && policies.Find(mn) is null ? ContextReflectionStatus.NotAuthorized
            : !MobileNodeContext.TryFrom(items.ToImmutable(), out var context, out why) ? ContextReflectionStatus.ReasonUnspecified
            : !_arrivals.TryStore(new ReflectedArrival(mn, prefixes.ToImmutable(), context, reflection.Sequence, now,
                now + TimeSpan.FromSeconds(reflection.LifetimeSeconds)), now) ? ContextReflectionStatus.InsufficientResources
            : ContextReflectionStatus.Accepted;
        _counters.Increment("context_reflections_received_total", "status", ((byte)status).ToString());
        if (status == ContextReflectionStatus.Accepted)
            _log.Info("{0}: context reflected by LMA {1} ({2} items, {3} s); waiting for the node", mn, source, items.Count, reflection.LifetimeSeconds);
        else
            _log.Warning("{0}: Context Reflection refused ({1}{2})", mn, status, why is null ? "" : ": " + why);
        var w = MobilityHeaderWriter.ContextReflectionAcknowledgement(_buffer);
        WireText.WriteMobileNodeIdentifier(ref w, mn);
        w.ContextSequence(reflection.Sequence);
        w.ContextStatus(status);
        if (w.TryFinish(out var length))
            Send(_buffer.AsSpan(0, length), source);
        // A node already waiting for AAA when its context arrives: it needs the round trip no longer.
        if (status == ContextReflectionStatus.Accepted && _authorizing.Remove(mn, out var waiting))
        {
            Timers.Cancel(AaaTimer(mn));
            if (_arrivals.Take(mn, now) is { } arrival)
                ArriveWithContext(waiting, arrival);
        }
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
            case MobilityHeaderType.Experimental:
                OnContextReflection(mh, received.Source);
                break;
            case MobilityHeaderType.UpdateNotification:
                OnFlowMobilityInitiate(mh, received.Source);
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
                EndFlows(mn);
                status = BindingRevocationStatus.Success;
                _log.Info("{0}: binding revoked by LMA {1} ({2})", mn, source, bri.Trigger);
            }
            else if (_handedOver.Remove(mn))
            {
                // Context Reflector: the next MAG registered the node from the context we handed over.
                status = BindingRevocationStatus.Success;
                _log.Info("{0}: previous-MAG state released; the next MAG registered it from our context ({1})", mn, bri.Trigger);
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
