// Counters and latency histograms of one node, shared by its actors (thread-safe) and read by the
// /status and /metrics endpoints. Names follow Prometheus conventions (snake_case, _total).
using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Pmip6Akka.Actors.Observability;

public sealed class Counters
{
    private readonly ConcurrentDictionary<(string Name, string Label, string Value), long> _counts = new();
    private readonly ConcurrentDictionary<string, Histogram> _histograms = new();

    /// <summary>
    /// Adds to a counter with at most one label; several labels are written comma-separated in both
    /// (label "what,result", value "keys,loaded") and rendered as {what="keys",result="loaded"}.
    /// </summary>
    // Static lambdas with the increment as argument: no closure allocated per call (the receive thread counts
    // every message of a flood).
    public void Increment(string name, string label = "", string value = "", long by = 1) =>
        _counts.AddOrUpdate((name, label, value), static (_, by) => by, static (_, old, by) => old + by, by);

    public long Get(string name, string label = "", string value = "") => _counts.GetValueOrDefault((name, label, value));

    public void Observe(string name, double seconds) => _histograms.GetOrAdd(name, _ => new Histogram()).Observe(seconds);

    public CounterSnapshot Snapshot() => new(
        [.. _counts.Select(kv => new CounterValue(kv.Key.Name, kv.Key.Label, kv.Key.Value, kv.Value)).OrderBy(c => c.Name).ThenBy(c => c.Value)],
        _histograms.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.Snapshot()));

    /// <summary>A fixed-bucket latency histogram (seconds), lock-free.</summary>
    public sealed class Histogram
    {
        public static readonly double[] Bounds = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
        private readonly long[] _buckets = new long[Bounds.Length + 1];
        private long _count;
        private long _sumMicros;

        public void Observe(double seconds)
        {
            var i = 0;
            while (i < Bounds.Length && seconds > Bounds[i]) i++;
            Interlocked.Increment(ref _buckets[i]);
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _sumMicros, (long)(seconds * 1e6));
        }

        public HistogramSnapshot Snapshot() => new([.. _buckets.Select(b => Interlocked.Read(ref b))], Interlocked.Read(ref _count), Interlocked.Read(ref _sumMicros) / 1e6);
    }
}

public sealed record CounterValue(string Name, string Label, string LabelValue, long Value);

public sealed record HistogramSnapshot(ImmutableArray<long> Buckets, long Count, double SumSeconds);

public sealed record CounterSnapshot(ImmutableArray<CounterValue> Counters, ImmutableDictionary<string, HistogramSnapshot> Histograms);
