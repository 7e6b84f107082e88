// The MAG's access-link actor: a thin shell around AccessLinkState. It hears link changes and node
// sightings from the dataplane and session reports from the MAG node, turns attach/detach decisions
// into MobileNodeAttached/Detached for the MAG node, routes into InstallAccessRoute/RemoveAccessRoute
// for the dataplane, and writes the Router Advertisements (RFC 4861 §4.2, RFC 5213 §6.7: unicast, the
// MN's home network prefixes only, lifetimes no longer than the binding's).
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public sealed record AccessLinkSettings(Ipv6Address Lma, AccessTechnologyType AccessTechnology)
{
    /// <summary>Router lifetime advertised (capped by the binding's remaining lifetime and RFC 4861's 9000 s).</summary>
    public TimeSpan RouterLifetime { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>Period of unsolicited Router Advertisements to each registered node.</summary>
    public TimeSpan AdvertiseInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A node silent this long is asked whether it is still there (unicast Echo Request)...</summary>
    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>...and one silent this long is detached (its de-registration goes out at once). Zero: off.</summary>
    public TimeSpan LivenessTimeout { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>MTU advertised to nodes: the tunnel's inner MTU, so nothing needs fragmenting (RFC 2473 §7).</summary>
    public uint Mtu { get; init; } = 1460;
}

public sealed class AccessLink : ReceiveActor, IWithTimers
{
    private sealed record ProbeDue;
    private sealed record AdvertiseDue;
    private sealed record LivenessDue;

    private readonly AccessLinkSettings _settings;
    private readonly IActorRef _mag;
    private readonly IActorRef _dataplane;
    private readonly IPolicyStore? _policies;
    private readonly Counters _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, DateTime> _lastRefusal = new(StringComparer.Ordinal);
    private readonly byte[] _buffer = new byte[1280];
    private AccessLinkState _state = AccessLinkState.Empty;

    /// <summary>Access links whose downlink is shaped, and the rate.</summary>
    private readonly Dictionary<int, uint> _shaped = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public AccessLink(AccessLinkSettings settings, IActorRef mag, IActorRef dataplane, IPolicyStore? policies, Counters counters)
    {
        _settings = settings;
        _mag = mag;
        _dataplane = dataplane;
        _policies = policies;
        _counters = counters;
        Receive<AccessLinkChanged>(c => Run(_state.OnLink(c.IfIndex, c.Name, c.Usable, c.Gone, c.LinkLayerAddress, DateTimeOffset.UtcNow)));
        Receive<AccessNodeSeen>(s => Run(_state.OnNodeSeen(s.IfIndex, s.LinkLayerAddress, s.LinkLocal, s.SolicitedRouter, Identify, DateTimeOffset.UtcNow)));
        Receive<AccessNeighborFailed>(f => Run(_state.OnNeighborFailed(f.IfIndex, f.Address)));
        Receive<SessionReport>(r =>
        {
            Run(_state.OnSession(r.MobileNodeId, r.Phase, r.Prefixes, r.Lifetime, DateTimeOffset.UtcNow));
            Shape(r);
            if (r.RoundTrip is { } rtt && _seen.Remove(r.MobileNodeId, out var seen))
                Timed(new AttachTiming(r.MobileNodeId, seen.Link, seen.At, DateTimeOffset.UtcNow - seen.At, rtt));
        });
        Receive<SharedPrefixesChanged>(c => Run(_state.OnSharedPrefixes(c.MobileNodeId, c.Prefixes, DateTimeOffset.UtcNow)));
        Receive<GetAttachTimings>(_ => Sender.Tell(_timings.ToArray()));
        Receive<ProbeDue>(_ => Run(_state.OnProbeTimer(DateTimeOffset.UtcNow)));
        Receive<AdvertiseDue>(_ => Carry(_state.OnAdvertiseTimer(DateTimeOffset.UtcNow)));
        Receive<LivenessDue>(_ => Run(_state.OnLivenessTimer(DateTimeOffset.UtcNow, _settings.LivenessInterval, _settings.LivenessTimeout)));
        Receive<GetAccessLinks>(_ => Sender.Tell(_state));
    }

    public sealed record GetAccessLinks;

    /// <summary>The most recent attachments with their timing, newest first.</summary>
    public sealed record GetAttachTimings;

    /// <summary>
    /// One attachment: when the node was first seen on its link, and how long until its Router Advertisement
    /// left (<see cref="SeenToAdvertised"/>), of which <see cref="RoundTrip"/> was the PBU→PBA exchange with the LMA.
    /// </summary>
    public sealed record AttachTiming(string MobileNodeId, string Link, DateTimeOffset SeenAt, TimeSpan SeenToAdvertised, TimeSpan RoundTrip)
    {
        public TimeSpan Processing => SeenToAdvertised - RoundTrip;
    }

    private const int KeptTimings = 64;
    private readonly Dictionary<string, (DateTimeOffset At, string Link)> _seen = new(StringComparer.Ordinal);
    private readonly LinkedList<AttachTiming> _timings = new();

    public static Props Props(AccessLinkSettings settings, IActorRef mag, IActorRef dataplane, IPolicyStore? policies, Counters counters) =>
        Akka.Actor.Props.Create(() => new AccessLink(settings, mag, dataplane, policies, counters));

    protected override void PreStart()
    {
        _dataplane.Tell(new RegisterAccessEndpoint());
        _mag.Tell(new SubscribeSessionReports());
        Timers.StartPeriodicTimer("advertise", new AdvertiseDue(), _settings.AdvertiseInterval);
        if (_settings.LivenessTimeout > TimeSpan.Zero)
            Timers.StartPeriodicTimer("liveness", new LivenessDue(), TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 50, _settings.LivenessInterval.Ticks / 2)));
    }

    /// <summary>The node's QoS profile on its access link: its downlink rate while registered, lifted when it goes.</summary>
    private void Shape(SessionReport r)
    {
        if (_state.Ports.Values.FirstOrDefault(p => p.MobileNodeId == r.MobileNodeId) is not { } port)
            return;
        var wanted = r.Phase is MagSessionPhase.Registered or MagSessionPhase.Refreshing or MagSessionPhase.Anticipated ? r.Qos?.DownlinkKbps ?? 0 : 0;
        var current = _shaped.GetValueOrDefault(port.IfIndex);
        if (wanted == current)
            return;
        if (wanted == 0)
            _shaped.Remove(port.IfIndex);
        else
            _shaped[port.IfIndex] = wanted;
        _log.Info("{0}: downlink on {1} {2}", r.MobileNodeId, port.Name, wanted == 0 ? "no longer limited" : $"limited to {wanted} kbit/s (QoS profile)");
        _dataplane.Tell(new ShapeAccessLink(r.MobileNodeId, port.IfIndex, port.Name, wanted));
    }

    private string? Identify(byte[] linkLayer) => _policies?.MobileNodeIdFor(linkLayer);

    private void Run((AccessLinkState State, ImmutableArray<AccessEffect> Effects) step)
    {
        _state = step.State;
        Carry(step.Effects);
        if (_state.NextProbeDue is { } due)
        {
            var wait = due - DateTimeOffset.UtcNow;
            Timers.StartSingleTimer("probe", new ProbeDue(), wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        }
        else
            Timers.Cancel("probe");
    }

    private void Carry(ImmutableArray<AccessEffect> effects)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case AccessEffect.Probe p:
                    _counters.Increment("access_probes_total");
                    if (p.Destination is null && _state.Ports.TryGetValue(p.IfIndex, out var port) && TryWriteRouterAnnouncement(_buffer, port.RouterLinkLayerAddress, out var length))
                    {
                        // A node that sent while its link was away holds its router's neighbour entry INCOMPLETE or FAILED
                        // and retries only after RetransTimer (1 s): our probe's answer would wait that long. An
                        // unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) resolves the entry at once.
                        _counters.Increment("access_neighbor_advertisements_sent_total");
                        _dataplane.Tell(new SendAccessMessage(p.IfIndex, AllNodes, _buffer[..length]));
                    }
                    _dataplane.Tell(new ProbeAccessLink(p.IfIndex, p.Destination));
                    break;
                case AccessEffect.Attach a:
                    _counters.Increment("access_attach_total");
                    _seen[a.MobileNodeId] = (DateTimeOffset.UtcNow, NameOf(a.IfIndex));
                    _log.Info("{0} attached on access link {1} (link-layer {2})", a.MobileNodeId, NameOf(a.IfIndex), Convert.ToHexString(a.LinkLayerAddress));
                    // The MAG cannot tell a handover from a first attach: handoff state unknown (RFC 5213 §5.4.1.2);
                    // the link-layer identifier lets the LMA find the session that moved.
                    _mag.Tell(new MobileNodeAttached(new Attachment(a.MobileNodeId, Convert.ToHexString(a.LinkLayerAddress), _settings.AccessTechnology,
                        HandoffIndicator.HandoffStateUnknown, a.LinkLocal.IsLinkLocal ? a.LinkLocal : null) { IfIndex = a.IfIndex }));
                    break;
                case AccessEffect.Detach d:
                    _counters.Increment("access_detach_total", "reason", d.Why);
                    _log.Info("{0} detached from access link {1}: {2}", d.MobileNodeId, d.IfIndex, d.Why);
                    _mag.Tell(new MobileNodeDetached(d.MobileNodeId));
                    break;
                case AccessEffect.InstallRoutes i:
                    _dataplane.Tell(new InstallAccessRoute(i.MobileNodeId, [.. i.Prefixes], i.IfIndex, _settings.Lma));
                    break;
                case AccessEffect.RemoveRoutes r:
                    _dataplane.Tell(new RemoveAccessRoute(r.MobileNodeId, [.. r.Prefixes], r.IfIndex, _settings.Lma));
                    break;
                case AccessEffect.Advertise a:
                    if (TryWriteAdvertisement(a, out var message))
                    {
                        _counters.Increment("router_advertisements_sent_total");
                        _dataplane.Tell(new SendAccessMessage(a.IfIndex, a.Destination, message));
                    }
                    break;
                case AccessEffect.Refused r:
                    _counters.Increment("attach_refused_total", "reason", "unknown-link-layer-id");
                    var now = DateTime.UtcNow;
                    if (!_lastRefusal.TryGetValue(r.LinkLayerId, out var last) || now - last > TimeSpan.FromMinutes(1))
                    {
                        _lastRefusal[r.LinkLayerId] = now;
                        _log.Warning("node {0} on access link {1} not attached: {2} (counted in attach_refused_total, logged once a minute)", r.LinkLayerId, NameOf(r.IfIndex), r.Why);
                    }
                    break;
            }
        }
    }

    private void Timed(AttachTiming timing)
    {
        // RS/probe answer seen -> RA sent, less the LMA round trip: the MAG's own share (target under 2 ms).
        _counters.Observe("access_attach_to_ra_seconds", timing.SeenToAdvertised.TotalSeconds);
        _counters.Observe("access_attach_processing_seconds", Math.Max(0, timing.Processing.TotalSeconds));
        _timings.AddFirst(timing);
        if (_timings.Count > KeptTimings)
            _timings.RemoveLast();
    }

    private string NameOf(int ifIndex) => _state.Ports.TryGetValue(ifIndex, out var p) ? $"{p.Name} ({ifIndex})" : ifIndex.ToString();

    private bool TryWriteAdvertisement(AccessEffect.Advertise a, out byte[] message)
    {
        if (!TryWriteAdvertisement(_buffer, a, _settings.RouterLifetime, _settings.Mtu, out var length))
        {
            _log.Error("router advertisement for {0} prefixes does not fit {1} bytes", a.Prefixes.Length, _buffer.Length);
            message = [];
            return false;
        }
        message = _buffer[..length];
        return true;
    }

    /// <summary>
    /// The Router Advertisement for <paramref name="a"/> (RFC 4861 §4.2): the MN's prefixes on-link and for
    /// SLAAC with the binding's remaining lifetime, the tunnel MTU, and the MAG-side link-layer address.
    /// </summary>
    public static bool TryWriteAdvertisement(Span<byte> buffer, AccessEffect.Advertise a, TimeSpan routerLifetimeCap, uint mtu, out int length)
    {
        var seconds = (uint)Math.Min(a.Lifetime.TotalSeconds, uint.MaxValue - 1);
        var routerLifetime = (ushort)Math.Min(Math.Min(seconds, routerLifetimeCap.TotalSeconds), 9000);
        var w = NdWriter.RouterAdvertisement(buffer, 64, RouterAdvertisementFlags.None, routerLifetime);
        foreach (var prefix in a.Prefixes)
            w.PrefixInformation(new PrefixInformation(prefix, PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, seconds, seconds));
        w.Mtu(mtu);
        if (a.RouterLinkLayerAddress.Length > 0)
            w.SourceLinkLayerAddress(a.RouterLinkLayerAddress);
        // The kernel fills the checksum for ICMPv6 raw sockets; this one is correct for the usual source too.
        return w.TryFinish(LinkLocalOf(a.RouterLinkLayerAddress), a.Destination, out length);
    }

    private static readonly Ipv6Address AllNodes = Ipv6Address.Parse("ff02::1");

    /// <summary>
    /// Unsolicited Neighbor Advertisement of the MAG's link-local address to all nodes (RFC 4861 §4.4, §7.2.6):
    /// Router and Override set, the link-layer address as Target Link-layer Address option.
    /// </summary>
    public static bool TryWriteRouterAnnouncement(Span<byte> buffer, byte[] routerLinkLayerAddress, out int length)
    {
        length = 0;
        if (routerLinkLayerAddress.Length != 6)
            return false;
        var self = LinkLocalOf(routerLinkLayerAddress);
        var w = NdWriter.NeighborAdvertisement(buffer, NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Override, self);
        w.TargetLinkLayerAddress(routerLinkLayerAddress);
        return w.TryFinish(self, AllNodes, out length);
    }

    /// <summary>The EUI-64 link-local address the kernel derives from a 48-bit MAC (RFC 4291 appendix A).</summary>
    public static Ipv6Address LinkLocalOf(byte[] mac)
    {
        if (mac.Length != 6)
            return default;
        Span<byte> a = stackalloc byte[16];
        a[0] = 0xfe; a[1] = 0x80;
        a[8] = (byte)(mac[0] ^ 0x02); a[9] = mac[1]; a[10] = mac[2]; a[11] = 0xff; a[12] = 0xfe; a[13] = mac[3]; a[14] = mac[4]; a[15] = mac[5];
        return Ipv6Address.Read(a);
    }
}
