using System.Collections.Immutable;
using System.Globalization;
using Akka.Configuration;

namespace Pmip6Akka.Actors.Persistence;

/// <summary>
/// How an LMA node takes part in its Akka.Cluster: where it listens, whom it joins, how a dead member
/// is downed, and how the binding buckets are sharded. Validated by the host's reader of
/// hocon/cluster.conf (`pmip6.cluster`); this record only renders what it holds into Akka keys.
/// </summary>
public sealed record ClusterOptions
{
    /// <summary>The address other members reach this node at (remoting hostname).</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Members contacted to join, as host:port; empty: this node joins itself (a one-node cluster).</summary>
    public ImmutableArray<string> SeedNodes { get; init; } = [];

    /// <summary>Roles of this member; binding buckets run on members with role <see cref="LmaRole"/>.</summary>
    public ImmutableArray<string> Roles { get; init; } = [LmaRole];

    /// <summary>Members that must have joined before any becomes Up (and so before shards are allocated).</summary>
    public int MinMembers { get; init; } = 1;

    /// <summary>Shards the 256 binding buckets are grouped into; fixed for the cluster's life.</summary>
    public int Shards { get; init; } = MnIdMessageExtractor.DefaultShards;

    /// <summary>Split-brain resolver (keep-majority): how long membership must be stable before it downs the unreachable side.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Down every member when reachability keeps changing for longer than stable-after (plus 3/4 of it).</summary>
    public bool DownAllWhenUnstable { get; init; } = true;

    /// <summary>Failure detector: how often members heartbeat each other...</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>...and how long a member may stay silent before it is seen unreachable (Akka's default 3 s).</summary>
    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(3);

    public const string LmaRole = "lma";

    /// <summary>The Akka address of a seed given as host:port ("[v6]:port" for IPv6).</summary>
    public static string SeedAddress(string systemName, string hostPort) => $"akka.tcp://{systemName}@{hostPort}";

    /// <summary>The Akka keys for this node (layered over hocon/persistence.conf by <see cref="ActorSystemFactory"/>).</summary>
    public Config ToConfig(string systemName)
    {
        static string Quoted(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var seeds = string.Join(", ", SeedNodes.Select(s => Quoted(SeedAddress(systemName, s))));
        var roles = string.Join(", ", Roles.Select(Quoted));
        static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        var stable = Ms(StableAfter);
        return ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp.hostname = {{Quoted(Hostname)}}
            akka.cluster.seed-nodes = [{{seeds}}]
            akka.cluster.roles = [{{roles}}]
            akka.cluster.min-nr-of-members = {{MinMembers}}
            akka.cluster.split-brain-resolver.stable-after = {{stable}}
            akka.cluster.split-brain-resolver.down-all-when-unstable = {{(DownAllWhenUnstable ? "on" : "off")}}
            akka.cluster.failure-detector.heartbeat-interval = {{Ms(HeartbeatInterval)}}
            akka.cluster.failure-detector.acceptable-heartbeat-pause = {{Ms(AcceptableHeartbeatPause)}}
            """);
    }
}
