// A whole PMIPv6 domain in one actor system for scenario specs: an LMA (protocol handler, binding
// entities, prefix pool) and MAGs, joined by the in-memory network instead of raw sockets.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public sealed class Domain
{
    public static readonly Ipv6Address LmaAddress = Ipv6Address.Parse("2001:db8:100::1");
    public static readonly Ipv6Address Mag1Address = Ipv6Address.Parse("2001:db8:1::2");
    public static readonly Ipv6Address Mag2Address = Ipv6Address.Parse("2001:db8:2::2");
    public static readonly Ipv6Address RogueMagAddress = Ipv6Address.Parse("2001:db8:66::6");
    public static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:a000::/48");

    public const string HoconForSpecs = """
        akka.loglevel = INFO
        akka.actor.serialize-messages = off
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    private readonly ActorSystem _system;
    private readonly TestKitBase _kit;
    private uint _lmaRestartCounter = 1;
    private readonly Func<string, Props> _entityProps;

    public IActorRef Network { get; }
    public IActorRef Bindings { get; }
    public IActorRef Lma { get; private set; }
    public Counters LmaCounters { get; } = new();
    public InMemoryPolicyStore Policies { get; }
    public BindingSettings BindingSettings { get; }
    public TimeSpan HeartbeatInterval { get; }
    private int _endpoints;
    private readonly Func<Ipv6Address, IKeyRingSource>? _keys;
    private readonly AuthenticationSettings _authentication;

    /// <summary>The LMA's dataplane: the network itself, or the LMA's SignallingGuard in front of it when keys are given.</summary>
    public IActorRef LmaDataplane { get; }

    /// <param name="keys">With it, every node authenticates its signalling with the keys it gives for the node's address.</param>
    public Domain(TestKitBase kit, string[] mobileNodes, BindingSettings? binding = null, TimeSpan? heartbeat = null, string name = "d",
        Func<Ipv6Address, IKeyRingSource>? keys = null, AuthenticationSettings? authentication = null, ReflectorSettings? reflector = null,
        FlowMobilitySettings? flows = null, bool lmaInitiatesHeartbeats = true)
    {
        _kit = kit;
        _lmaInitiatesHeartbeats = lmaInitiatesHeartbeats;
        _keys = keys;
        _authentication = authentication ?? AuthenticationSettings.Default;
        _system = kit.Sys;
        BindingSettings = binding ?? BindingSettings.Default;
        HeartbeatInterval = heartbeat ?? TimeSpan.FromSeconds(60);
        Policies = new InMemoryPolicyStore(mobileNodes.Select(mn => new MobileNodePolicy(mn)));
        Network = _system.ActorOf(InMemoryNetwork.Props(), name + "-network");
        LmaDataplane = DataplaneOf(LmaAddress, LmaCounters);
        var entitySettings = new BindingEntitySettings(LmaAddress, BindingSettings, Pool, 64)
        {
            InitialBriTimeout = TimeSpan.FromMilliseconds(300),
            Reflector = reflector ?? new ReflectorSettings { Enabled = false },
            Admission = new LmaAdmissionSettings([Mag1Address, Mag2Address]),
            Flows = flows ?? FlowMobilitySettings.Default,
        };
        var network = LmaDataplane;
        var counters = LmaCounters;
        _entityProps = bucket => BindingBucket.Props(bucket, entitySettings, network, null, counters);
        Bindings = _system.ActorOf(LocalBindingRegion.Props(_entityProps), name + "-bindings");
        Lma = StartLma();
    }

    private readonly bool _lmaInitiatesHeartbeats;

    public IActorRef StartLma(bool? initiatesHeartbeats = null)
    {
        var settings = new LmaNodeSettings(LmaAddress, new LmaAdmissionSettings([Mag1Address, Mag2Address]), _lmaRestartCounter++)
        {
            HeartbeatInterval = HeartbeatInterval,
            InitiatesHeartbeats = initiatesHeartbeats ?? _lmaInitiatesHeartbeats,
        };
        Lma = _system.ActorOf(LmaNode.Props(settings, Policies, LmaDataplane, Bindings, LmaCounters));
        if (_lmaRestartCounter == 2) // a restarted LMA takes over the same address: no new endpoint
            WaitForEndpoints(++_endpoints);
        return Lma;
    }

    public (IActorRef Mag, Counters Counters, TestProbe Reports) StartMag(Ipv6Address address, MagSettings? session = null, IPolicyStore? policies = null,
        Func<MagNodeSettings, MagNodeSettings>? configure = null, Func<IActorRef, IActorRef>? tap = null)
    {
        var counters = new Counters();
        var settings = new MagNodeSettings(address, LmaAddress, 1, session ?? MagSettings.Default) { HeartbeatInterval = HeartbeatInterval, Policies = policies };
        settings = configure?.Invoke(settings) ?? settings;
        var dataplane = DataplaneOf(address, counters);
        var mag = _system.ActorOf(MagNode.Props(settings, tap?.Invoke(dataplane) ?? dataplane, counters));
        var reports = _kit.CreateTestProbe();
        mag.Tell(new SubscribeSessionReports(), reports.Ref);
        WaitForEndpoints(++_endpoints);
        return (mag, counters, reports);
    }

    private IActorRef DataplaneOf(Ipv6Address node, Counters counters) => _keys is null
        ? Network
        : _system.ActorOf(SignallingGuard.Props(Network, _keys(node), _authentication,
            new SignallingGuard.SignallingGuardSettings(TimeSpan.FromMilliseconds(50)), counters));

    private void WaitForEndpoints(int count) => _kit.AwaitAssert(() =>
        Assert.True(Network.Ask<InMemoryNetwork.Counters>(new InMemoryNetwork.GetCounters()).Result.Endpoints >= count),
        TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));

    public static Attachment Attach(string mn, HandoffIndicator hi = HandoffIndicator.AttachmentOverNewInterface, string linkLayerId = "020000000101") =>
        new(mn, linkLayerId, AccessTechnologyType.Ieee8023, hi);

    public BindingSnapshot Binding(string mn) => Lma.Ask<BindingSnapshot>(new GetBinding(mn), TimeSpan.FromSeconds(5)).Result;

    /// <summary>Waits for the report of <paramref name="mn"/> in <paramref name="phase"/>, skipping others.</summary>
    public static SessionReport Expect(TestProbe reports, string mn, MagSessionPhase phase, TimeSpan? within = null) =>
        reports.FishForMessage<SessionReport>(r => r.MobileNodeId == mn && r.Phase == phase, within ?? TimeSpan.FromSeconds(10));

    public static ImmutableArray<Ipv6Prefix> Prefixes(BindingSnapshot snapshot) => [.. snapshot.Sessions.SelectMany(s => s.Prefixes)];
}
