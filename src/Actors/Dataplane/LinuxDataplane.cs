// The node's dataplane actor on Linux: the one owner of every descriptor the node uses on the network
// (ARCHITECTURE.md): the raw Mobility Header socket; in userspace tunnel mode the TUN device and the
// IPv6-in-IPv6 socket (UserspaceTunnel, with its own forwarding threads); the rtnetlink socket that
// programs routes and rules; and at a MAG the raw ICMPv6 socket and the rtnetlink monitor of its
// access links. Receive threads turn what they read into messages to this actor, which hands them to
// the registered control-plane endpoints; every syscall that changes state happens on the actor.
using System.Buffers.Binary;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

/// <summary>The MAG's access side: the ICMPv6 socket for RS/NS/echo replies and RAs, the link monitor, and which devices are access links.</summary>
public sealed record AccessLinkResources(IcmpV6Socket Icmp, LinkMonitor Links, Func<string, bool> IsAccessInterface)
{
    /// <summary>Routing table holding the default route into the tunnel for the MNs' uplink (RFC 5213 §6.10.3, source-based).</summary>
    public int UplinkTable { get; init; } = 5213;
    public int RulePriority { get; init; } = 1000;
    /// <summary>
    /// The tunnel device's index (0: none). Each node's prefixes also get a fallback route into it, at a metric
    /// below the access route's priority: when the node's link vanishes the kernel removes the access route at
    /// once and sends what is still on its way to the tunnel, which returns it to the LMA (issue 6) — instead of
    /// dropping it as unroutable until the link event has come round to this actor.
    /// </summary>
    public int TunnelIfIndex { get; init; }

    /// <summary>Metric of the fallback route (the access route has the kernel's default, 1024).</summary>
    public const int FallbackMetric = 4096;
}

public sealed record LinuxDataplaneResources(MobilityHeaderSocket MobilityHeader) : IDisposable
{
    public UserspaceTunnel? Tunnel { get; init; }
    public RouteNetlink? Routes { get; init; }
    public AccessLinkResources? Access { get; init; }
    /// <summary>The LMA's handover buffer (NFQUEUE), when buffering is on.</summary>
    public HandoverBuffering? Buffering { get; init; }
    /// <summary>Flood limits applied on the MH receive thread before a message becomes an actor message (issue 10).</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveAdmission? Admission { get; init; }
    /// <summary>The bound on received messages waiting in the node's actors (the guard's and the protocol handler's mailboxes).</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveQueueBound? ReceiveQueue { get; init; }
    /// <summary>
    /// With authenticated signalling: the node's authenticator (shared with its SignallingGuard, which protects what the
    /// node sends and reloads the keys). The receive thread checks every message with it before the message becomes an
    /// actor message, so a forged, unknown-SPI or replayed one costs one check and is dropped there, never queued in
    /// front of a legitimate one (bench flood measured the guard's mailbox at ~1,000 under 10,000 bad messages/s).
    /// </summary>
    public Pmip6Akka.Dataplane.Security.SignallingAuthenticator? Authenticator { get; init; }
    /// <summary>A PM QoS CPU wake-up latency request held for the node's life (tunnel.cpu-latency-limit).</summary>
    public CpuLatencyRequest? CpuLatency { get; init; }
    /// <summary>
    /// The thread-safe sender over <see cref="MobilityHeader"/> that the daemon hands to actors which answer without a
    /// hop through the dataplane actor (the LMA's buckets); the dataplane actor sends through it too and closes it before
    /// the socket. Null: the dataplane actor makes its own.
    /// </summary>
    public MobilityHeaderSender? Sender { get; init; }

    /// <summary>Closes everything (for a start-up that fails before the dataplane actor takes them over).</summary>
    public void Dispose()
    {
        Sender?.Close();
        Buffering?.Dispose();
        Tunnel?.Dispose();
        CpuLatency?.Dispose();
        Access?.Icmp.Dispose();
        Access?.Links.Dispose();
        Routes?.Dispose();
        MobilityHeader.Dispose();
    }
}

public sealed partial class LinuxDataplane : ReceiveActor, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    private const int MainTable = 254;
    private static readonly Ipv6Address AllNodes = Ipv6Address.Parse("ff02::1");

    private readonly LinuxDataplaneResources _resources;
    private readonly MobilityHeaderSocket _socket;
    private readonly MobilityHeaderSender _sender;
    private readonly Counters _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _endpoint = ActorRefs.Nobody;
    private IActorRef _access = ActorRefs.Nobody;
    private readonly Dictionary<string, DateTime> _lastRouteWarning = new(StringComparer.Ordinal);
    private readonly HashSet<int> _accessLinks = [];
    // What this node programmed into the kernel for its MNs (prefix -> access link), withdrawn at shutdown.
    private readonly Dictionary<Ipv6Prefix, int> _accessRoutes = new();
    private readonly List<Thread> _threads = [];
    private readonly byte[] _probe = new byte[8];
    private ushort _probeSequence;
    private volatile bool _stopping;

    private sealed record EchoReplyFrom(int IfIndex, Ipv6Address Source);
    private sealed record ForgetDeparted(Ipv6Prefix Prefix, Ipv6Address Lma);

    /// <summary>How long a MAG returns downlink for an MN that left (to the LMA's handover buffer) before dropping it.</summary>
    public static readonly TimeSpan DepartedHoldTime = TimeSpan.FromSeconds(2);
    private sealed record LinkEvent(NetlinkEvent Event);

    /// <summary>Takes ownership of opened resources (open them before starting the actor system so a failure stops the daemon at once).</summary>
    public LinuxDataplane(LinuxDataplaneResources resources, Counters counters)
    {
        _resources = resources;
        _socket = resources.MobilityHeader;
        _counters = counters;
        _sender = resources.Sender ?? new MobilityHeaderSender(_socket, counters, _log);
        Receive<RegisterEndpoint>(r =>
        {
            _endpoint = Sender;
            Sender.Tell(new EndpointRegistered(r.Address));
        });
        Receive<SendMobilityMessage>(SendMobility);
        Receive<InstallBinding>(InstallBinding);
        Receive<RemoveBinding>(RemoveBinding);
        Receive<AcceptUplink>(AcceptUplink);
        Receive<RouteSlice>(RouteSliceIntoTunnel);
        Receive<AnnounceSharedAddress>(Announce);
        Receive<InjectUplink>(i => _resources.Tunnel?.InjectRelayed(i.Packet, i.From));
        Receive<ShapeAccessLink>(Shape);
        Receive<ShapingDone>(d =>
        {
            _counters.Increment("access_shaping_total", "result", d.Error is null ? "ok" : "failed");
            if (d.Error is not null)
                _log.Warning("{0}: QoS profile not applied on {1}: {2}", d.Request.MobileNodeId, d.Request.Device, d.Error);
        });
        Receive<PinFlow>(PinFlow);
        Receive<FlowPinsDue>(_ => ReportEndedPins());
        Receive<BufferDownlink>(b =>
        {
            if (_resources.Buffering is not { } buffering)
                return;
            if (!buffering.Begin(b.MobileNodeId, b.Prefixes))
            {
                _counters.Increment("buffering_skipped_total", "reason", "rule-backlog");
                if (_bufferingSkips.ShouldLog("rule-backlog", DateTimeOffset.UtcNow, out var skipped))
                    _log.Warning("{0}: downlink not held: {1} buffering rule changes already wait for ip6tables ({2} nodes not held since the last line)",
                        b.MobileNodeId, buffering.PendingRuleWork, skipped);
                return;
            }
            _counters.Increment("buffering_started_total");
            _log.Info("{0}: holding downlink for {1} until its next binding", b.MobileNodeId, string.Join(",", b.Prefixes.Select(p => p.ToString())));
        });
        Receive<RegisterAccessEndpoint>(_ => RegisterAccess());
        Receive<InstallAccessRoute>(InstallAccessRoute);
        Receive<RemoveAccessRoute>(RemoveAccessRoute);
        Receive<ProbeAccessLink>(p => SendProbe(p.IfIndex, p.Destination ?? AllNodes));
        Receive<SendAccessMessage>(m => SendIcmp(m.Message, m.Destination, m.IfIndex, "access_messages"));
        Receive<AccessNodeSeen>(s => _access.Tell(s));
        Receive<EchoReplyFrom>(OnEchoReply);
        Receive<ForgetDeparted>(OnForgetDeparted);
        Receive<LinkEvent>(e => OnLinkEvent(e.Event));
    }

    private readonly Pmip6Akka.Dataplane.Linux.AccessShaper _shaper = new();
    private Task _shaping = Task.CompletedTask;

    public LinuxDataplane(MobilityHeaderSocket socket, Counters counters) : this(new LinuxDataplaneResources(socket), counters)
    {
    }

    public static Props Props(MobilityHeaderSocket socket, Counters counters) =>
        Akka.Actor.Props.Create(() => new LinuxDataplane(new LinuxDataplaneResources(socket), counters));

    public static Props Props(LinuxDataplaneResources resources, Counters counters) =>
        Akka.Actor.Props.Create(() => new LinuxDataplane(resources, counters));

    protected override void PreStart()
    {
        var self = Self;
        Spawn("mh-receive", () => ReceiveMobility(self));
        _resources.Tunnel?.Start();
        _resources.Buffering?.Start();
        if (_resources.Access is { } access)
        {
            Spawn("access-icmp", () => ReceiveAccess(access.Icmp, self));
            Spawn("access-links", () => MonitorLinks(access.Links, self));
        }
    }

    protected override void PostStop()
    {
        _stopping = true;
        foreach (var thread in _threads)
            thread.Join(TimeSpan.FromSeconds(2));
        // A stopped MAG leaves no source rule pointing its MNs' uplink at a tunnel that is gone.
        if (_resources.Routes is { } routes && _resources.Access is { } access)
            foreach (var (prefix, ifIndex) in _accessRoutes)
            {
                routes.TryDeleteSourceRule(prefix, access.UplinkTable, access.RulePriority, out _);
                routes.TryDeleteRoute(prefix, ifIndex, MainTable, out _);
            }
        _sender.Close();
        _resources.Dispose();
    }

    private void Spawn(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    // ---- signalling ----

    private void SendMobility(SendMobilityMessage m) => _sender.Send(m.Message, m.Source, m.Destination);

    private void ReceiveMobility(IActorRef self)
    {
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        while (!_stopping)
        {
            var n = _socket.Receive(buffer, out var source, out var destination, out _, out var errno);
            if (n < 0)
            {
                if (MobilityHeaderSocket.IsTransientReceiveError(errno))
                    continue;
                if (_stopping)
                    return;
                _counters.Increment("mh_receive_errors_total", "errno", Errno.Name(errno));
                Thread.Sleep(10);
                continue;
            }
            _counters.Increment("mh_received_total");
            var receivedAt = DateTimeOffset.UtcNow;
            // Authentication before admission: what fails the check is dropped without spending anybody's tokens, and a
            // peer's bucket is charged only by messages that verified as its own (ReceiveAdmission).
            var verified = true;
            if (_resources.Authenticator is { } authenticator)
            {
                var outcome = Authenticate(authenticator, buffer.AsSpan(0, n), source, destination, receivedAt);
                if (!Pmip6Akka.Dataplane.Security.AuthenticationOutcomes.IsAccepted(outcome))
                    continue;
                verified = outcome == Pmip6Akka.Dataplane.Security.AuthenticationOutcome.Accepted;
            }
            if (_resources.Admission is { } admission && Admit(admission, source, verified) is var scope and not Pmip6Akka.Dataplane.Security.AdmissionScope.Admitted)
            {
                _counters.Increment("mh_rate_limited_total", "scope", Pmip6Akka.Dataplane.Security.ReceiveAdmission.ScopeName(scope));
                continue;
            }
            if (_resources.ReceiveQueue is { } queue && !queue.TryEnter())
            {
                _counters.Increment("mh_receive_queue_dropped_total");
                continue;
            }
            _endpoint.Tell(new MobilityMessageReceived(buffer.AsSpan(0, n).ToArray(), source, destination, receivedAt, _resources.Authenticator is not null), self);
        }
    }

    // One per thread: _rejections on the receive thread, _bufferingSkips on the actor's.
    private readonly RateLimitedLog _rejections = new(TimeSpan.FromMinutes(1));
    private readonly RateLimitedLog _bufferingSkips = new(TimeSpan.FromMinutes(1));

    /// <summary>Without authentication every message is admitted as its source's (<paramref name="verified"/> stays true).</summary>
    private static Pmip6Akka.Dataplane.Security.AdmissionScope Admit(Pmip6Akka.Dataplane.Security.ReceiveAdmission admission, Ipv6Address source, bool verified)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        return verified ? admission.Admit(source, now) : admission.AdmitUnverified(source, now);
    }

    /// <summary>On the receive thread: the check the SignallingGuard makes for in-memory networks, counted and logged the same way.</summary>
    private Pmip6Akka.Dataplane.Security.AuthenticationOutcome Authenticate(Pmip6Akka.Dataplane.Security.SignallingAuthenticator authenticator, ReadOnlySpan<byte> message, Ipv6Address source,
        Ipv6Address destination, DateTimeOffset receivedAt)
    {
        var outcome = authenticator.Check(message, source, destination, receivedAt, out var error);
        if (Pmip6Akka.Dataplane.Security.AuthenticationOutcomes.IsAccepted(outcome))
        {
            _counters.Increment("mh_auth_accepted_total", "protection", outcome == Pmip6Akka.Dataplane.Security.AuthenticationOutcome.Accepted ? "protected" : "unprotected");
            return outcome;
        }
        var reason = Pmip6Akka.Dataplane.Security.AuthenticationOutcomes.Name(outcome);
        _counters.Increment("mh_auth_rejected_total", "reason", reason);
        if (_rejections.ShouldLog(reason, receivedAt, out var count))
            _log.Warning("dropped Mobility Header message from {0} to {1}: {2}{3} ({4} of this reason since the last line)",
                source, destination, reason, error.IsError ? $" ({error})" : "", count);
        return outcome;
    }

    // ---- LMA: bindings steer the tunnel ----

    private void InstallBinding(InstallBinding i)
    {
        _counters.Increment("dataplane_bindings_installed_total");
        if (_resources.Tunnel is { } tunnel)
            foreach (var prefix in i.Prefixes)
                tunnel.Forwarder.Table.Set(prefix, i.ProxyCoa);
        // After the route change: what was held for the node now leaves through its new tunnel.
        if (_resources.Buffering?.Release(i.MobileNodeId) == true)
        {
            _counters.Increment("buffering_flushes_total");
            _log.Info("{0}: new binding via {1}; releasing its held downlink", i.MobileNodeId, i.ProxyCoa);
        }
        else if (_resources.Buffering?.Rebound(i.Prefixes) is > 0 and var rebound)
        {
            _counters.Increment("buffering_returned_rebound_total", by: rebound);
            _log.Info("{0}: new binding via {1}; {2} packets its previous MAG returned go there", i.MobileNodeId, i.ProxyCoa, rebound);
        }
        if (_log.IsDebugEnabled)
            _log.Debug("binding {0}/{1}: {2} via {3}", i.MobileNodeId, i.SessionId, string.Join(",", i.Prefixes.Select(p => p.ToString())), i.ProxyCoa);
    }

    /// <summary>Cluster: a bucket that runs here draws its prefix slice's downlink into the tunnel (protocol 99, announced by the routing daemon).</summary>
    private void RouteSliceIntoTunnel(RouteSlice r)
    {
        if (_resources.Routes is not { } routes || _resources.Tunnel is not { } tunnel)
            return;
        var index = RouteNetlink.InterfaceIndex(tunnel.DeviceName);
        var done = index > 0 && (r.Routed ? routes.TryAddRoute(r.Slice, index, MainTable, out var errno) : routes.TryDeleteRoute(r.Slice, index, MainTable, out errno));
        _counters.Increment("slice_routes_total", "change", (r.Routed ? "added" : "removed") + (done ? "" : "-failed"));
        if (!done)
            _log.Warning("bucket {0}: could not {1} the route of its slice {2} (dev {3})", r.Bucket, r.Routed ? "add" : "remove", r.Slice, tunnel.DeviceName);
        else if (_log.IsDebugEnabled)
            _log.Debug("bucket {0}: slice {1} {2}", r.Bucket, r.Slice, r.Routed ? "routed here" : "no longer routed here");
    }

    private void Announce(AnnounceSharedAddress a)
    {
        if (_resources.Routes is not { } routes || _resources.Tunnel is not { } tunnel)
            return;
        var index = RouteNetlink.InterfaceIndex(tunnel.DeviceName);
        var address = new Pmip6Akka.Dataplane.Wire.Ipv6Prefix(a.Address, 128);
        var errno = 0;
        if (index > 0 && routes.TryAddRoute(address, index, MainTable, out errno))
            _log.Info("serving: {0} routed into {1} (protocol 99), for the routing daemon to announce", address, tunnel.DeviceName);
        else
            _log.Warning("could not route the shared LMA address {0} into {1} (errno {2}): the routing daemon will not announce this node",
                address, tunnel.DeviceName, errno);
    }

    private sealed record ShapingDone(ShapeAccessLink Request, string? Error);

    /// <summary>tc runs as a process: off the actor's thread, one change after another in arrival order.</summary>
    private void Shape(ShapeAccessLink s)
    {
        if (_resources.Access is null)
            return;
        var self = Self;
        _shaping = _shaping.ContinueWith(_ =>
        {
            var ok = s.DownlinkKbps > 0 ? _shaper.TryShape(s.Device, s.DownlinkKbps, out var error) : _shaper.TryClear(s.Device, out error);
            self.Tell(new ShapingDone(s, ok ? null : error));
        }, TaskScheduler.Default);
    }

    private void AcceptUplink(AcceptUplink a)
    {
        if (_resources.Tunnel is not { } tunnel)
            return;
        var also = a.AlsoFrom.IsDefault ? [] : a.AlsoFrom;
        foreach (var prefix in a.Prefixes)
            tunnel.Forwarder.Alternates.Set(prefix, also);
        _log.Info("{0}: uplink of {1} {2}", a.MobileNodeId, string.Join(",", a.Prefixes),
            also.IsEmpty ? "from its binding's MAG only" : $"also accepted from {string.Join(", ", also)}");
    }

    private void RemoveBinding(RemoveBinding r)
    {
        _counters.Increment("dataplane_bindings_removed_total");
        if (_resources.Tunnel is { } tunnel)
            foreach (var prefix in r.Prefixes)
            {
                tunnel.Forwarder.Table.Remove(prefix);
                tunnel.Forwarder.Alternates.Remove(prefix);
            }
        _resources.Buffering?.Discard(r.MobileNodeId, r.Prefixes, "session removed");
    }

    // ---- MAG: access links ----

    private void RegisterAccess()
    {
        _access = Sender;
        if (_resources.Access is not { } access || _resources.Routes is not { } routes)
            return;
        // Links already up when the daemon starts are reported like new ones.
        foreach (var link in routes.DumpLinks())
            if (access.IsAccessInterface(link.Name))
            {
                _accessLinks.Add(link.Index);
                _accessLinkNames[link.Index] = link.Name;
                _access.Tell(new AccessLinkChanged(link.Index, link.Name, link.IsUp && link.HasCarrier && link.IsRunning, false, link.LinkLayerAddress));
            }
    }

    private void OnLinkEvent(NetlinkEvent e)
    {
        if (_resources.Access is not { } access)
            return;
        switch (e)
        {
            case LinkChanged link when access.IsAccessInterface(link.Name) || _accessLinks.Contains(link.Index):
                if (link.Deleted)
                    _accessLinks.Remove(link.Index);
                else
                {
                    _accessLinks.Add(link.Index);
                    _accessLinkNames[link.Index] = link.Name;
                }
                // Usable once operationally up (IFF_RUNNING, set with the qdisc's activation): a probe sent on
                // carrier alone can vanish into the not-yet-active queue.
                var usable = link.IsUp && link.HasCarrier && link.IsRunning;
                if (!usable || link.Deleted)
                    DepartLink(link.Index);
                else
                    ArriveAgain(link.Name);
                if (link.Deleted)
                    _accessLinkNames.Remove(link.Index);
                _counters.Increment("access_link_events_total", "event", link.Deleted ? "gone" : usable ? "up" : "down");
                _access.Tell(new AccessLinkChanged(link.Index, link.Name, usable, link.Deleted, link.LinkLayerAddress));
                break;
            case NeighborChanged neighbor when neighbor.State == NeighborChanged.NUD_FAILED && _accessLinks.Contains(neighbor.Index):
                _counters.Increment("access_nud_failures_total");
                _access.Tell(new AccessNeighborFailed(neighbor.Index, neighbor.Address));
                break;
        }
    }

    // The node's link is gone: from this instant its downlink goes back to the LMA (issue 6), without waiting
    // for the access-link actor's detach and route removal to come round.
    private void DepartLink(int ifIndex)
    {
        if (_resources.Tunnel?.Forwarder is not { } forwarder)
            return;
        foreach (var (prefix, index) in _accessRoutes)
        {
            if (index != ifIndex || !forwarder.Table.TryLookup(prefix.Address, out var endpoint))
                continue;
            var lma = endpoint.Remote;
            forwarder.Departed.Set(prefix, lma);
            if (_accessLinkNames.TryGetValue(ifIndex, out var name))
                _departedFrom[prefix] = name;
            forwarder.Table.Remove(prefix, onlyVia: lma);
            Timers.StartSingleTimer("departed " + prefix, new ForgetDeparted(prefix, lma), DepartedHoldTime);
        }
    }

    /// <summary>The access link (by name: in the lab, and wherever a node's point-to-point link is moved or recreated, its
    /// index changes) each departed prefix left from, while it is departed.</summary>
    private readonly Dictionary<Ipv6Prefix, string> _departedFrom = new();

    /// <summary>Access links seen, index → name (a departure by route removal names only the index).</summary>
    private readonly Dictionary<int, string> _accessLinkNames = new();

    // The link a node departed from is up again within the hold time: the node is coming back here. Its downlink must no
    // longer go back to the LMA — the LMA is about to flush it here, and a returned packet would come back behind newer
    // ones (reordered; seen in the buffering spec when a node returned to a MAG it had left 0.7 s before). Unbound, the
    // forwarder parks it until the new registration installs the route.
    private void ArriveAgain(string link)
    {
        if (_resources.Tunnel?.Forwarder is not { } forwarder || _departedFrom.Count == 0)
            return;
        foreach (var (prefix, _) in _departedFrom.Where(d => d.Value == link).ToList())
        {
            forwarder.Departed.Remove(prefix);
            _departedFrom.Remove(prefix);
            _counters.Increment("access_departures_ended_by_return_total");
        }
    }

    private void OnForgetDeparted(ForgetDeparted f)
    {
        _resources.Tunnel?.Forwarder.Departed.Remove(f.Prefix, onlyVia: f.Lma);
        if (_resources.Tunnel?.Forwarder.Departed.TryLookup(f.Prefix.Address, out _) != true)
            _departedFrom.Remove(f.Prefix);
        // Unless the node came back meanwhile (its routes are ours again), its fallback route goes too.
        if (_accessRoutes.ContainsKey(f.Prefix) || _resources.Routes is not { } routes || _resources.Access is not { TunnelIfIndex: > 0 } access)
            return;
        if (!routes.TryDeleteRoute(f.Prefix, access.TunnelIfIndex, MainTable, out var errno))
            RouteFailure("delete fallback route", f.Prefix, "(departed)", errno);
    }

    private void InstallAccessRoute(InstallAccessRoute i)
    {
        if (_resources.Routes is not { } routes || _resources.Access is not { } access)
            return;
        foreach (var prefix in i.Prefixes)
        {
            // RFC 5213 §6.10.4-5: downlink for the MN's prefixes onto its link; uplink from them into the tunnel.
            if (!routes.TryAddRoute(prefix, i.IfIndex, MainTable, out var errno))
                RouteFailure("add route", prefix, i.MobileNodeId, errno);
            if (!routes.TryAddSourceRule(prefix, access.UplinkTable, access.RulePriority, out errno))
                RouteFailure("add source rule", prefix, i.MobileNodeId, errno);
            if (access.TunnelIfIndex > 0 && !routes.TryAddRoute(prefix, access.TunnelIfIndex, MainTable, out errno, AccessLinkResources.FallbackMetric))
                RouteFailure("add fallback route", prefix, i.MobileNodeId, errno);
            _resources.Tunnel?.Forwarder.Table.Set(prefix, i.Lma);
            _resources.Tunnel?.Forwarder.Departed.Remove(prefix);
            _departedFrom.Remove(prefix);
            _accessRoutes[prefix] = i.IfIndex;
        }
        _counters.Increment("dataplane_bindings_installed_total");
    }

    private void RemoveAccessRoute(RemoveAccessRoute r)
    {
        if (_resources.Routes is not { } routes || _resources.Access is not { } access)
            return;
        foreach (var prefix in r.Prefixes)
        {
            if (_resources.Tunnel?.Forwarder is { } forwarder && forwarder.Table.IsRoutedVia(prefix, r.Lma))
            {
                // Downlink still on its way to this MAG goes back to the LMA for a while (issue 6). Departed before the
                // entry goes, as in DepartLink: a packet decapsulated in between finds one or the other, never neither.
                forwarder.Departed.Set(prefix, r.Lma);
                if (_accessLinkNames.TryGetValue(r.IfIndex, out var name))
                    _departedFrom[prefix] = name;
                forwarder.Table.Remove(prefix, onlyVia: r.Lma);
                Timers.StartSingleTimer("departed " + prefix, new ForgetDeparted(prefix, r.Lma), DepartedHoldTime);
            }
            _accessRoutes.Remove(prefix);
            if (!routes.TryDeleteSourceRule(prefix, access.UplinkTable, access.RulePriority, out var errno))
                RouteFailure("delete source rule", prefix, r.MobileNodeId, errno);
            // The device may already be gone (the MN's link moved away): its routes went with it.
            if (!routes.TryDeleteRoute(prefix, r.IfIndex, MainTable, out errno) && errno != Tmds.Linux.LibC.ENODEV)
                RouteFailure("delete route", prefix, r.MobileNodeId, errno);
            // The fallback route stays while the prefix is departed (ForgetDeparted): a packet already handed to the
            // kernel still finds its way back to the LMA.
        }
        _counters.Increment("dataplane_bindings_removed_total");
    }

    private void RouteFailure(string what, Ipv6Prefix prefix, string mn, int errno)
    {
        _counters.Increment("route_errors_total", "errno", Errno.Name(errno));
        var now = DateTime.UtcNow;
        var key = what + Errno.Name(errno);
        if (!_lastRouteWarning.TryGetValue(key, out var last) || now - last > TimeSpan.FromMinutes(1))
        {
            _lastRouteWarning[key] = now;
            _log.Warning("{0} for {1} ({2}) failed: {3} (counted in route_errors_total; logged once a minute)", what, prefix, mn, Errno.Describe(errno));
        }
    }

    private void SendProbe(int ifIndex, Ipv6Address destination)
    {
        // ICMPv6 Echo Request (RFC 4443 §4.1) to all nodes on the link: whoever is there answers from its link-local.
        _probe[0] = 128;
        _probe[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(_probe.AsSpan(2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(_probe.AsSpan(4), 5213);
        BinaryPrimitives.WriteUInt16BigEndian(_probe.AsSpan(6), ++_probeSequence);
        SendIcmp(_probe, destination, ifIndex, "access_probes");
    }

    private void SendIcmp(byte[] message, Ipv6Address destination, int ifIndex, string what)
    {
        if (_resources.Access is not { } access)
            return;
        if (access.Icmp.TrySend(message, destination, ifIndex, null, out var errno))
            _counters.Increment(what + "_sent_total");
        else
            _counters.Increment(what + "_send_errors_total", "errno", Errno.Name(errno));
    }

    private void OnEchoReply(EchoReplyFrom reply)
    {
        // The answer to a probe: the node's link-layer address is in the neighbour cache now (it had to resolve ours).
        if (_resources.Routes is not { } routes)
            return;
        Span<byte> mac = stackalloc byte[32];
        if (routes.TryFindNeighbor(reply.IfIndex, reply.Source, mac, out var length, out _) && length > 0)
        {
            _access.Tell(new AccessNodeSeen(reply.IfIndex, mac[..length].ToArray(), reply.Source, false));
            return;
        }
        // The node answered without resolving us (its cache still held our address): ask it directly, so
        // the kernel resolves it (NS/NA) and the next answer finds its link-layer address in the cache.
        _counters.Increment("access_echo_replies_unresolved_total");
        SendProbe(reply.IfIndex, reply.Source);
    }

    private void ReceiveAccess(IcmpV6Socket icmp, IActorRef self)
    {
        var buffer = new byte[2048];
        while (!_stopping)
        {
            var n = icmp.Receive(buffer, out var source, out _, out var ifIndex, out var hopLimit, out var errno);
            if (n < 0)
            {
                if (IcmpV6Socket.IsTransientReceiveError(errno))
                    continue;
                if (_stopping)
                    return;
                _counters.Increment("access_receive_errors_total", "errno", Errno.Name(errno));
                Thread.Sleep(10);
                continue;
            }
            var message = buffer.AsSpan(0, n);
            if (message[0] == (byte)Icmpv6Type.EchoReply)
            {
                if (source.IsLinkLocal)
                    self.Tell(new EchoReplyFrom(ifIndex, source));
                continue;
            }
            // RFC 4861 §6.1.1 / §7.1.1: ND messages arrive with hop limit 255 or are forged from off-link.
            if (hopLimit != 255 || !NdMessage.TryDecode(message, out var nd, out var error))
            {
                _counters.Increment("access_messages_dropped_total", "reason", hopLimit != 255 ? "hop-limit" : "malformed");
                continue;
            }
            if (nd.Type is not (Icmpv6Type.RouterSolicitation or Icmpv6Type.NeighborSolicitation) || !source.IsLinkLocal)
                continue;
            if (!nd.Options.TryGetSourceLinkLayerAddress(out var mac))
                continue;
            if (nd.Type == Icmpv6Type.RouterSolicitation)
                _counters.Increment("router_solicitations_received_total");
            self.Tell(new AccessNodeSeen(ifIndex, mac.ToArray(), source, nd.Type == Icmpv6Type.RouterSolicitation));
        }
    }

    private void MonitorLinks(LinkMonitor links, IActorRef self)
    {
        while (!_stopping)
        {
            if (links.TryReceive(out var e, out var errno))
            {
                if (e is not null)
                    self.Tell(new LinkEvent(e));
                continue;
            }
            if (LinkMonitor.IsTransientReceiveError(errno))
                continue;
            if (_stopping)
                return;
            _counters.Increment("link_monitor_errors_total", "errno", Errno.Name(errno));
            Thread.Sleep(10);
        }
    }
}
