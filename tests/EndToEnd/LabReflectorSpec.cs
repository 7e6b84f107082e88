// The Context Reflector end to end (issue 7): `lab run --scenario reflector` moves one node the same way
// three times — standard, buffering, reflector — with the MAGs' AAA step taking 200 ms, and UDP both ways
// counted at the receivers. The paper's claim, checked: with the reflector the node's loss period is the
// layer-2 gap, not gap + AAA + registration, and its uplink flows again as soon as its link is up.
using System.Text.Json;
using Pmip6Akka.Hosts.Lab;

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
        // Buffering loses no downlink; nor does the reflector (forward mode): what the previous MAG returned before the
        // LMA re-pointed the prefix goes on to the next MAG, which holds it until the node is there.
        Assert.All(Values("buffering", "downlinkLost"), v => Assert.InRange(v, 0, 2));
        Assert.All(Values("reflector", "downlinkLost"), v => Assert.InRange(v, 0, 5));
    }

    private static JsonElement Counters(int mag) =>
        DaemonHttp.TryGetJson(LabPlan.MagNamespace(mag), LabPlan.Mag(mag).HttpPort, "/status") is { } status
            ? status.GetProperty("counters") : throw new Xunit.Sdk.XunitException($"mag{mag}'s /status does not answer");

    private static long Counter(int mag, string name, string value = "") =>
        Counters(mag).EnumerateArray().Where(c => c.GetProperty("name").GetString() == name && (value == "" || c.GetProperty("value").GetString() == value))
            .Sum(c => c.GetProperty("count").GetInt64());

    private static bool InBindingUpdateList(int mag, string mnId) =>
        DaemonHttp.TryGetJson(LabPlan.MagNamespace(mag), LabPlan.Mag(mag).HttpPort, "/status") is { } status
        && status.GetProperty("bindingUpdateList").EnumerateArray().Any(e => e.GetProperty("mnId").GetString() == mnId);

    [Fact]
    public void An_lma_killed_between_the_deregistration_and_the_next_registration_recovers_the_context_and_completes_the_handover()
    {
        lab.Lab("down");
        lab.MarkDown();
        var up = lab.Lab("up", "--mags", "2", "--timeout", "30", "--reflector", "on", "--aaa-delay-ms", "200");
        Assert.True(up.ExitCode == 0, $"lab up failed: {up.Err.Trim()}");
        try
        {
            var mn = LabPlan.MobileNode(1);
            var address = lab.Address();
            var hint = DaemonHttp.Post(LabPlan.MagNamespace(1), LabPlan.Mag(1).HttpPort,
                $"/hint?mn-id={Uri.EscapeDataString(mn.MnId)}&next-mag={Uri.EscapeDataString(LabPlan.Mag(2).Address)}");
            Assert.Equal(202, hint.Status);

            // The node leaves mag1 (its link goes to mag2, still down): de-registration with the context, CCE, reflection.
            Tool.Ip("-n", LabPlan.MagNamespace(1), "link", "set", mn.MagSideDevice, "netns", LabPlan.MagNamespace(2));
            DaemonDomain.Eventually(() =>
            {
                Assert.False(InBindingUpdateList(1, mn.MnId), "mag1 still lists the node: its de-registration was not acknowledged yet");
                Assert.Equal(1, Counter(2, "context_reflections_received_total", "0"));
            }, TimeSpan.FromSeconds(10));

            // SIGKILL the LMA and start it again while the node is between MAGs.
            var pid = LabState.ReadPid(LabPlan.RunDirectory, "lma")!.Value;
            LabDaemons.Kill(pid);
            Assert.False(LabDaemons.IsAlive(pid));
            var restarted = LabDaemons.Start(LabPlan.RunDirectory, "lma", LabPlan.LmaNamespace, "lma", Path.Combine(LabPlan.RunDirectory, LabConfigs.LmaFile));
            LabDaemons.AwaitReady(LabPlan.RunDirectory, "lma", LabPlan.LmaNamespace, LabPlan.LmaHttpPort, restarted, LabUp.DaemonStartTimeout, CancellationToken.None);

            // The node arrives at mag2: registered from the context (no AAA), the recovered CCE becomes its binding, mag1 is revoked.
            Tool.Ip("-n", LabPlan.MagNamespace(2), "link", "set", mn.MagSideDevice, "up");
            DaemonDomain.Eventually(() =>
            {
                Assert.True(LabMove.IsRegistered(LabPlan.Mag(2), mn.MnId, CancellationToken.None), "mag2 has not registered the node");
                Assert.Equal(1, Counter(2, "context_arrivals_total", "used"));
                Assert.Equal(1, Counter(1, "bri_received_total", "Success"));
            }, TimeSpan.FromSeconds(20));
            Assert.Equal(0, Counter(2, "aaa_requests_total"));
            Assert.Equal(address, lab.Address());
            // The QoS profile that came with the context is applied on the node's new access link.
            DaemonDomain.Eventually(() => Assert.Contains("rate 100Mbit",
                Tool.TryRun("ip", ["netns", "exec", LabPlan.MagNamespace(2), "tc", "qdisc", "show", "dev", mn.MagSideDevice, "root"]).Output), TimeSpan.FromSeconds(5));
        }
        finally
        {
            lab.Lab("down");
            lab.MarkDown();
        }
    }
}
