// The Context Reflector end to end (issue 7): `lab run --scenario reflector` moves one node the same way
// three times — standard, buffering, reflector — with the MAGs' AAA step taking 200 ms, and UDP both ways
// counted at the receivers. The paper's claim, checked: with the reflector the node's loss period is the
// layer-2 gap, not gap + AAA + registration, and its uplink flows again as soon as its link is up.
using System.Text.Json;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LabCollection.Name)]
public sealed class LabReflectorSpec(LabFixture lab, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void With_the_context_reflector_the_interruption_is_the_layer_2_gap_and_uplink_resumes_at_attach()
    {
        lab.Lab("down");
        lab.MarkDown();
        var run = lab.Lab("run", "--scenario", "reflector", "--moves", "3", "--interval-ms", "2000", "--gap-ms", "50", "--json");
        output.WriteLine(run.Out);
        Assert.True(run.ExitCode == 0, $"lab run --scenario reflector failed: {run.Err.Trim()}");
        using var report = JsonDocument.Parse(run.Out);
        var runs = report.RootElement.GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("mode").GetString()!);
        Assert.Equal(["standard", "buffering", "reflector"], runs.Keys);

        // Every move but the first (the daemons' first handover after start runs cold) of each mode.
        double[] Values(string mode, string field) => [.. runs[mode].GetProperty("handovers").EnumerateArray().Skip(1)
            .Select(h => h.GetProperty(field).ValueKind == JsonValueKind.Null ? double.PositiveInfinity : h.GetProperty(field).GetDouble())];

        foreach (var mode in runs.Keys)
            Assert.Equal(3, runs[mode].GetProperty("handovers").GetArrayLength());
        // Standard and buffering wait for the AAA step (200 ms) after the attach; the reflector does not.
        Assert.All(Values("standard", "attachToFirstUplinkMs"), v => Assert.InRange(v, 200, 2000));
        Assert.All(Values("reflector", "attachToFirstUplinkMs"), v => Assert.InRange(v, 0, 50));
        // The downlink interruption: the 50 ms gap plus a little with the reflector, gap + AAA + registration without it.
        Assert.All(Values("reflector", "downlinkInterruptionMs"), v => Assert.InRange(v, 40, 150));
        Assert.All(Values("standard", "downlinkInterruptionMs"), v => Assert.True(v > 200, $"standard interruption {v} ms"));
        // Uplink loss follows the interruption: about gap x rate with the reflector, several times more without.
        Assert.True(Values("reflector", "uplinkLost").Sum() * 2 < Values("standard", "uplinkLost").Sum());
        // Buffering still loses (almost) no downlink.
        Assert.All(Values("buffering", "downlinkLost"), v => Assert.InRange(v, 0, 8));
    }
}
