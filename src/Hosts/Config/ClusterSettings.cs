// The LMA node's cluster membership and store, read once at start from hocon/cluster.conf
// (`pmip6.cluster`, named by lma.conf's `cluster-file`). Every key is documented in that file.
using System.Collections.Immutable;
using System.Net;
using System.Text.RegularExpressions;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Persistence;

namespace Pmip6Akka.Hosts.Config;

/// <summary>Where the binding buckets' journal and snapshots live.</summary>
public enum JournalProvider { Sqlite, PostgreSql }

public sealed partial record ClusterSettings(ClusterOptions Options, int Port, JournalProvider Provider, string? PostgresConnectionString)
{
    public const string Path = "pmip6.cluster";

    /// <summary>As lma.conf without `cluster-file`: a one-node cluster on 127.0.0.1, SQLite.</summary>
    public static readonly ClusterSettings OneNode = new(new ClusterOptions(), 0, JournalProvider.Sqlite, null);

    private static readonly IReadOnlySet<string> Known = new HashSet<string>
    {
        "hostname", "port", "seed-nodes", "min-members", "roles",
        "split-brain-resolver.strategy", "split-brain-resolver.stable-after", "split-brain-resolver.down-all-when-unstable",
        "failure-detector.heartbeat-interval", "failure-detector.acceptable-heartbeat-pause",
        "sharding.shards", "sharding.remember-entities-store",
        "journal.provider", "journal.postgresql.connection-string",
    };

    /// <summary>The node's store and membership as <see cref="ActorSystemFactory"/> takes them.</summary>
    public NodeOptions Node(string sqlitePath, bool fullSync) => new(sqlitePath, Port, FullSync: fullSync)
    {
        Cluster = Options,
        PostgresConnectionString = Provider == JournalProvider.PostgreSql ? PostgresConnectionString : null,
    };

    /// <param name="node">
    /// This node's own address from its lma.conf (`cluster-hostname`, `cluster-port`), over the file's
    /// `hostname`/`port`: every node of a cluster then shares one cluster.conf. Errors name the key the value came from.
    /// </param>
    public static ClusterSettings Load(string file, ClusterNodeOverride? node = null)
    {
        var c = ConfigReader.Load(file, Path);
        c.RefuseUnknownKeys(Known);

        var hostnameKey = node?.Hostname is null ? $"{Path}.hostname" : node.HostnameKey;
        var hostname = node?.Hostname ?? c.String("hostname", "127.0.0.1");
        if (!IsHost(hostname) || (IPAddress.TryParse(hostname.Trim('[', ']'), out var any) && (any.Equals(IPAddress.Any) || any.Equals(IPAddress.IPv6Any))))
            throw new ConfigurationError(hostnameKey, $"expected the IP address or host name the other members reach this node at, got '{hostname}'");
        var portKey = node?.Port is null ? $"{Path}.port" : node.PortKey;
        var port = node?.Port ?? c.Int("port", 0, 65535, 0);

        var seeds = c.Strings("seed-nodes");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < seeds.Count; i++)
        {
            if (!TrySplitHostPort(seeds[i], out var seedHost, out var seedPort) || !IsHost(seedHost) || seedPort is < 1 or > 65535)
                throw new ConfigurationError($"{Path}.seed-nodes[{i}]", $"expected host:port such as 127.0.0.1:2552 or [2001:db8::1]:2552, got '{seeds[i]}'");
            if (!seen.Add(seeds[i]))
                throw new ConfigurationError($"{Path}.seed-nodes[{i}]", $"'{seeds[i]}' is listed twice");
        }
        if (port == 0 && seeds.Count > 0)
            throw new ConfigurationError(portKey, "0 (any free port) cannot be used with seed nodes: the other members must know this node's port; " +
                "give a fixed one (here, or as cluster-port in each node's lma.conf)");
        var self = seeds.Any(s => TrySplitHostPort(s, out var h, out var p) && p == port && string.Equals(h.Trim('[', ']'), hostname.Trim('[', ']'), StringComparison.OrdinalIgnoreCase));
        var members = seeds.Count + (self || seeds.Count == 0 ? 0 : 1); // the members this file knows of

        var minMembers = c.Int("min-members", 1, Math.Max(1, seeds.Count), 1);

        var roles = c.Strings("roles");
        foreach (var (role, i) in roles.Select((r, i) => (r, i)))
            if (!RoleName().IsMatch(role))
                throw new ConfigurationError($"{Path}.roles[{i}]", $"expected a role name of lower-case letters, digits and '-', got '{role}'");
        if (!roles.Contains(ClusterOptions.LmaRole))
            throw new ConfigurationError($"{Path}.roles", $"must include \"{ClusterOptions.LmaRole}\": binding buckets run only on lma members, and this node is an LMA");

        var strategy = c.String("split-brain-resolver.strategy", "keep-majority");
        if (strategy != "keep-majority")
            throw new ConfigurationError($"{Path}.split-brain-resolver.strategy", strategy is "auto-down" or "off" or "none"
                ? $"'{strategy}' is refused: a member must never be downed by a timeout alone (both sides of a partition would keep the same buckets); use keep-majority"
                : $"expected keep-majority, got '{strategy}'");
        var stableAfter = c.Duration("split-brain-resolver.stable-after", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(20));
        var downAll = c.Bool("split-brain-resolver.down-all-when-unstable", true);

        var heartbeat = c.Duration("failure-detector.heartbeat-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        var pause = c.Duration("failure-detector.acceptable-heartbeat-pause", TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3));
        if (pause < heartbeat * 2)
            throw new ConfigurationError($"{Path}.failure-detector.acceptable-heartbeat-pause",
                $"{pause.TotalMilliseconds} ms is less than two heartbeat intervals ({heartbeat.TotalMilliseconds} ms each): every member would be seen unreachable at the first late heartbeat");

        var shards = c.Int("sharding.shards", 1, BindingBuckets.Count, MnIdMessageExtractor.DefaultShards);
        var remember = c.String("sharding.remember-entities-store", "eventsourced");
        if (remember != "eventsourced")
            throw new ConfigurationError($"{Path}.sharding.remember-entities-store", remember == "ddata"
                ? "'ddata' is refused: its durable store needs LightningDB, which crashes on this platform; use eventsourced (the journal)"
                : $"expected eventsourced, got '{remember}'");

        var providerText = c.String("journal.provider", "sqlite");
        var provider = providerText switch
        {
            "sqlite" => JournalProvider.Sqlite,
            "postgresql" => JournalProvider.PostgreSql,
            _ => throw new ConfigurationError($"{Path}.journal.provider", $"expected sqlite or postgresql, got '{providerText}'"),
        };
        if (provider == JournalProvider.Sqlite && members > 1)
            throw new ConfigurationError($"{Path}.journal.provider",
                $"sqlite keeps the journal in a file on this machine and serves one node, but seed-nodes makes this a cluster of {members} nodes: use postgresql");
        string? connectionString = null;
        if (provider == JournalProvider.PostgreSql)
            connectionString = ValidPostgresConnectionString(c.String("journal.postgresql.connection-string", ""));

        return new ClusterSettings(new ClusterOptions
        {
            Hostname = hostname,
            SeedNodes = [.. seeds],
            MinMembers = minMembers,
            Roles = [.. roles],
            StableAfter = stableAfter,
            DownAllWhenUnstable = downAll,
            HeartbeatInterval = heartbeat,
            AcceptableHeartbeatPause = pause,
            Shards = shards,
        }, port, provider, connectionString);
    }

    /// <summary>True when this node is one of several (seed nodes name another member): per-slice routes, uplink relayed to the owner.</summary>
    public bool IsMultiNode => !Options.SeedNodes.IsEmpty;

    private static string ValidPostgresConnectionString(string text)
    {
        const string key = $"{Path}.journal.postgresql.connection-string";
        if (text.Length == 0)
            throw new ConfigurationError(key, "missing: journal.provider = postgresql needs an Npgsql connection string (Host=...;Port=...;Database=...;Username=...;Password=...)");
        Npgsql.NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new Npgsql.NpgsqlConnectionStringBuilder(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new ConfigurationError(key, $"not an Npgsql connection string: {e.Message}");
        }
        if (string.IsNullOrEmpty(builder.Host))
            throw new ConfigurationError(key, "names no Host");
        if (string.IsNullOrEmpty(builder.Database))
            throw new ConfigurationError(key, "names no Database");
        return text;
    }

    private static bool IsHost(string text) =>
        IPAddress.TryParse(text.Trim('[', ']'), out _) || HostName().IsMatch(text);

    private static bool TrySplitHostPort(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || (text.Count(ch => ch == ':') > 1 && !(text.StartsWith('[') && text[colon - 1] == ']')))
            return false; // an IPv6 address needs brackets
        host = text[..colon];
        return int.TryParse(text[(colon + 1)..], out port);
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex RoleName();

    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostName();
}

/// <summary>
/// A node's own cluster address given in its lma.conf (`cluster-hostname`, `cluster-port`); null fields
/// keep the cluster file's. The keys name where a wrong value came from.
/// </summary>
public sealed record ClusterNodeOverride(string? Hostname, int? Port, string HostnameKey, string PortKey);
