// Issue 9 end to end: three real `pmip6 lma` processes in one cluster behind a BIRD core router, one MAG daemon.
// The node owning a chosen mobile node is killed with SIGKILL; the spec measures how long until every binding is
// served again, until downlink from the core reaches the MN's prefix through the new owner, and until a new mobile
// node in one of the dead node's buckets is registered — and checks that no binding or prefix was lost or reassigned.
using System.Diagnostics;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LmaClusterCollection.Name)]
public sealed class LmaClusterFailoverSpec(ITestOutputHelper output)
{
    private const int MobileNodes = 30;

    private static string Mn(int i) => $"mn{i}{LmaClusterDomain.MobileNodeSuffix}";

    private static Ipv6Address HostIn(string prefix) => new(Ipv6Prefix.Parse(prefix).Address.Value | 1);

    [Fact]
    public void Killing_the_lma_node_that_owns_a_mobile_node_loses_no_binding_and_reassigns_no_prefix()
    {
        using var cluster = new LmaClusterDomain(output.WriteLine);
        var nodes = Enumerable.Range(1, cluster.Nodes).ToArray();

        // One cluster: the 256 buckets spread over the three processes, each routing exactly its own slices.
        var buckets = nodes.ToDictionary(n => n, cluster.Buckets);
        DaemonDomain.Eventually(() =>
        {
            buckets = nodes.ToDictionary(n => n, cluster.Buckets);
            Assert.Equal(BindingBuckets.Count, buckets.Values.Sum(b => b.Length));
        }, TimeSpan.FromSeconds(20));
        Assert.Equal(BindingBuckets.Count, buckets.Values.SelectMany(b => b).Distinct().Count());
        Assert.All(nodes, n => Assert.NotEmpty(buckets[n]));
        output.WriteLine($"buckets per node: {string.Join(", ", nodes.Select(n => $"lma{n} {buckets[n].Length}"))}");
        DaemonDomain.Eventually(() => Assert.All(nodes, n => Assert.Equal(buckets[n].Length, LmaClusterDomain.SliceRoutes(LmaClusterDomain.Lma(n)).Length)),
            TimeSpan.FromSeconds(10));
        // Each node announces the shared address only once it serves: its protocol-99 route into the tunnel device.
        Assert.All(nodes, n => Assert.Contains(LmaClusterDomain.Routes(LmaClusterDomain.Lma(n), "99"), r => r.StartsWith($"{LmaClusterDomain.SharedAddress} dev pmip6-tun")));
        Assert.All(nodes, n => Assert.DoesNotContain(LmaClusterDomain.SliceRoutes(LmaClusterDomain.Lma(n)), r => r.StartsWith(LmaClusterDomain.Pool.ToString())));
        var counters = nodes.Select(n => cluster.LmaStatus(n).GetProperty("restartCounter").GetUInt32()).Distinct().ToArray();
        Assert.Single(counters);

        // BIRD: the core reaches the shared address over all three nodes and each slice over its owner.
        DaemonDomain.Eventually(() =>
        {
            Assert.Equal(3, LmaClusterDomain.LmaaPaths());
            Assert.Equal(BindingBuckets.Count, LmaClusterDomain.Routes(LmaClusterDomain.Core, "bird").Count(r => r.Contains($"/{LmaClusterDomain.Pool.Length + BindingBuckets.Bits} ")));
        }, TimeSpan.FromSeconds(20));

        // Registrations through the shared address: whichever node receives a PBU, the bucket's owner answers.
        for (var i = 0; i < MobileNodes; i++)
            cluster.Attach(Mn(i));
        var registered = new Dictionary<string, string>();
        DaemonDomain.Eventually(() =>
        {
            registered = cluster.MagRegistered();
            Assert.Equal(MobileNodes, registered.Count);
        }, TimeSpan.FromSeconds(20));
        Assert.Equal(MobileNodes, registered.Values.Distinct().Count());
        var held = nodes.ToDictionary(n => n, cluster.LmaBindings);
        Assert.Equal(registered.OrderBy(p => p.Key), held.Values.SelectMany(b => b).OrderBy(p => p.Key));

        // The owner answers every PBU itself, from the shared address, also one another node received and forwarded.
        var all = nodes.Select(n => cluster.LmaHistogram(n, "pbu_processing_seconds")).ToArray();
        var forwarded = nodes.Select(n => cluster.LmaHistogram(n, "pbu_processing_forwarded_seconds")).ToArray();
        var (forwardedSum, forwardedCount) = (forwarded.Sum(h => h.Sum), forwarded.Sum(h => h.Count));
        var (localSum, localCount) = (all.Sum(h => h.Sum) - forwardedSum, all.Sum(h => h.Count) - forwardedCount);
        output.WriteLine($"PBU received -> PBA sent by the owner: {localCount} received by the owner, mean {Ms(localSum, localCount)}; " +
                         $"{forwardedCount} forwarded by another node, mean {Ms(forwardedSum, forwardedCount)}");
        Assert.True(forwardedCount > 0, "no PBU was forwarded from the node that received it to the owner");

        // Uplink arrives at whichever node ECMP picks; a node that does not own the MN relays it to the owner.
        var sources = registered.Values.Select(HostIn).ToList();
        var arrived = cluster.SendUplinkThroughTunnel(sources, 40001);
        Assert.Equal(sources.Count, arrived.Count);
        var relayed = nodes.Sum(n => LmaClusterDomain.TunnelCounter(cluster.LmaStatus(n), "tunnel_relayed_to_owner_total"));
        var relayedIn = nodes.Sum(n => LmaClusterDomain.TunnelCounter(cluster.LmaStatus(n), "tunnel_relayed_from_peer_total"));
        output.WriteLine($"uplink: {arrived.Count}/{sources.Count} reached the core, {relayed} relayed to their owner ({relayedIn} received by owners)");
        Assert.True(relayed > 0, "no uplink packet was relayed (all MNs owned by the node ECMP picked?)");
        Assert.Equal(relayed, relayedIn);

        // The victim: the node owning mn0. Its downlink goes core -> owner -> MAG.
        var chosen = Mn(0);
        var victim = nodes.Single(n => held[n].ContainsKey(chosen));
        var survivors = nodes.Where(n => n != victim).ToArray();
        var target = HostIn(registered[chosen]);
        var magBefore = MagArrivals(cluster);
        Assert.Equal(5, cluster.SendDownlink(target, 5));
        DaemonDomain.Eventually(() => Assert.True(MagArrivals(cluster) >= magBefore + 5), TimeSpan.FromSeconds(5));
        var deadBucket = BindingBuckets.Bucket(chosen);
        var newcomer = Enumerable.Range(1000, 100_000).Select(Mn).First(mn => buckets[victim].Contains(BindingBuckets.Bucket(mn)));
        output.WriteLine($"victim lma{victim} owns {chosen} (bucket {deadBucket}, prefix {registered[chosen]}) and {held[victim].Count} of {MobileNodes} MNs");

        var killed = Stopwatch.StartNew();
        cluster.Kill(victim);
        output.WriteLine("SIGKILL sent");

        // Downlink: keep sending until the MAG sees it again (through a survivor that re-homed the bucket).
        TimeSpan? downlinkBack = null, bindingsBack = null, newcomerRegistered = null;
        var attachedNewcomer = false;
        var deadline = TimeSpan.FromSeconds(45);
        var downlinkMark = MagArrivals(cluster);
        while (killed.Elapsed < deadline && (downlinkBack is null || bindingsBack is null || newcomerRegistered is null))
        {
            if (downlinkBack is null)
            {
                if (MagArrivals(cluster) > downlinkMark)
                    downlinkBack = killed.Elapsed;
                else
                    cluster.SendDownlink(target, 1);
            }
            if (bindingsBack is null && survivors.Sum(n => TryBuckets(cluster, n)) == BindingBuckets.Count)
            {
                var now = survivors.SelectMany(n => cluster.LmaBindings(n)).ToDictionary(p => p.Key, p => p.Value);
                if (now.Count == MobileNodes)
                    bindingsBack = killed.Elapsed;
            }
            if (!attachedNewcomer && bindingsBack is not null)
            {
                cluster.Attach(newcomer);
                attachedNewcomer = true;
            }
            if (attachedNewcomer && newcomerRegistered is null && cluster.MagRegistered().ContainsKey(newcomer))
                newcomerRegistered = killed.Elapsed;
            Thread.Sleep(100);
        }
        output.WriteLine($"after SIGKILL: every binding on a survivor at {Seconds(bindingsBack)}, downlink to {chosen} back at {Seconds(downlinkBack)}, " +
                         $"new MN {newcomer} in a dead node's bucket registered at {Seconds(newcomerRegistered)}");
        Assert.NotNull(bindingsBack);
        Assert.NotNull(downlinkBack);
        Assert.NotNull(newcomerRegistered);

        // Nothing lost, nothing reassigned: every binding on exactly one survivor with its acknowledged prefix.
        var after = survivors.Select(n => cluster.LmaBindings(n)).ToArray();
        var union = after.SelectMany(b => b).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Select(p => p.Value).ToArray());
        foreach (var (mn, prefix) in registered)
            Assert.Equal([prefix], union[mn]);
        var fresh = cluster.MagRegistered()[newcomer];
        Assert.DoesNotContain(fresh, registered.Values);
        Assert.True(BindingBuckets.Slice(LmaClusterDomain.Pool, 64, BindingBuckets.Bucket(newcomer))!.Value.Contains(HostIn(fresh)));
        // The dead node's slices are routed by the survivors now, and the core reaches the LMAA over the two left.
        DaemonDomain.Eventually(() =>
        {
            Assert.Equal(BindingBuckets.Count, survivors.Sum(n => LmaClusterDomain.SliceRoutes(LmaClusterDomain.Lma(n)).Length));
            Assert.Equal(2, LmaClusterDomain.LmaaPaths());
        }, TimeSpan.FromSeconds(10));
        // The MAG kept every registration and never saw the LMA's restart counter change (it is the cluster's, in the journal).
        var mag = cluster.MagStatus();
        Assert.Equal(0, LmaClusterDomain.Counter(mag, "heartbeat_peer_restarts_total"));
        Assert.Equal(registered.OrderBy(p => p.Key), cluster.MagRegistered().Where(p => p.Key != newcomer).OrderBy(p => p.Key));
        Assert.All(survivors, n => Assert.Equal(counters[0], cluster.LmaStatus(n).GetProperty("restartCounter").GetUInt32()));
    }

    private static string Ms(double sum, long count) => count == 0 ? "-" : $"{sum / count * 1000:F1} ms";

    private static string Seconds(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:F1} s" : "never";

    /// <summary>Downlink the MAG's tunnel end received from the LMAA (decapsulated, or parked: these MNs have no access link).</summary>
    private static long MagArrivals(LmaClusterDomain cluster)
    {
        var status = cluster.MagStatus();
        return LmaClusterDomain.TunnelCounter(status, "tunnel_decapsulated_packets_total") + LmaClusterDomain.TunnelCounter(status, "tunnel_parked_total");
    }

    private static int TryBuckets(LmaClusterDomain cluster, int node)
    {
        try
        {
            return cluster.Buckets(node).Length;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or System.Text.Json.JsonException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
