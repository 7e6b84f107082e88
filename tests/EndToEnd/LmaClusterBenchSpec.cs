// `pmip6 bench signaling` against the shared LMA address of a cluster of 1, 2 and 3 `pmip6 lma` processes (issue 9):
// first registrations per second, PBA latency, and the CPU seconds each LMA process spent per registration. All the
// processes — every LMA node, PostgreSQL, BIRD and the load generator — share this machine's cores, so the figures
// say what a node costs, not what separate machines would reach.
using System.Text.Json;
using Xunit.Abstractions;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LmaClusterCollection.Name)]
public sealed class LmaClusterBenchSpec(ITestOutputHelper output)
{
    private const int Sessions = 20_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_registration_of_the_bench_is_answered_by_a_cluster_of(int nodes)
    {
        using var cluster = new LmaClusterDomain(output.WriteLine, nodes, withMag: false);
        var members = Enumerable.Range(1, nodes).ToArray();
        var pbasBefore = members.ToDictionary(n => n, n => LmaClusterDomain.Counter(cluster.LmaStatus(n), "pba_sent_total"));
        var cpuBefore = members.ToDictionary(n => n, cluster.LmaCpu);
        var report = cluster.Bench("--sessions", Sessions.ToString());
        var cpu = members.ToDictionary(n => n, n => (cluster.LmaCpu(n) - cpuBefore[n]).TotalSeconds);
        var registration = report.GetProperty("registration");
        var accepted = registration.GetProperty("accepted").GetInt64();
        var perNode = members.ToDictionary(n => n, n => LmaClusterDomain.Counter(cluster.LmaStatus(n), "pba_sent_total") - pbasBefore[n]);
        var latency = registration.GetProperty("latencyMs");
        output.WriteLine($"{nodes} node(s), {Environment.ProcessorCount} cores shared by all: {accepted}/{Sessions} accepted in " +
                         $"{registration.GetProperty("seconds").GetDouble():F1} s = {registration.GetProperty("perSecond").GetDouble():F0} registrations/s, " +
                         $"PBA latency p50 {latency.GetProperty("p50").GetDouble():F1} ms p99 {latency.GetProperty("p99").GetDouble():F1} ms, " +
                         $"lost {registration.GetProperty("lost").GetInt64()}, PBA statuses {registration.GetProperty("statuses")}");
        foreach (var n in members)
            output.WriteLine($"  lma{n}: {perNode[n]} PBAs sent, {cpu[n]:F2} CPU s, {cpu[n] / Math.Max(1, perNode[n]) * 1e3:F2} CPU ms per registration it answered, " +
                             $"{cpu[n] / accepted * 1e3:F2} CPU ms per registration of the cluster");
        output.WriteLine($"  cluster: {cpu.Values.Sum() / accepted * 1e3:F2} CPU ms per registration in all");
        Assert.Equal(Sessions, accepted);
        Assert.Equal(0, registration.GetProperty("lost").GetInt64());
        // Each node answered for the buckets it owns: every node took part.
        Assert.All(members, n => Assert.True(perNode[n] > 0, $"lma{n} answered no PBU"));
        Assert.Equal(Sessions, perNode.Values.Sum());
    }
}
