using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Pmip6Akka.Actors.Persistence;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

/// <summary>
/// Throughput PROBE, not a timed assertion: prints persisted events/s for an
/// entity-per-MN workload on SQLite. Default run is small (keeps the suite fast); set
/// PMIP6_PROBE_FULL=1 for the full matrix (2,000 entities × 5 events per variant).
/// </summary>
public sealed class ThroughputProbeSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly bool Full = Environment.GetEnvironmentVariable("PMIP6_PROBE_FULL") == "1";

    public static TheoryData<string, bool, string> Variants()
    {
        var data = new TheoryData<string, bool, string>
        {
            { "Persist, persistence.conf as shipped", false, "" },
            { "PersistAsync, persistence.conf as shipped", true, "" },
        };
        if (Full)
        {
            data.Add("Persist, batch-size 500", false, "batch-size = 500");
            data.Add("PersistAsync, batch-size 500", true, "batch-size = 500");
            data.Add("Persist, parallelism 1", false, "parallelism = 1");
            data.Add("Persist, parallelism 1 batch-size 500", false, "parallelism = 1\nbatch-size = 500");
            data.Add("Persist, parallelism 6", false, "parallelism = 6");
            data.Add("Persist, no WAL", false, "#nowal");
            data.Add("Persist, max-concurrent-recoveries 50 (Akka default)", false, "akka.persistence.max-concurrent-recoveries = 50");
            data.Add("Persist, remember-entities off", false, "akka.cluster.sharding.remember-entities = off");
            data.Add("Persist, batch-size 500 + max-concurrent-recoveries 200", false, "batch-size = 500\nakka.persistence.max-concurrent-recoveries = 200");
            data.Add("PersistAsync, batch-size 500 + max-concurrent-recoveries 200", true, "batch-size = 500\nakka.persistence.max-concurrent-recoveries = 200");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Prints_persisted_events_per_second_for_one_entity_per_id(string label, bool persistAsync, string journalHocon)
    {
        var entities = Full ? 2000 : 500;
        const int eventsPerEntity = 5;
        using var db = new TempDb();
        var extra = ConfigurationFactory.ParseString(
            "akka.loglevel = WARNING\n" +
            string.Join('\n', journalHocon.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith('#')).Select(l => l.StartsWith("akka.") ? l : "akka.persistence.journal.sql." + l)));

        var node = await ActorSystemFactory.StartAsync("lma", db.Node() with { Wal = journalHocon != "#nowal" }, extra);
        try
        {
            var region = CounterEntity.StartRegion(node, persistAsync: persistAsync);
            var ids = Enumerable.Range(0, entities).Select(i => $"mn-{i:D5}").ToArray();

            // Phase 1: start + recover every entity (also writes remember-entities events).
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(ids.Select(id => region.Ask<TestCount>(new ShardEnvelope(id, TestGet.Instance), TimeSpan.FromSeconds(60))));
            var startSecs = sw.Elapsed.TotalSeconds;

            // Phase 2: every entity persists eventsPerEntity events, all in flight at once.
            var total = entities * eventsPerEntity;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var counter = node.ActorOf(Props.Create(() => new Countdown(total, done)));
            sw.Restart();
            for (var round = 0; round < eventsPerEntity; round++)
                foreach (var id in ids)
                    region.Tell(new ShardEnvelope(id, new TestIncrement(1)), counter);
            await done.Task.WaitAsync(TimeSpan.FromSeconds(120));
            var secs = sw.Elapsed.TotalSeconds;

            var line = $"PROBE {label}: {entities} entities started+recovered in {startSecs:F2}s ({entities / startSecs:F0}/s); " +
                       $"{total} events persisted in {secs:F2}s = {total / secs:F0} events/s";
            Output?.WriteLine(line);
            Console.WriteLine(line);
        }
        finally { await node.Terminate(); }
    }

    private sealed class Countdown : ReceiveActor
    {
        public Countdown(int expected, TaskCompletionSource done)
        {
            var left = expected;
            ReceiveAny(_ => { if (--left == 0) done.TrySetResult(); });
        }
    }
}
