using System.Text.Json;
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Tests;

/// <summary>`pmip6 bench signaling` against our own LMA in a namespace of its own (runs as root).</summary>
[Collection(BenchNamespaces.Name)]
public class SignalingBenchmarkSpec
{
    private const string Namespace = "pmipp-bspec";

    [Fact]
    public void Signaling_bench_against_self_registers_every_session()
    {
        var run = Cli.Run("bench", "signaling", "--against-self", "--namespace", Namespace, "--sessions", "200", "--mags", "4", "--json");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Err}{run.Out}");
        using var report = JsonDocument.Parse(run.Out);
        var registration = report.RootElement.GetProperty("registration");
        Assert.Equal(200, registration.GetProperty("accepted").GetInt64());
        Assert.Equal(200, registration.GetProperty("statuses").GetProperty("0").GetInt64());
        Assert.Equal(0, registration.GetProperty("lost").GetInt64());
        Assert.Equal(200, report.RootElement.GetProperty("lmaMemory").GetProperty("bindings").GetInt64());
        Assert.DoesNotContain(Namespace, Cli.Tool("ip", "netns", "list"));
        Assert.DoesNotContain("2001:db8:1::100/", Cli.Tool("ip", "-6", "addr", "show", "dev", "lo"));
    }

    [Fact]
    public void Signaling_bench_refreshes_the_registered_sessions_for_the_duration()
    {
        var run = Cli.Run("bench", "signaling", "--against-self", "--namespace", Namespace, "--sessions", "50", "--mags", "2", "--rate", "100", "--duration", "2");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Err}{run.Out}");
        Assert.Contains("registration: status 0: 50; lost 0", run.Out);
        Assert.Matches(@"refresh: status 0: \d+; lost 0", run.Out);
        Assert.Contains("cores shared by the LMA and the load generator", run.Out);
        Assert.Contains($"in namespace {Namespace};", run.Out);
        // Our LMA's garbage collector per phase, from its /metrics: what a PBA's tail is made of.
        Assert.Matches(@"registration: LMA garbage collections \d+ gen0, \d+ gen1, \d+ gen2; paused \d+\.\d ms", run.Out);
        Assert.Matches(@"refresh: LMA garbage collections \d+ gen0, \d+ gen1, \d+ gen2; paused \d+\.\d ms", run.Out);
        Assert.DoesNotContain(Namespace, Cli.Tool("ip", "netns", "list"));
    }

    [Fact]
    public void Collections_during_a_phase_are_counted_by_the_generation_they_reached()
    {
        // CollectionCount(n) counts collections of generation n or higher: a gen2 collection raises all three.
        var before = new SignalingBenchmark.GcSample(PausedSeconds: 1.0, Gen0: 10, Gen1: 4, Gen2: 1);
        var after = new SignalingBenchmark.GcSample(PausedSeconds: 1.25, Gen0: 20, Gen1: 7, Gen2: 2);
        var during = SignalingBenchmark.GcSample.During(before, after)!;
        Assert.Equal((7L, 2L, 1L), (during.Gen0, during.Gen1, during.Gen2));
        Assert.Equal("LMA garbage collections 7 gen0, 2 gen1, 1 gen2; paused 250.0 ms (2.50 % of the phase, 25.00 ms per collection on average)",
            during.Text(TimeSpan.FromSeconds(10)));
        Assert.Null(SignalingBenchmark.GcSample.During(before, null)); // another LMA: no figures, no guess
        Assert.Null(SignalingBenchmark.GcSample.From(MetricsScrape.Parse("pmip6_lma_bindings 3\n")));
        Assert.Equal(new SignalingBenchmark.GcSample(0.25, 9, 3, 1), SignalingBenchmark.GcSample.From(MetricsScrape.Parse(
            "pmip6_lma_gc_paused_seconds_total 0.25\npmip6_lma_gc_collections_gen0_total 9\npmip6_lma_gc_collections_gen1_total 3\npmip6_lma_gc_collections_gen2_total 1\n")));
    }

    [Fact]
    public void The_daemons_metrics_carry_the_runtime_garbage_collector_as_counters()
    {
        var counters = Http.Prometheus.RuntimeCounters().ToDictionary(g => g.Name, g => g.Value);
        Assert.Equal(["gc_collections_gen0_total", "gc_collections_gen1_total", "gc_collections_gen2_total", "gc_paused_seconds_total"], counters.Keys.Order());
        Assert.True(counters["gc_collections_gen0_total"] >= counters["gc_collections_gen1_total"]
                    && counters["gc_collections_gen1_total"] >= counters["gc_collections_gen2_total"]);
        Assert.True(counters["gc_paused_seconds_total"] >= 0);

        var text = Http.Prometheus.Render(new Actors.Observability.Counters().Snapshot(), "pmip6_lma_", [("bindings", "b", 1)], Http.Prometheus.RuntimeCounters());
        Assert.Contains("# TYPE pmip6_lma_gc_paused_seconds_total counter\n", text);
        Assert.Contains("# TYPE pmip6_lma_bindings gauge\n", text);
        // The bench reads what the daemon writes: each figure under its own name.
        var read = SignalingBenchmark.GcSample.From(MetricsScrape.Parse(Http.Prometheus.Render(new Actors.Observability.Counters().Snapshot(), "pmip6_lma_", [],
            [("gc_paused_seconds_total", "", 0.5), ("gc_collections_gen0_total", "", 7), ("gc_collections_gen1_total", "", 2), ("gc_collections_gen2_total", "", 1)])));
        Assert.Equal(new SignalingBenchmark.GcSample(0.5, 7, 2, 1), read);
    }

    [Theory]
    [InlineData("bench signaling --against-self --sessions 0", "--sessions must be an integer from 1")]
    [InlineData("bench signaling --against-self --sessions 3 --mags 4", "--mags (4) cannot exceed --sessions (3)")]
    [InlineData("bench signaling --lma 2001:db8::zz --sessions 10", "--lma must be an IPv6 address, got '2001:db8::zz'")]
    [InlineData("bench signaling --sessions 10", "missing option --lma")]
    [InlineData("bench signaling --lma 2001:db8:100::1", "missing option --sessions")]
    [InlineData("bench signaling --against-self --sessions 10 --rate 0", "--rate must be an integer from 1")]
    [InlineData("bench signaling --against-self --sessions 10 --namespace a/b", "--namespace must be 1-15 letters, digits, '-' or '_', got 'a/b'")]
    [InlineData("bench signaling --lma 2001:db8:100::1 --sessions 10 --namespace pmipp-x", "--namespace is where --against-self starts our LMA")]
    public void Bad_signaling_bench_arguments_exit_2_with_one_line(string line, string reason)
    {
        var run = Cli.Run(line.Split(' '));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(reason, run.Err);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
