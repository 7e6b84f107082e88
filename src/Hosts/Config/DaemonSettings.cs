// Settings of `pmip6 lma` and `pmip6 mag`, read once at start from hocon/lma.conf, hocon/mag.conf
// and the policy file both share. Every key is documented in those files.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Config;

public sealed record LmaDaemonSettings(
    Ipv6Address Address,
    string? Device,
    ImmutableHashSet<Ipv6Address> AuthorizedMags,
    Ipv6Prefix PrefixPool,
    byte PrefixLength,
    ReloadablePolicyStore Policies,
    TimeSpan MaxLifetime,
    TimeSpan TimestampValidityWindow,
    TimeSpan MinDelayBeforeBceDelete,
    TimeSpan HeartbeatInterval,
    int MissingHeartbeatsAllowed,
    string Store,
    Uri? Http,
    int ClusterPort,
    bool StoreFullSync)
{
    /// <summary>The userspace tunnel towards the MAGs (`tunnel { ... }`).</summary>
    public TunnelSettings Tunnel { get; init; } = TunnelSettings.Default;

    /// <summary>Handover buffering (`buffering { ... }`).</summary>
    public BufferingSettings Buffering { get; init; } = BufferingSettings.Default;

    /// <summary>Flood limits on the Mobility Header receive path (`admission { ... }`).</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits Admission { get; init; } = Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits.Default;

    /// <summary>Events a binding bucket may have waiting for the journal before it refuses PBUs with 130 (`admission.max-pending-writes`).</summary>
    public int MaxPendingWrites { get; init; } = 256;

    /// <summary>A bucket snapshots its states, and trims the journal below, every this many events (`snapshot-every`).</summary>
    public int SnapshotEvery { get; init; } = 8000;

    /// <summary>Context Reflector (`context-reflector { ... }`).</summary>
    public ReflectorSettings Reflector { get; init; } = new() { Enabled = false };

    /// <summary>Authenticated signalling (`security { ... }`).</summary>
    public SecuritySettings Security { get; init; } = SecuritySettings.Off;

    /// <summary>Logs as plain text or JSON lines (`log { ... }`).</summary>
    public LogSettings Log { get; init; } = LogSettings.Default;

    /// <summary>How long SIGTERM may take (`shutdown { timeout }`).</summary>
    public ShutdownSettings Shutdown { get; init; } = ShutdownSettings.Default;

    /// <summary>Cluster membership and journal (`cluster-file`, hocon/cluster.conf); without one a one-node cluster on SQLite.</summary>
    public ClusterSettings Cluster { get; init; } = ClusterSettings.OneNode;

    /// <summary>IP flow mobility (`flow-mobility { ... }`): the binding entity's part and the forwarder's flow table.</summary>
    public FlowMobilityConfig FlowMobility { get; init; } = FlowMobilityConfig.Off;

    public const string Path = "pmip6.lma";
    public static LmaDaemonSettings Load(string file)
    {
        var c = ConfigReader.Load(file, Path);
        var pool = c.Prefix("prefix-pool");
        var length = c.Int("prefix-length", pool.Length, 128, 64);
        if (length - pool.Length < BindingBuckets.Bits)
            throw new ConfigurationError($"{Path}.prefix-pool",
                $"{pool} must hold at least {BindingBuckets.Count} prefixes of /{length} (one slice per binding bucket): use /{length - BindingBuckets.Bits} or shorter");
        var settings = new LmaDaemonSettings(
            c.Address("address"),
            NullIfEmpty(c.String("device", "")),
            [.. c.Addresses("authorized-mags")],
            pool,
            (byte)length,
            ReloadablePolicyStore.Load(c.FilePath("policy-file")),
            c.Duration("max-lifetime", TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(262140), TimeSpan.FromHours(1)),
            c.Duration("timestamp-validity-window", TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10), ProtocolConstants.TimestampValidityWindow),
            c.Duration("min-delay-before-bce-delete", TimeSpan.Zero, TimeSpan.FromMinutes(10), ProtocolConstants.MinDelayBeforeBceDelete),
            c.Duration("heartbeat-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), TimeSpan.FromSeconds(60)),
            c.Int("missing-heartbeats-allowed", 1, 100, 3),
            c.FilePath("store"),
            c.HttpEndpoint("http"),
            c.Int("cluster-port", 0, 65535, 0),
            c.String("store-sync", "normal") switch
            {
                "normal" => false,
                "full" => true,
                var other => throw new ConfigurationError($"{Path}.store-sync", $"expected normal or full, got '{other}'"),
            })
        {
            Tunnel = TunnelSettings.Read(c, Path),
            Buffering = BufferingSettings.Read(c, Path),
            Admission = AdmissionSettings.Read(c),
            MaxPendingWrites = c.Int("admission.max-pending-writes", 1, 1_000_000, 256),
            SnapshotEvery = c.Int("snapshot-every", 10, 1_000_000, 8000),
            Security = SecuritySettings.Read(c, Path),
            Reflector = ReadReflector(c),
            Cluster = ReadCluster(c),
            FlowMobility = FlowMobilityConfig.Read(c, Path),
            Log = LogSettings.Read(c, Path),
            Shutdown = ShutdownSettings.Read(c, Path, revocationAllowed: false),
        };
        c.RefuseUnreadKeys();
        return settings;
    }

    /// <summary>
    /// `cluster-file`: "" = a one-node cluster on `cluster-port` with the SQLite `store`; else the file's `pmip6.cluster`,
    /// with this node's `cluster-hostname` / `cluster-port` (when set) over the file's hostname / port.
    /// </summary>
    private static ClusterSettings ReadCluster(ConfigReader c)
    {
        var hostname = c.String("cluster-hostname", "");
        var port = c.Int("cluster-port", 0, 65535, 0);
        if (c.String("cluster-file", "").Length == 0)
        {
            if (hostname.Length > 0)
                throw new ConfigurationError($"{Path}.cluster-hostname", "set without a cluster-file: a one-node cluster listens on 127.0.0.1; name a cluster-file or remove it");
            return ClusterSettings.OneNode with { Port = port };
        }
        var file = c.FilePath("cluster-file");
        if (!System.IO.File.Exists(file))
            throw new ConfigurationError($"{Path}.cluster-file", $"{file} does not exist");
        return ClusterSettings.Load(file, new ClusterNodeOverride(hostname.Length > 0 ? hostname : null, port != 0 ? port : null,
            $"{Path}.cluster-hostname", $"{Path}.cluster-port"));
    }

    private static ReflectorSettings ReadReflector(ConfigReader c)
    {
        var d = new ReflectorSettings();
        var downlink = c.String("context-reflector.downlink", "forward");
        var initial = c.Duration("context-reflector.retransmit-initial", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(32), d.InitialRetransmitDelay);
        var max = c.Duration("context-reflector.retransmit-max", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), d.MaxRetransmitDelay);
        if (max < initial)
            throw new ConfigurationError($"{Path}.context-reflector.retransmit-max", $"{max.TotalMilliseconds} ms is shorter than retransmit-initial ({initial.TotalMilliseconds} ms)");
        return new ReflectorSettings
        {
            Enabled = c.Bool("context-reflector.enabled", false),
            ContextLifetime = c.Duration("context-reflector.context-lifetime", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), d.ContextLifetime),
            MaxContextLength = c.Int("context-reflector.max-context-length", 0, 8192, d.MaxContextLength),
            Downlink = downlink switch
            {
                "forward" => DownlinkMode.Forward,
                "buffer" => DownlinkMode.Buffer,
                _ => throw new ConfigurationError($"{Path}.context-reflector.downlink", $"expected forward or buffer, got '{downlink}'"),
            },
            InitialRetransmitDelay = initial,
            MaxRetransmitDelay = max,
            MaxAttempts = c.Int("context-reflector.max-attempts", 1, 20, d.MaxAttempts),
        };
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;
}

public sealed record MagDaemonSettings(
    Ipv6Address Address,
    string? Device,
    Ipv6Address Lma,
    AccessTechnologyType AccessTechnology,
    TimeSpan Lifetime,
    TimeSpan HeartbeatInterval,
    int MissingHeartbeatsAllowed,
    TimeSpan InitialBindackTimeoutFirstReg,
    TimeSpan MaxBindackTimeout,
    string StateDirectory,
    Uri? Http,
    ReloadablePolicyStore Policies)
{
    public const string Path = "pmip6.mag";

    /// <summary>The userspace tunnel towards the LMA (`tunnel { ... }`).</summary>
    public TunnelSettings Tunnel { get; init; } = TunnelSettings.Default;

    /// <summary>The access links (`access { ... }`).</summary>
    public AccessSettings Access { get; init; } = AccessSettings.Default;

    /// <summary>Flood limits on the Mobility Header receive path (`admission { ... }`).</summary>
    public Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits Admission { get; init; } = Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits.Default;

    /// <summary>Time the authorisation step takes before a new node's first PBU (`aaa-delay`).</summary>
    public TimeSpan AaaDelay { get; init; }

    /// <summary>Context Reflector at this MAG (`context-reflector { ... }`).</summary>
    public Pmip6Akka.Actors.Mag.MagReflectorSettings Reflector { get; init; } = Pmip6Akka.Actors.Mag.MagReflectorSettings.Default;

    /// <summary>Authenticated signalling (`security { ... }`).</summary>
    public SecuritySettings Security { get; init; } = SecuritySettings.Off;

    /// <summary>Logs as plain text or JSON lines (`log { ... }`).</summary>
    public LogSettings Log { get; init; } = LogSettings.Default;

    /// <summary>What SIGTERM does: revoke the bindings or let them age, and how long it may take (`shutdown { ... }`).</summary>
    public ShutdownSettings Shutdown { get; init; } = ShutdownSettings.Default;

    public static MagDaemonSettings Load(string file)
    {
        var c = ConfigReader.Load(file, Path);
        var att = c.String("access-technology", "802.3");
        var settings = new MagDaemonSettings(
            c.Address("address"),
            c.String("device", "") is { Length: > 0 } device ? device : null,
            c.Address("lma"),
            ParseAccessTechnology(att) ?? throw new ConfigurationError($"{Path}.access-technology",
                $"expected one of {string.Join(", ", AccessTechnologies.Keys)}, got '{att}'"),
            c.Duration("lifetime", TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(262140), TimeSpan.FromHours(1)),
            c.Duration("heartbeat-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), TimeSpan.FromSeconds(60)),
            c.Int("missing-heartbeats-allowed", 1, 100, 3),
            c.Duration("initial-bindack-timeout-first-reg", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(32), ProtocolConstants.InitialBindackTimeoutFirstReg),
            c.Duration("max-bindack-timeout", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), ProtocolConstants.MaxBindackTimeout),
            c.FilePath("state-directory"),
            c.HttpEndpoint("http"),
            ReloadablePolicyStore.Load(c.FilePath("policy-file")))
        {
            Tunnel = TunnelSettings.Read(c, Path),
            Access = AccessSettings.Read(c, Path),
            Admission = AdmissionSettings.Read(c),
            Security = SecuritySettings.Read(c, Path),
            Log = LogSettings.Read(c, Path),
            Shutdown = ShutdownSettings.Read(c, Path, revocationAllowed: true),
            AaaDelay = c.Duration("aaa-delay", TimeSpan.Zero, TimeSpan.FromMinutes(1), TimeSpan.Zero),
            Reflector = new Pmip6Akka.Actors.Mag.MagReflectorSettings
            {
                Enabled = c.Bool("context-reflector.enabled", false),
                HintLifetime = c.Duration("context-reflector.hint-lifetime", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), TimeSpan.FromSeconds(30)),
                StoreCapacity = c.Int("context-reflector.store-capacity", 1, 10_000_000, 10_000),
                AaaValidity = c.Duration("context-reflector.aaa-validity", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), TimeSpan.FromHours(1)),
            },
        };
        c.RefuseUnreadKeys();
        return settings;
    }

    public static readonly ImmutableDictionary<string, AccessTechnologyType> AccessTechnologies = new Dictionary<string, AccessTechnologyType>
    {
        ["virtual"] = AccessTechnologyType.Virtual, ["ppp"] = AccessTechnologyType.Ppp, ["802.3"] = AccessTechnologyType.Ieee8023,
        ["802.11"] = AccessTechnologyType.Ieee80211, ["802.16e"] = AccessTechnologyType.Ieee80216e, ["geran"] = AccessTechnologyType.Geran,
        ["utran"] = AccessTechnologyType.Utran, ["e-utran"] = AccessTechnologyType.EUtran,
    }.ToImmutableDictionary();

    public static AccessTechnologyType? ParseAccessTechnology(string text) =>
        AccessTechnologies.TryGetValue(text.ToLowerInvariant(), out var att) ? att : null;
}

/// <summary>The node's userspace IPv6-in-IPv6 tunnel (RFC 2473): a TUN device plus a raw next-header-41 socket.</summary>
public sealed record TunnelSettings(bool Userspace, string Device, int Mtu, int UplinkTable, int RulePriority)
{
    /// <summary>PM QoS CPU wake-up latency limit held while the daemon runs (`tunnel.cpu-latency-limit`), or null (off).</summary>
    public TimeSpan? CpuLatencyLimit { get; init; }

    /// <summary>1500-byte links less the 40-byte outer header: nothing through the tunnel needs fragmenting.</summary>
    public const int DefaultMtu = 1460;

    public static readonly TunnelSettings Default = new(true, "pmip6-tun", DefaultMtu, 5213, 1000);

    private static int ReadTable(ConfigReader c, string path)
    {
        var table = c.Int("tunnel.table", 1, int.MaxValue, Default.UplinkTable);
        if (table is >= 253 and <= 255)
            throw new ConfigurationError($"{path}.tunnel.table", $"{table} is one of the kernel's own tables (253 default, 254 main, 255 local); pick another");
        return table;
    }

    public static TunnelSettings Read(ConfigReader c, string path)
    {
        var limit = c.String("tunnel.cpu-latency-limit", "off") == "off" ? (TimeSpan?)null
            : c.Duration("tunnel.cpu-latency-limit", TimeSpan.Zero, TimeSpan.FromSeconds(1));
        return ReadTunnel(c, path) with { CpuLatencyLimit = limit };
    }

    private static TunnelSettings ReadTunnel(ConfigReader c, string path)
    {
        var mode = c.String("tunnel.mode", "userspace");
        var device = c.String("tunnel.device", Default.Device);
        if (device.Length is 0 or > 15 || device.Any(ch => ch is '/' or ':' || char.IsWhiteSpace(ch)))
            throw new ConfigurationError($"{path}.tunnel.device", $"'{device}' is not a usable interface name (1 to 15 characters, no '/', ':' or spaces)");
        return new TunnelSettings(
            mode switch
            {
                "userspace" => true,
                "off" => false,
                _ => throw new ConfigurationError($"{path}.tunnel.mode", $"expected userspace or off, got '{mode}' (the kernel ip6tnl mode is not built yet)"),
            },
            device,
            c.Int("tunnel.mtu", 1280, 65535 - 40, DefaultMtu),
            ReadTable(c, path),
            c.Int("tunnel.rule-priority", 1, 32765, Default.RulePriority));
    }
}

/// <summary>The LMA's handover buffering (NFQUEUE): on/off, the queue number and the limits.</summary>
public sealed record BufferingSettings(bool Enabled, ushort Queue, Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits Limits)
{
    public static readonly BufferingSettings Default = new(true, 5213, new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits());

    public static BufferingSettings Read(ConfigReader c, string path)
    {
        var d = Default.Limits;
        return new BufferingSettings(
            c.Bool("buffering.enabled", Default.Enabled),
            (ushort)c.Int("buffering.queue", 0, 65535, Default.Queue),
            new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits
            {
                MaxPacketsPerNode = c.Int("buffering.max-packets-per-node", 1, 1_000_000, d.MaxPacketsPerNode),
                MaxBytesPerNode = c.Int("buffering.max-bytes-per-node", 1500, int.MaxValue, (int)d.MaxBytesPerNode),
                MaxPackets = c.Int("buffering.max-packets", 1, 10_000_000, d.MaxPackets),
                MaxHoldTime = c.Duration("buffering.max-hold-time", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), d.MaxHoldTime),
                FlushRate = c.Int("buffering.flush-rate", 1, 10_000_000, d.FlushRate),
                Adaptive = c.Bool("buffering.adaptive", d.Adaptive),
            });
    }
}

/// <summary>`admission { ... }`: rates in messages per second (0: no limit), bursts in messages.</summary>
public static class AdmissionSettings
{
    public static Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits Read(ConfigReader c)
    {
        var d = Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits.Default;
        double Value(string key, double fallback) => c.Int("admission." + key, 0, 10_000_000, (int)fallback);
        return new Pmip6Akka.Dataplane.Security.ReceiveAdmissionLimits
        {
            PerPeerRate = Value("per-peer-rate", d.PerPeerRate),
            PerPeerBurst = Value("per-peer-burst", d.PerPeerBurst),
            OthersRate = Value("others-rate", d.OthersRate),
            OthersBurst = Value("others-burst", d.OthersBurst),
            GlobalRate = Value("global-rate", d.GlobalRate),
            GlobalBurst = Value("global-burst", d.GlobalBurst),
            MaxQueuedMessages = c.Int("admission.max-queued-messages", 1, 10_000_000, d.MaxQueuedMessages),
        };
    }
}

/// <summary>The MAG's access links: which devices they are, and the Router Advertisements sent on them.</summary>
public sealed record AccessSettings(IReadOnlyList<string> Interfaces, TimeSpan RouterLifetime, TimeSpan AdvertiseInterval)
{
    public static readonly AccessSettings Default = new([], TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(10));

    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan LivenessTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether <paramref name="name"/> matches one of the configured globs (`*` any run, `?` one character).</summary>
    public bool IsAccessInterface(string name) => Interfaces.Any(glob => Glob(glob, name));

    private static bool Glob(string pattern, string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$");

    public static AccessSettings Read(ConfigReader c, string path)
    {
        var interfaces = c.Strings("access.interfaces");
        foreach (var glob in interfaces)
            if (glob.Length is 0 or > 15 || glob.Any(ch => ch is '/' or ':' || char.IsWhiteSpace(ch)))
                throw new ConfigurationError($"{path}.access.interfaces", $"'{glob}' is not an interface name or glob (1 to 15 characters, no '/', ':' or spaces)");
        var interval = c.Duration("access.liveness-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), Default.LivenessInterval);
        var timeout = c.Duration("access.liveness-timeout", TimeSpan.Zero, TimeSpan.FromHours(1), Default.LivenessTimeout);
        if (timeout > TimeSpan.Zero && timeout <= interval)
            throw new ConfigurationError($"{path}.access.liveness-timeout", $"must be longer than access.liveness-interval ({interval.TotalMilliseconds} ms), or 0 for off");
        return new AccessSettings(interfaces,
            c.Duration("access.router-lifetime", TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(9000), Default.RouterLifetime),
            c.Duration("access.ra-interval", TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(30), Default.AdvertiseInterval))
        {
            LivenessInterval = interval,
            LivenessTimeout = timeout,
        };
    }
}

/// <summary>
/// MN policy profiles from the policy file: exact MN-IDs, and suffix profiles (`mn-id-suffix`) for
/// whole populations such as a load test's generated identifiers. Exact matches win.
/// </summary>
public sealed class PolicyStore : IPolicyStore
{
    private readonly Dictionary<string, MobileNodePolicy> _exact = new(StringComparer.Ordinal);
    private readonly List<(string Suffix, MobileNodePolicy Policy)> _suffixes = [];
    private readonly Dictionary<string, string> _byLinkLayer = new(StringComparer.Ordinal);

    public int Count => _exact.Count + _suffixes.Count;

    public MobileNodePolicy? Find(string mobileNodeId)
    {
        if (_exact.TryGetValue(mobileNodeId, out var policy))
            return policy;
        foreach (var (suffix, profile) in _suffixes)
            if (mobileNodeId.EndsWith(suffix, StringComparison.Ordinal))
                return profile with { MobileNodeId = mobileNodeId };
        return null;
    }

    public string? MobileNodeIdFor(ReadOnlySpan<byte> linkLayerAddress) => _byLinkLayer.GetValueOrDefault(Convert.ToHexString(linkLayerAddress));

    /// <summary>A link-layer address as "02:00:00:00:00:01", "02-00-..." or plain hex; null when it is not 6 or 8 octets of hex.</summary>
    public static byte[]? ParseLinkLayerAddress(string text)
    {
        var hex = text.Replace(":", "").Replace("-", "");
        if (hex.Length is not (12 or 16) || !hex.All(Uri.IsHexDigit))
            return null;
        return Convert.FromHexString(hex);
    }

    public static PolicyStore Load(string file)
    {
        var c = ConfigReader.Load(file, "pmip6.policies");
        var store = new PolicyStore();
        foreach (var p in c.Objects("profiles"))
        {
            var exact = p.Has("mn-id");
            var bySuffix = p.Has("mn-id-suffix");
            if (exact && bySuffix)
                throw new ConfigurationError("pmip6.policies.profiles[].mn-id-suffix", "a profile names one MN (mn-id) or a suffix (mn-id-suffix), not both");
            var atts = p.Strings("access-technologies").Select(a => MagDaemonSettings.ParseAccessTechnology(a)
                ?? throw new ConfigurationError("pmip6.policies.profiles[].access-technologies", $"unknown access technology '{a}'")).ToImmutableHashSet();
            var policy = new MobileNodePolicy(
                p.Has("mn-id") ? p.String("mn-id") : "*",
                p.Bool("proxy-enabled", true),
                p.Int("hnp-count", 1, 16, 1),
                atts.IsEmpty ? null : atts,
                p.Has("max-lifetime") ? p.Duration("max-lifetime", TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(262140)) : null,
                p.Int("max-sessions", 1, 64, 4))
            {
                Qos = p.Has("qos") ? new Pmip6Akka.Actors.Mag.QosProfile(
                    (byte)p.Int("qos.traffic-class", 0, 255, 0),
                    (uint)p.Int("qos.downlink-kbps", 0, int.MaxValue, 0),
                    (uint)p.Int("qos.uplink-kbps", 0, int.MaxValue, 0)) : null,
                SharedPrefix = p.Has("flow-mobility-model") && p.String("flow-mobility-model") switch
                {
                    "weak-host" => false,
                    "shared-prefix" => true,
                    var other => throw new ConfigurationError("pmip6.policies.profiles[].flow-mobility-model", $"expected \"weak-host\" or \"shared-prefix\", got '{other}'"),
                },
            };
            foreach (var text in p.Strings("link-layer-ids"))
            {
                var mac = ParseLinkLayerAddress(text)
                    ?? throw new ConfigurationError("pmip6.policies.profiles[].link-layer-ids", $"'{text}' is not a link-layer address (6 or 8 octets, e.g. 02:00:00:00:00:01)");
                if (!p.Has("mn-id"))
                    throw new ConfigurationError("pmip6.policies.profiles[].link-layer-ids", "only a profile with an exact mn-id can name link-layer addresses");
                if (!store._byLinkLayer.TryAdd(Convert.ToHexString(mac), policy.MobileNodeId))
                    throw new ConfigurationError("pmip6.policies.profiles[].link-layer-ids", $"{text} is listed by two profiles");
            }
            p.RefuseUnreadKeys(); // a misspelt hnp-count or max-lifetime would otherwise give the MN the default
            if (exact)
                store._exact[policy.MobileNodeId] = policy;
            else if (bySuffix)
                store._suffixes.Add((p.String("mn-id-suffix"), policy));
            else
                throw new ConfigurationError("pmip6.policies.profiles[]", "each profile needs mn-id or mn-id-suffix");
        }
        return store;
    }
}

/// <summary>
/// Authenticated signalling (`security { ... }`): with a keys file every Mobility Header message is
/// protected (RFC 4285 authentication option, docs/PROTOCOL.md); without one (the default) signalling
/// is not authenticated and the daemon says so at start.
/// </summary>
public sealed record SecuritySettings(KeysFile? Keys, bool Required, TimeSpan ReplayWindow, TimeSpan ReloadInterval)
{
    public static readonly SecuritySettings Off = new(null, true, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

    public Pmip6Akka.Dataplane.Security.AuthenticationSettings Authentication => new(Required, ReplayWindow);

    public static SecuritySettings Read(ConfigReader c, string path)
    {
        var required = c.Bool("security.required", Off.Required);
        var window = c.Duration("security.replay-window", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), Off.ReplayWindow);
        var reload = c.Duration("security.reload-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), Off.ReloadInterval);
        var keys = c.String("security.keys-file", "") is { Length: > 0 }
            ? KeysFile.Open(c.FilePath("security.keys-file"), $"{path}.security.keys-file")
            : null;
        return new SecuritySettings(keys, required, window, reload);
    }
}
