// Renders a node's counters and histograms in the Prometheus text exposition format (0.0.4).
using System.Globalization;
using System.Text;
using Pmip6Akka.Actors.Observability;

namespace Pmip6Akka.Hosts.Http;

public static class Prometheus
{
    /// <summary>
    /// The runtime's garbage collector, for both daemons: how often each generation was collected and how long the process
    /// was paused for it since start (what a PBA's tail latency can be made of; `bench signaling` prints them per phase).
    /// Counters, as Prometheus names what only grows (`rate()` over them is the collections or pause per second).
    /// </summary>
    public static IEnumerable<(string Name, string Help, double Value)> RuntimeCounters() =>
    [
        ("gc_paused_seconds_total", "time the process was paused for garbage collection since it started", GC.GetTotalPauseDuration().TotalSeconds),
        ("gc_collections_gen0_total", "garbage collections of generation 0 or higher since start", GC.CollectionCount(0)),
        ("gc_collections_gen1_total", "garbage collections of generation 1 or higher since start", GC.CollectionCount(1)),
        ("gc_collections_gen2_total", "full (generation 2) garbage collections since start", GC.CollectionCount(2)),
    ];

    /// <param name="counters">Figures that only grow and are read elsewhere than from <paramref name="snapshot"/> (the runtime's).</param>
    public static string Render(CounterSnapshot snapshot, string prefix, IEnumerable<(string Name, string Help, double Value)> gauges,
        IEnumerable<(string Name, string Help, double Value)>? counters = null)
    {
        var sb = new StringBuilder();
        foreach (var group in snapshot.Counters.GroupBy(c => c.Name))
        {
            var name = prefix + group.Key;
            sb.Append("# TYPE ").Append(name).Append(" counter\n");
            foreach (var c in group)
            {
                sb.Append(name);
                if (c.Label.Length > 0)
                    AppendLabels(sb, c.Label, c.LabelValue);
                sb.Append(' ').Append(c.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        foreach (var (key, h) in snapshot.Histograms.OrderBy(kv => kv.Key))
        {
            var name = prefix + key;
            sb.Append("# TYPE ").Append(name).Append(" histogram\n");
            long cumulative = 0;
            for (var i = 0; i < Counters.Histogram.Bounds.Length; i++)
            {
                cumulative += h.Buckets[i];
                sb.Append(name).Append("_bucket{le=\"").Append(Counters.Histogram.Bounds[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                    .Append(cumulative).Append('\n');
            }
            sb.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(h.Count).Append('\n');
            sb.Append(name).Append("_sum ").Append(h.SumSeconds.ToString(CultureInfo.InvariantCulture)).Append('\n');
            sb.Append(name).Append("_count ").Append(h.Count).Append('\n');
        }
        foreach (var (gauge, help, value) in gauges)
            AppendSingle(sb, prefix + gauge, help, "gauge", value);
        foreach (var (counter, help, value) in counters ?? [])
            AppendSingle(sb, prefix + counter, help, "counter", value);
        return sb.ToString();
    }

    private static void AppendSingle(StringBuilder sb, string name, string help, string type, double value)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        sb.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>{label="value"}; comma-separated names take the comma-separated values in order (Counters.Increment).</summary>
    private static void AppendLabels(StringBuilder sb, string label, string value)
    {
        var names = label.Split(',');
        var values = names.Length > 1 ? value.Split(',', names.Length) : [value];
        sb.Append('{');
        for (var i = 0; i < names.Length; i++)
            sb.Append(i == 0 ? "" : ",").Append(names[i]).Append("=\"").Append(Escape(i < values.Length ? values[i] : "")).Append('"');
        sb.Append('}');
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
