// The cluster lab (`lab up --lmas N --store postgres`, docs/LAB.md): N LMA processes in pmip-lma1..N forming one
// Akka cluster on a PostgreSQL journal, behind a core router (pmip-core) that runs BIRD 2 and reaches the shared LMA
// address (LMAA) over every live node (eBGP + BFD, ECMP) and each prefix slice over the node that anchors it:
//
//   pmip-magN --(br-transport)--+                +-- pmip-lma1  (BIRD: the LMAA and its slices)
//   pmip-cn ------------------ pmip-core (BIRD) -+-- pmip-lma2
//   pmip-load (bench MAGs) ----+                +-- pmip-lma3
//
// The MAGs signal to the LMAA; the core's ECMP picks a node, which forwards the PBU to the bucket's owner through the
// cluster. Cluster traffic runs over IPv4 on the core links (10.9.N.0/24, only inside these namespaces); PostgreSQL
// runs in the host namespace, reached over its unix socket in the run directory (it listens on loopback only).
// pmip-load holds the addresses of the MAGs the failover scenario's load generator emulates.
using System.Globalization;
using System.Net;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Routing;

namespace Pmip6Akka.Hosts.Lab;

public static class LabCluster
{
    public const string CoreNamespace = "pmip-core";
    public const string LoadNamespace = "pmip-load";
    /// <summary>The cluster's one LMA address (on every node's tunnel device, announced by each node's BIRD).</summary>
    public const string SharedAddress = "2001:db8:100::1";
    /// <summary>MAGs the load generator emulates from pmip-load (2001:db8:1::100 + i), authorised and keyed at every node.</summary>
    public const int LoadMags = 4;
    public const int ClusterPort = 2552;
    /// <summary>Failure detection tuned for the lab's links (the issue's target is traffic back in under 10 s).</summary>
    public const string StableAfter = "1500ms";
    public const string PostgresDirectory = "pg";
    public const string ClusterFile = "cluster.conf";

    public static string LmaName(int node) => $"lma{node}";

    public static string LmaNamespace(int node) => $"pmip-lma{node}";

    public static string LmaFile(int node) => $"lma{node}.conf";

    /// <summary>The node's address on its core link (BGP peering, default route) and the core's end.</summary>
    public static string NodeAddress(int node) => $"2001:db8:c0:{node}::2";

    public static string CoreAddressTowards(int node) => $"2001:db8:c0:{node}::1";

    /// <summary>The node's cluster (Akka remoting) address: IPv4 on its core link.</summary>
    public static string ClusterHost(int node) => $"10.9.{node}.2";

    public const string LoadAddress = "2001:db8:c0:fe::2";
    public const string CoreLoadAddress = "2001:db8:c0:fe::1";

    public static IReadOnlyList<string> LoadMagAddresses =>
        [.. Enumerable.Range(0, LoadMags).Select(i => new Ipv6Address(Ipv6Address.Parse("2001:db8:1::100").Value + (UInt128)i).ToString())];

    public static IEnumerable<int> Nodes(LabPlan plan) => Enumerable.Range(1, plan.Lmas);

    /// <summary>The namespaces the cluster adds to the MAGs', the CN's and the nodes' (the core replaces the single LMA's pmip-lma).</summary>
    public static IEnumerable<string> Namespaces(LabPlan plan) => [CoreNamespace, .. Nodes(plan).Select(LmaNamespace), LoadNamespace];

    /// <summary>
    /// The core's links to every LMA node and to pmip-load, and the routes that do not come from BGP: each node's default
    /// via the core, the core's route to the load MAGs, each MAG's route to the LMAA via the core. The transport bridge and
    /// the CN's link are LabTopology's (in the core instead of pmip-lma).
    /// </summary>
    public static void Build(LabPlan plan)
    {
        NetnsRunner.Sysctl(CoreNamespace, ("net.ipv4.ip_forward", "1"));
        foreach (var node in Nodes(plan))
            NetnsRunner.Sysctl(LmaNamespace(node), ("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.conf.default.accept_dad", "0"));
        NetnsRunner.Sysctl(LoadNamespace, ("net.ipv6.conf.default.accept_dad", "0"));
        Tool.IpBatch(null, [
            .. Nodes(plan).Select(n => $"link add name {LmaName(n)} netns {CoreNamespace} type veth peer name core netns {LmaNamespace(n)}"),
            $"link add name load netns {CoreNamespace} type veth peer name core netns {LoadNamespace}",
        ]);
        Tool.IpBatch(CoreNamespace, [
            .. Nodes(plan).SelectMany(n => new[]
            {
                $"addr add {CoreAddressTowards(n)}/64 dev {LmaName(n)} nodad",
                $"addr add 10.9.{n}.1/24 dev {LmaName(n)}",
                $"link set {LmaName(n)} up",
            }),
            $"addr add {CoreLoadAddress}/64 dev load nodad",
            "link set load up",
            $"route add 2001:db8:1::/64 via {LoadAddress} dev load",
        ]);
        foreach (var node in Nodes(plan))
            Tool.IpBatch(LmaNamespace(node), [
                "link set lo up",
                $"addr add {NodeAddress(node)}/64 dev core nodad",
                $"addr add {ClusterHost(node)}/24 dev core",
                "link set core up",
                $"route add default via {CoreAddressTowards(node)} dev core",
                $"route add default via 10.9.{node}.1 dev core",
            ]);
        Tool.IpBatch(LoadNamespace, [
            "link set lo up",
            $"addr add {LoadAddress}/64 dev core nodad",
            .. LoadMagAddresses.Select(a => $"addr add {a}/128 dev core nodad"),
            "link set core up",
            $"route add default via {CoreLoadAddress} dev core",
        ]);
        foreach (var mag in plan.MagList)
            Tool.IpBatch(mag.Namespace, [$"route add {SharedAddress}/128 via {LabPlan.LmaAddress} dev lma"]);
    }

    // ---- routing: BIRD 2 in the core and in every node ----

    /// <summary>The core's BIRD configuration for <paramref name="lmas"/> nodes (also the cluster end-to-end specs', whose addresses are these).</summary>
    public static string CoreBirdConfig(int lmas) => BirdConfig.ForCore(new CoreRouting(IPAddress.Parse("10.255.0.254"), 65000,
        [.. Enumerable.Range(1, lmas).Select(n => new BgpNeighbor(LmaName(n), Ipv6Address.Parse(NodeAddress(n)), 65000u + (uint)n, LmaName(n)))],
        Ipv6Address.Parse(SharedAddress), Ipv6Prefix.Parse(LabPlan.PrefixPool), LabPlan.PrefixLength, BfdTiming.Default));

    public static string NodeBirdConfig(int node) => BirdConfig.ForLmaNode(new LmaRouting(IPAddress.Parse($"10.255.0.{node}"), 65000u + (uint)node,
        new BgpNeighbor("core", Ipv6Address.Parse(CoreAddressTowards(node)), 65000, "core"), Ipv6Address.Parse(SharedAddress),
        Ipv6Prefix.Parse(LabPlan.PrefixPool), LabPlan.PrefixLength, LabPlan.TunnelDevice, BfdTiming.Default));

    /// <summary>Installs BIRD when missing, writes and checks every configuration, starts a BIRD in the core and in each node.</summary>
    public static void StartRouting(LabPlan plan, string runDirectory)
    {
        Script("bird.sh", "install");
        var routers = new List<(string Name, string Namespace, string Config)> { ("bird-core", CoreNamespace, CoreBirdConfig(plan.Lmas)) };
        routers.AddRange(Nodes(plan).Select(n => ($"bird-{LmaName(n)}", LmaNamespace(n), NodeBirdConfig(n))));
        foreach (var (name, ns, config) in routers)
        {
            var file = Path.Combine(runDirectory, name + ".conf");
            File.WriteAllText(file, config);
            Script("bird.sh", "check", file);
            LabDaemons.StartProgram(runDirectory, name, ns, "bird", "-f", "-c", file, "-s", Path.Combine(runDirectory, name + ".ctl"));
        }
    }

    /// <summary>The next hops the core (the lab's, or <paramref name="core"/>) has towards the LMAA: one per node whose BGP session is up and announces it.</summary>
    public static int SharedAddressPaths(string core = CoreNamespace)
    {
        var route = Tool.TryRun("ip", ["-n", core, "-6", "route", "show", $"{SharedAddress}/128"]).Output;
        var nexthops = route.Split('\n').Count(l => l.TrimStart().StartsWith("nexthop", StringComparison.Ordinal));
        return nexthops > 0 ? nexthops : route.Contains(" via ", StringComparison.Ordinal) ? 1 : 0;
    }

    /// <summary>Prefix-slice routes the core learnt by BGP (one per bucket while every bucket runs somewhere).</summary>
    public static int SliceRoutesAtCore() =>
        Tool.TryRun("ip", ["-n", CoreNamespace, "-6", "route", "show", "proto", "bird"]).Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => !l.StartsWith(SharedAddress, StringComparison.Ordinal));

    // ---- the journal: PostgreSQL from scripts/postgres.sh ----

    /// <summary>Starts (installing when missing) the lab's PostgreSQL; the connection string over its unix socket.</summary>
    public static string StartPostgres(string runDirectory)
    {
        var dir = Path.Combine(runDirectory, PostgresDirectory);
        var printed = Script("postgres.sh", "start", dir).Trim().Split('\n')[^1];
        if (!printed.StartsWith("Host=127.0.0.1;", StringComparison.Ordinal))
            throw new LabFailure($"scripts/postgres.sh start printed no connection string: {printed}");
        // N nodes x Npgsql's default pool (100) would pass the server's max_connections (200).
        return printed.Replace("Host=127.0.0.1;", $"Host={Path.Combine(dir, "run")};", StringComparison.Ordinal) + ";Maximum Pool Size=40";
    }

    /// <summary>Stops the lab's PostgreSQL and removes its data, when the run directory has one. Never throws (tear-down).</summary>
    public static string? StopPostgres(string runDirectory)
    {
        var dir = Path.Combine(runDirectory, PostgresDirectory);
        if (!Directory.Exists(dir) || FindScript("postgres.sh") is not { } script)
            return null;
        var result = Tool.TryRun("bash", [script, "stop", dir]);
        return result.ExitCode == 0 ? null : Tool.FirstLine(result.Error);
    }

    // ---- configuration ----

    public static string ClusterConfig(LabPlan plan, string journal) => $$"""
        # Written by `pmip6 lab up`; removed by `pmip6 lab down`. Shared by every LMA node; each names its own address in lmaN.conf.
        pmip6.cluster {
          seed-nodes = [{{string.Join(", ", Nodes(plan).Select(n => $"\"{ClusterHost(n)}:{ClusterPort}\""))}}]
          min-members = {{plan.Lmas}}
          roles = ["lma"]
          split-brain-resolver { strategy = "keep-majority", stable-after = {{StableAfter}}, down-all-when-unstable = on }
          failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 1500ms }
          sharding { shards = 30, remember-entities-store = "eventsourced" }
          journal { provider = "postgresql", postgresql.connection-string = "{{journal}}" }
        }
        """;

    /// <summary>The cluster-specific lines of node <paramref name="node"/>'s lma.conf.</summary>
    public static string NodeLines(int node, string runDirectory, string indent) => string.Join("\n", new[]
    {
        $"store = \"{Path.Combine(runDirectory, LmaName(node) + ".db")}\"",
        $"cluster-file = \"{ClusterFile}\"",
        $"cluster-hostname = \"{ClusterHost(node)}\"",
        $"cluster-port = {ClusterPort}",
    }.Select(l => indent + l));

    // ---- scripts shipped beside the binary (scripts/ of the repository) ----

    /// <summary>scripts/NAME, looked for upwards from pmip6.dll (the build output lies inside the repository).</summary>
    public static string? FindScript(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static string Script(string name, params string[] args)
    {
        var script = FindScript(name) ?? throw new LabFailure($"scripts/{name} not found above {AppContext.BaseDirectory} (run pmip6 from its repository)");
        var result = Tool.TryRun("bash", [script, .. args]);
        if (result.ExitCode != 0)
            throw new LabFailure($"scripts/{name} {string.Join(' ', args)} failed: {Tool.FirstLine(result.Error)}");
        return result.Output;
    }

    public static string Describe(LabPlan plan) =>
        string.Create(CultureInfo.InvariantCulture, $"{plan.Lmas} LMA node{(plan.Lmas == 1 ? "" : "s")} on {plan.Store}, LMAA {SharedAddress}");
}
