// What an operator installs from deploy/: the Grafana dashboard (valid JSON, and every metric it
// queries is one the daemons export) and the systemd units (reload by SIGHUP, stop by SIGTERM).
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pmip6Akka.Hosts.Tests;

public sealed partial class DeploySpec
{
    private static string Root() => Cli.RepositoryRoot();

    /// <summary>The metric names the code exports (without the pmip6_lma_ / pmip6_mag_ prefix): counters, histograms and gauges.</summary>
    private static HashSet<string> ExportedNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Root(), "src"), "*.cs", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file);
            foreach (Match m in Exported().Matches(text))
                names.Add(m.Groups["name"].Value);
        }
        return names;
    }

    // Increment("x_total", ...), Observe("x_seconds", ...), a gauge ("name", "help", value), const string Counter = "x_total".
    [GeneratedRegex(@"(?:Increment\(\s*|Observe\(\s*|\(\s*(?=""[a-z0-9_]+"",\s*""[^""]+"",)|const string Counter = )""(?<name>[a-z][a-z0-9_]*)""")]
    private static partial Regex Exported();

    [GeneratedRegex(@"pmip6_(?<role>lma|mag)_(?<name>[a-z0-9_]+)")]
    private static partial Regex Queried();

    [Fact]
    public void The_grafana_dashboard_parses_and_queries_only_metrics_the_daemons_export()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root(), "deploy", "grafana", "pmip6.json")));
        var exported = ExportedNames();
        Assert.Contains("pbu_received_total", exported); // the scan itself finds counters, histograms, gauges and the reload counter
        Assert.Contains("pbu_processing_seconds", exported);
        Assert.Contains("tunnel_prefixes", exported);
        Assert.Contains("config_reloads_total", exported);

        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        Assert.NotEmpty(expressions);
        var queried = expressions.SelectMany(e => Queried().Matches(e).Select(m => m.Groups["name"].Value)).ToList();
        foreach (var name in queried)
        {
            var metric = Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(exported.Contains(metric), $"the dashboard queries {name}, which no daemon exports");
        }
        foreach (var wanted in new[] { "pba_sent_total", "pbu_received_total", "pbu_processing_seconds_bucket", "mh_auth_rejected_total",
                     "reflector_fallback_total", "config_reloads_total", "bindings", "sessions" })
            Assert.Contains(wanted, queried);
        Assert.Contains(queried, n => n.StartsWith("tunnel_", StringComparison.Ordinal));
        Assert.Contains(queried, n => n.StartsWith("buffering_", StringComparison.Ordinal));
        Assert.Contains(queried, n => n.StartsWith("buffer_", StringComparison.Ordinal));
        Assert.Contains(queried, n => n.StartsWith("context_", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("lma")]
    [InlineData("mag")]
    public void The_systemd_unit_reloads_with_sighup_and_starts_the_daemon_with_its_config(string role)
    {
        var unit = File.ReadAllLines(Path.Combine(Root(), "deploy", "systemd", $"pmip6-{role}.service"))
            .Where(l => l.Contains('=') && !l.TrimStart().StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToLookup(kv => kv[0].Trim(), kv => kv[1].Trim());
        Assert.Equal($"/opt/pmip6/pmip6 {role} --config /etc/pmip6/{role}.conf", unit["ExecStart"].Single());
        Assert.Equal("/bin/kill -HUP $MAINPID", unit["ExecReload"].Single());
        Assert.Equal("SIGTERM", unit["KillSignal"].Single());
        Assert.Equal("on-failure", unit["Restart"].Single());
        Assert.Equal("pmip6", unit["StateDirectory"].Single());
        Assert.Contains("CAP_NET_ADMIN", unit["CapabilityBoundingSet"].Single());
        Assert.Contains("CAP_NET_RAW", unit["CapabilityBoundingSet"].Single());
        Assert.NotEmpty(unit["LimitNOFILE"]);
        // The stop timeout leaves room for shutdown.timeout (20 s by default) in the shipped config.
        Assert.True(int.Parse(unit["TimeoutStopSec"].Single().TrimEnd('s')) > 20);
    }
}
