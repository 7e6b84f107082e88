// Issue 9 in the lab: `pmip6 lab run --scenario failover --json` brings up three LMA nodes on PostgreSQL behind a BIRD core,
// registers 1000 mobile nodes through the load generator beside the lab's two real ones, SIGKILLs a real node's anchor
// and reports, then restarts it to rejoin. The spec holds the scenario to what must never happen — a binding lost, a prefix handed out again, a session
// or a real node's traffic that never comes back — and logs the times, whose 10 s target depends on the machine's load.
using System.Text.Json;
using Xunit.Abstractions;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LabCollection.Name)]
public sealed class LabFailoverSpec(LabFixture lab, ITestOutputHelper output)
{
    [Fact]
    public void Killing_the_lma_node_that_anchors_a_real_mobile_node_loses_no_binding_reassigns_no_prefix_and_every_session_and_flow_comes_back()
    {
        lab.Lab("down");
        lab.MarkDown();
        var run = lab.Lab(TimeSpan.FromMinutes(8), "run", "--scenario", "failover", "--json");
        output.WriteLine(run.Err.Trim());
        output.WriteLine(run.Out.Trim());
        Assert.True(run.ExitCode == 0, $"lab run --scenario failover exited {run.ExitCode}: {run.Err.Trim()}");
        var report = JsonDocument.Parse(run.Out).RootElement;

        Assert.Equal(1000, report.GetProperty("sessions").GetInt32());
        Assert.Equal(1002, report.GetProperty("bindingsBefore").GetInt32()); // the load generator's and the two real nodes'
        Assert.True(report.GetProperty("victimBindings").GetInt32() > 0, "the killed node anchored nothing");
        Assert.Equal(0, report.GetProperty("bindingsLost").GetInt32());
        Assert.Equal(report.GetProperty("bindingsBefore").GetInt32(), report.GetProperty("bindingsAfter").GetInt32());
        Assert.Equal(0, report.GetProperty("prefixesReassigned").GetInt32());
        Assert.Equal(0, report.GetProperty("refreshPrefixChanges").GetInt32());
        Assert.Equal(0, report.GetProperty("sessionsNeverBack").GetInt32());
        Assert.True(report.GetProperty("everyBindingBackMs").GetDouble() > 0);
        Assert.Equal(Pmip6Akka.Actors.Lma.BindingBuckets.Count, report.GetProperty("bucketsAfter").GetInt32());
        Assert.Equal(2, report.GetProperty("sharedAddressPathsAfter").GetInt32());

        var streams = report.GetProperty("streams").EnumerateArray().ToList();
        Assert.Equal(2, streams.Count);
        // The scenario kills a real node's anchor (the coordinator's node when it anchors one): that node's downlink stopped
        // with it (the bucket had to be recovered elsewhere) and came back.
        var orphaned = streams.Where(s => s.GetProperty("ownerKilled").GetBoolean()).ToList();
        Assert.NotEmpty(orphaned);
        Assert.All(orphaned, s => Assert.True(s.GetProperty("longestSilenceMs").GetDouble() > 1000, $"a real node barely noticed its anchor's death: {s}"));
        Assert.All(streams, s => Assert.Equal(JsonValueKind.Number, s.GetProperty("trafficBackMs").ValueKind));
        Assert.Contains(report.GetProperty("timeline").EnumerateArray(), t => t.GetProperty("what").GetString()!.Contains("split-brain resolver"));
        // The killed node restarted and took a share of the buckets while the load kept refreshing: no session dropped.
        var rejoin = report.GetProperty("rejoin");
        Assert.True(rejoin.GetProperty("buckets").GetInt32() > 0, $"the restarted node took no bucket: {rejoin}");
        Assert.Equal(0, rejoin.GetProperty("bindingsLost").GetInt32());
        Assert.Equal(0, rejoin.GetProperty("prefixesReassigned").GetInt32());
        Assert.Equal(1002, rejoin.GetProperty("bindingsAfter").GetInt32());
        Assert.True(report.GetProperty("succeeded").GetBoolean());
        Assert.Empty(Hosts.Lab.LabTeardown.LabNamespaces());
    }
}
