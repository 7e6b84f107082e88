// IP flow mobility end to end (issue 8): `lab run --scenario flow` — one node on mag1 (eth0) and mag2 (eth1)
// at once, a UDP stream and two TCP transfers from the CN; the UDP flow moved by command back and forth,
// flows moved off a tunnel whose egress a tc tbf starves (the LMA's qdisc counters), then one interface
// taken down. Checked at the node's interfaces (a packet socket) and at both MAGs (ip6tables counters).
using System.Text.Json;

namespace Pmip6Akka.EndToEnd.Tests;

[Collection(LabCollection.Name)]
public sealed class LabFlowSpec(LabFixture lab, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Flows_move_one_at_a_time_on_command_on_loss_and_on_outage_and_both_tcp_transfers_survive_with_the_addresses_unchanged()
    {
        lab.Lab("down");
        lab.MarkDown();
        var run = lab.Lab("run", "--scenario", "flow", "--moves", "4", "--json");
        output.WriteLine(run.Out);
        output.WriteLine(run.Err);
        Assert.True(run.ExitCode == 0, $"lab run --scenario flow failed: {run.Err.Trim()}");
        using var report = JsonDocument.Parse(run.Out);
        var root = report.RootElement;
        var events = root.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["command", "command", "command", "command", "loss", "outage"], events.Select(e => e.GetProperty("kind").GetString()));

        // Every command move: the UDP flow alone changes interface, the TCP flows stay where they are, and it loses nothing.
        foreach (var move in events.Where(e => e.GetProperty("kind").GetString() == "command"))
        {
            var moved = Assert.Single(move.GetProperty("moved").EnumerateArray());
            Assert.Equal("udp", moved.GetProperty("flow").GetString());
            Assert.Equal(JsonValueKind.Number, moved.GetProperty("firstPacketAfterMs").ValueKind);
            Assert.True(move.GetProperty("othersUntouched").GetBoolean(), move.ToString());
            Assert.InRange(move.GetProperty("udpLost").GetInt64(), 0, 2);
        }
        // The starved tunnel sheds flows (at least the UDP one, which alone exceeds the tbf's rate), and only its flows.
        var loss = events.Single(e => e.GetProperty("kind").GetString() == "loss");
        Assert.Contains("udp", loss.GetProperty("moved").EnumerateArray().Select(m => m.GetProperty("flow").GetString()));
        Assert.All(loss.GetProperty("moved").EnumerateArray(), m => Assert.Equal(JsonValueKind.Number, m.GetProperty("firstPacketAfterMs").ValueKind));
        Assert.DoesNotContain("tcp2", loss.GetProperty("moved").EnumerateArray().Select(m => m.GetProperty("flow").GetString()));
        // The outage moves the interface's flows to the other one instead of dropping them.
        var outage = events.Single(e => e.GetProperty("kind").GetString() == "outage");
        Assert.NotEmpty(outage.GetProperty("moved").EnumerateArray());
        Assert.All(outage.GetProperty("moved").EnumerateArray(), m => Assert.Equal(JsonValueKind.Number, m.GetProperty("firstPacketAfterMs").ValueKind));
        Assert.InRange(outage.GetProperty("udpLost").GetInt64(), 0, 50);

        Assert.All(root.GetProperty("tcp").EnumerateArray(), t => Assert.True(t.GetProperty("ok").GetBoolean(), t.ToString()));
        Assert.True(root.GetProperty("addressesKept").GetBoolean());
        // Both MAGs carried each flow at some point, and what they forwarded is what the node received per interface, less
        // what MAG2 wrote onto eth1 as it went down (the outage's loss, bounded above).
        var mags = root.GetProperty("magCounters");
        var node = root.GetProperty("nodeCounters");
        Assert.True(mags.GetProperty("mag1").GetProperty("udp").GetInt64() > 0 && mags.GetProperty("mag2").GetProperty("udp").GetInt64() > 0);
        var outageLost = outage.GetProperty("udpLost").GetInt64();
        Assert.InRange(node.GetProperty("udp@eth1").GetInt64(), mags.GetProperty("mag2").GetProperty("udp").GetInt64() - 10 - outageLost,
            mags.GetProperty("mag2").GetProperty("udp").GetInt64());
        Assert.True(root.GetProperty("succeeded").GetBoolean());
    }

    [Fact]
    public void A_shared_prefix_node_without_any_helper_keeps_its_flows_and_addresses_through_moves_and_an_outage()
    {
        lab.Lab("down");
        lab.MarkDown();
        var run = lab.Lab("run", "--scenario", "flow", "--mn-model", "shared-prefix", "--moves", "2", "--json");
        output.WriteLine(run.Out);
        output.WriteLine(run.Err);
        Assert.True(run.ExitCode == 0, $"lab run --scenario flow --mn-model shared-prefix failed: {run.Err.Trim()}");
        using var report = JsonDocument.Parse(run.Out);
        var root = report.RootElement;
        Assert.Equal("shared-prefix", root.GetProperty("mnModel").GetString());
        Assert.All(root.GetProperty("events").EnumerateArray(), e => Assert.True(e.GetProperty("othersUntouched").GetBoolean(), e.ToString()));
        var outage = root.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("kind").GetString() == "outage");
        Assert.InRange(outage.GetProperty("udpLost").GetInt64(), 0, 50);
        // Each interface's own prefix yields the same address on both interfaces (one interface identifier), so both survive.
        Assert.Equal(2, root.GetProperty("addressesBefore").GetArrayLength());
        Assert.All(root.GetProperty("addressesBefore").EnumerateArray(), a => Assert.EndsWith("::5213:1", a.GetString()));
        Assert.True(root.GetProperty("addressesKept").GetBoolean());
        Assert.All(root.GetProperty("tcp").EnumerateArray(), t => Assert.True(t.GetProperty("ok").GetBoolean(), t.ToString()));
        Assert.True(root.GetProperty("succeeded").GetBoolean());
    }
}
