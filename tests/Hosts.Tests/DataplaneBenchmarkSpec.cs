using System.Text.Json;

namespace Pmip6Akka.Hosts.Tests;

/// <summary>`pmip6 bench dataplane` in namespaces pmip-bench-{cn,lma,mag,mn} (runs as root).</summary>
[Collection(BenchNamespaces.Name)]
public class DataplaneBenchmarkSpec
{
    [Fact]
    public void Dataplane_bench_measures_both_paths_and_removes_its_namespaces()
    {
        var run = Cli.Run("bench", "dataplane", "--duration", "1", "--sizes", "64", "--pings", "50", "--json");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Err}{run.Out}");
        using var report = JsonDocument.Parse(run.Out);
        var size = Assert.Single(report.RootElement.GetProperty("throughput").EnumerateArray());
        Assert.Equal(64, size.GetProperty("size").GetInt32());
        Assert.True(size.GetProperty("kernel").GetProperty("packetsPerSecond").GetDouble() > 0);
        Assert.True(size.GetProperty("tunnel").GetProperty("packetsPerSecond").GetDouble() > 0);
        Assert.Equal(50, report.RootElement.GetProperty("latency").GetProperty("tunnel").GetProperty("replies").GetInt32());
        Assert.True(report.RootElement.GetProperty("tunnelCounters").GetProperty("magDecapsulated").GetInt64() > 0);
        Assert.DoesNotContain("pmip-bench-", Cli.Tool("ip", "netns", "list"));
    }

    [Theory]
    [InlineData("bench dataplane --sizes 64,700000", "--sizes", "unknown size '700000'")]
    [InlineData("bench dataplane --sizes 20", "--sizes", "unknown size '20'")]
    [InlineData("bench dataplane --sizes 64,big", "--sizes", "unknown size 'big'")]
    [InlineData("bench dataplane --sizes", "--sizes", "needs a value")]
    [InlineData("bench dataplane --duration 0", "--duration", "must be an integer from 1 to 600")]
    [InlineData("bench dataplane --duration soon", "--duration", "got 'soon'")]
    [InlineData("bench dataplane --pings 0", "--pings", "must be an integer from 1")]
    [InlineData("bench dataplane --rate 5", "--rate", "unknown option")]
    [InlineData("bench dataplane --cpu-latency-limit-us soon", "--cpu-latency-limit-us", "must be 0..1000000 or off")]
    public void Bad_dataplane_bench_arguments_exit_2_naming_the_option(string line, string option, string reason)
    {
        var run = Cli.Run(line.Split(' '));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(option, run.Err);
        Assert.Contains(reason, run.Err);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("pmip-bench-", Cli.Tool("ip", "netns", "list"));
    }
}

/// <summary>The benches that create pmip-bench* namespaces run one at a time: each asserts none is left.</summary>
[CollectionDefinition(Name)]
public sealed class BenchNamespaces
{
    public const string Name = "bench namespaces";
}
