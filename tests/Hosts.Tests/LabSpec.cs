// The pure parts of `pmip6 lab`: the address plan, the generated configuration (read back by the
// daemons' own settings loaders), the handover statistics, the SVG plot and argument errors (which
// must exit 2 before anything is created).
using System.Xml.Linq;
using Pmip6Akka.Hosts.Config;
using Pmip6Akka.Hosts.Lab;

namespace Pmip6Akka.Hosts.Tests;

public class LabPlanSpec
{
    [Fact]
    public void Names_addresses_and_macs_follow_the_lab_contract()
    {
        var plan = LabPlan.Create(3, 12);
        Assert.Equal(["pmip-mag1", "pmip-mag2", "pmip-mag3"], plan.MagList.Select(m => m.Namespace));
        Assert.Equal("2001:db8:ff::1:2", LabPlan.Mag(2).Address);
        Assert.Equal("2001:db8:ff::1:a", LabPlan.Mag(10).Address);
        var mn = LabPlan.MobileNode(12);
        Assert.Equal(("mn12", "pmip-mn12", "mn12@lab.pmip6", "02:00:00:00:00:0c", "mn12"), (mn.Name, mn.Namespace, mn.MnId, mn.Mac, mn.MagSideDevice));
        Assert.Equal("02:00:00:00:01:2c", LabPlan.MobileNode(300).Mac);
        Assert.All(LabTopology.Namespaces(plan), ns => Assert.True(LabPlan.IsLabNamespace(ns), ns));
    }

    [Theory]
    [InlineData("pmip-lma", true)]
    [InlineData("pmip-lma2", true)]
    [InlineData("pmip-mag7", true)]
    [InlineData("pmip-cn", true)]
    [InlineData("pmip-mn50", true)]
    [InlineData("pmip-t0a1b2cl", false)]
    [InlineData("pmip-bench", false)]
    [InlineData("pmip-bench-lma", false)]
    [InlineData("pmip-lma1", true)]
    [InlineData("pmip-lma3", true)]
    [InlineData("pmip-core", true)]
    [InlineData("pmip-load", true)]
    [InlineData("pmip-lma0", false)]
    [InlineData("pmip-corex", false)]
    [InlineData("pmip-xm1", false)]
    [InlineData("pmip-mag", false)]
    public void Down_owns_only_the_lab_namespaces(string name, bool owned) => Assert.Equal(owned, LabPlan.IsLabNamespace(name));

    [Theory]
    [InlineData("mn1", 1)]
    [InlineData("mn50", 50)]
    [InlineData("mn0", null)]
    [InlineData("mn01", null)]
    [InlineData("mag1", null)]
    [InlineData("mn", null)]
    public void Mobile_node_names_parse(string name, int? index) => Assert.Equal(index, LabPlan.ParseMobileNode(name));

    [Fact]
    public void The_pool_test_accepts_only_addresses_from_the_hnp_pool()
    {
        Assert.True(LabPlan.InPool("2001:db8:a053::ff:fe00:1"));
        Assert.False(LabPlan.InPool("2001:db8:cc::2"));
        Assert.False(LabPlan.InPool("fe80::1"));
    }

    [Fact]
    public void Ip_json_addresses_are_parsed_with_the_tentative_flag()
    {
        var json = """[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet6","local":"2001:db8:a000::1","prefixlen":64,"scope":"global","dynamic":true},{"family":"inet6","local":"2001:db8:a000::2","prefixlen":64,"scope":"global","tentative":true}]}]""";
        Assert.Equal([new NodeAddress("2001:db8:a000::1", 64, false), new NodeAddress("2001:db8:a000::2", 64, true)], NodeAddresses.Parse(json));
        Assert.Empty(NodeAddresses.Parse(""));
    }
}

public sealed class LabConfigSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-lab-spec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_generated_files_load_with_the_daemons_own_settings_readers()
    {
        var plan = LabPlan.Create(2, 3);
        LabConfigs.WriteAll(plan, _dir);

        var lma = LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf"));
        Assert.Equal(LabPlan.LmaAddress, lma.Address.ToString());
        Assert.Equal(["2001:db8:ff::1:1", "2001:db8:ff::1:2"], lma.AuthorizedMags.Select(a => a.ToString()).Order());
        Assert.Equal("2001:db8:a000::/40", lma.PrefixPool.ToString());
        Assert.StartsWith(_dir, lma.Store);
        Assert.Equal(3, lma.Policies.Count);

        var mag = MagDaemonSettings.Load(Path.Combine(_dir, "mag2.conf"));
        Assert.Equal("2001:db8:ff::1:2", mag.Address.ToString());
        Assert.Equal(LabPlan.LmaAddress, mag.Lma.ToString());
        Assert.StartsWith(_dir, mag.StateDirectory);
        Assert.Equal("mn2@lab.pmip6", mag.Policies.Find("mn2@lab.pmip6")?.MobileNodeId);
        Assert.Contains("link-layer-ids = [\"02:00:00:00:00:03\"]", File.ReadAllText(Path.Combine(_dir, "policies.conf")));
        Assert.Contains("interfaces = [\"mn*\"]", File.ReadAllText(Path.Combine(_dir, "mag1.conf")));
    }

    [Fact]
    public void With_two_interfaces_each_node_has_both_macs_the_lma_runs_flow_mobility_measured_on_each_mags_port_and_mag2_is_a_wlan()
    {
        var plan = LabPlan.Create(2, 2, interfaces: 2);
        LabConfigs.WriteAll(plan, _dir);

        var lma = LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf"));
        Assert.True(lma.FlowMobility.Enabled);
        Assert.True(lma.FlowMobility.MovesOnLoss);
        Assert.Equal([("2001:db8:ff::1:1", "mag1"), ("2001:db8:ff::1:2", "mag2")], lma.FlowMobility.LossDevices.Select(d => (d.Mag.ToString(), d.Device)));
        Assert.Contains("link-layer-ids = [\"02:00:00:00:00:02\", \"02:00:00:01:00:02\"]", File.ReadAllText(Path.Combine(_dir, "policies.conf")));
        Assert.Equal(Pmip6Akka.Dataplane.Wire.AccessTechnologyType.Ieee8023, MagDaemonSettings.Load(Path.Combine(_dir, "mag1.conf")).AccessTechnology);
        Assert.Equal(Pmip6Akka.Dataplane.Wire.AccessTechnologyType.Ieee80211, MagDaemonSettings.Load(Path.Combine(_dir, "mag2.conf")).AccessTechnology);
        Assert.Equal(["eth0", "eth1"], plan.MnDevices);
        Assert.Equal(("mn2b", "02:00:00:01:00:02"), (plan.MobileNodeList[1].SecondMagSideDevice, plan.MobileNodeList[1].SecondMac));

        Assert.False(MagDaemonSettings.Load(Path.Combine(_dir, "mag1.conf")).Policies.Find("mn1@lab.pmip6")!.SharedPrefix);
        LabConfigs.WriteAll(plan, _dir, new LabBuffering { SharedPrefix = true });
        Assert.True(MagDaemonSettings.Load(Path.Combine(_dir, "mag1.conf")).Policies.Find("mn1@lab.pmip6")!.SharedPrefix);
        Assert.False(new LabBuffering { SharedPrefix = true }.RunsMnReflector(plan));
        Assert.True(new LabBuffering().RunsMnReflector(plan));

        LabConfigs.WriteAll(LabPlan.Create(2, 1), _dir);
        Assert.False(LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).FlowMobility.Enabled);
        Assert.Throws<ArgumentOutOfRangeException>(() => LabPlan.Create(1, 1, interfaces: 2));
    }

    [Fact]
    public void A_cluster_lab_gives_every_node_its_own_address_and_store_one_shared_cluster_file_on_postgres_and_the_mags_the_shared_address()
    {
        var plan = LabPlan.Create(2, 2, lmas: 3, store: LabPlan.Postgres);
        Assert.True(plan.Cluster);
        Assert.Equal(["pmip-core", "pmip-lma1", "pmip-lma2", "pmip-lma3", "pmip-load", "pmip-mag1", "pmip-mag2", "pmip-cn", "pmip-mn1", "pmip-mn2"],
            LabTopology.Namespaces(plan));
        Assert.All(LabTopology.Namespaces(plan), ns => Assert.True(LabPlan.IsLabNamespace(ns), ns));
        Assert.Equal("pmip-core", LabTopology.Hub(plan));
        LabConfigs.WriteAll(plan, _dir, new LabBuffering(Enabled: false), "Host=/run/pmip6-lab/pg/run;Port=5432;Database=pmip6;Username=pmip6;Password=x");

        Assert.False(File.Exists(Path.Combine(_dir, LabConfigs.LmaFile)));
        var nodes = LabCluster.Nodes(plan).Select(n => LmaDaemonSettings.Load(Path.Combine(_dir, LabCluster.LmaFile(n)))).ToList();
        Assert.All(nodes, lma =>
        {
            Assert.Equal(LabCluster.SharedAddress, lma.Address.ToString());
            Assert.Equal(JournalProvider.PostgreSql, lma.Cluster.Provider);
            Assert.Equal(3, lma.Cluster.Options.SeedNodes.Length);
            Assert.True(lma.Cluster.IsMultiNode);
            Assert.False(lma.Buffering.Enabled);
            Assert.Equal(["2001:db8:1::100", "2001:db8:1::101", "2001:db8:1::102", "2001:db8:1::103", "2001:db8:ff::1:1", "2001:db8:ff::1:2"],
                lma.AuthorizedMags.Select(a => a.ToString()).Order());
        });
        Assert.Equal(["10.9.1.2", "10.9.2.2", "10.9.3.2"], nodes.Select(n => n.Cluster.Options.Hostname));
        Assert.Equal(3, nodes.Select(n => n.Store).Distinct().Count());
        Assert.Equal(LabCluster.SharedAddress, MagDaemonSettings.Load(Path.Combine(_dir, "mag1.conf")).Lma.ToString());
        Assert.Equal("mn7@bench.pmip6.example", nodes[0].Policies.Find("mn7@bench.pmip6.example")?.MobileNodeId); // the load generator's MNs

        // The load generator's MAGs share a key with every node, the shared address as their peer.
        var load = KeysFile.Read(Path.Combine(_dir, LabConfigs.LoadKeysFile)).Keys;
        Assert.Equal(LabCluster.LoadMags, load.Length);
        var atLma = nodes[0].Security.Keys!.Current;
        Assert.All(load, key =>
        {
            Assert.Equal(LabCluster.SharedAddress, key.Peer.ToString());
            Assert.Equal(key.Secret.ToArray(), atLma.Find(key.Spi)!.Secret.ToArray());
        });
        Assert.Equal(LabCluster.LoadMagAddresses.Order(), load.Select(k => atLma.Find(k.Spi)!.Peer.ToString()).Order());

        // Routing: the core peers with each node, each node announces the shared address from the tunnel device.
        Assert.Contains("2001:db8:c0:3::2", LabCluster.CoreBirdConfig(plan.Lmas));
        Assert.Contains(LabPlan.TunnelDevice, LabCluster.NodeBirdConfig(2));
    }

    [Theory]
    [InlineData(2, LabPlan.Sqlite, 1, "journal")]
    [InlineData(4, LabPlan.Postgres, 1, "LMA nodes")]
    [InlineData(3, LabPlan.Postgres, 2, "flow mobility")]
    [InlineData(1, "mysql", 1, "sqlite or postgres")]
    public void A_cluster_plan_that_cannot_run_is_refused_with_the_reason(int lmas, string store, int interfaces, string reason)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LabPlan.Create(2, 1, interfaces, lmas, store));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_lab_runs_with_authentication_on_and_root_only_keys_each_mag_sharing_one_with_the_lma()
    {
        var plan = LabPlan.Create(2, 1);
        LabConfigs.WriteAll(plan, _dir);
        var lma = LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).Security;
        Assert.True(lma.Required);
        Assert.Equal(2, lma.Keys!.Current.Count);
        foreach (var m in plan.MagList)
        {
            var mag = MagDaemonSettings.Load(Path.Combine(_dir, LabConfigs.MagFile(m.Index))).Security;
            var own = Assert.Single(mag.Keys!.Current.Keys);
            Assert.Equal(LabPlan.LmaAddress, own.Peer.ToString());
            var atLma = lma.Keys.Current.Find(own.Spi)!;
            Assert.Equal(m.Address, atLma.Peer.ToString());
            Assert.Equal(own.Secret.ToArray(), atLma.Secret.ToArray());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, LabConfigs.MagKeysFile(m.Index))));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, LabConfigs.LmaKeysFile)));
        var first = lma.Keys.Current.Find(LabConfigs.Spi(plan.MagList[0]))!.Secret.ToArray();
        LabConfigs.WriteAll(plan, _dir); // a new `lab up`: new secrets
        Assert.NotEqual(first, LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).Security.Keys!.Current.Find(LabConfigs.Spi(plan.MagList[0]))!.Secret.ToArray());
    }

    [Fact]
    public void The_buffering_setting_reaches_the_lmas_own_settings_reader()
    {
        var plan = LabPlan.Create(2, 1);
        LabConfigs.WriteAll(plan, _dir);
        Assert.True(LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).Buffering.Enabled);

        LabConfigs.WriteAll(plan, _dir, new LabBuffering(Enabled: false));
        Assert.False(LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).Buffering.Enabled);
        Assert.Contains("enabled = off", File.ReadAllText(Path.Combine(_dir, "lma.conf")));

        LabConfigs.WriteAll(plan, _dir, new LabBuffering(true, 100));
        var settings = LmaDaemonSettings.Load(Path.Combine(_dir, "lma.conf")).Buffering;
        Assert.Equal((true, 100), (settings.Enabled, settings.Limits.MaxPacketsPerNode));
    }

    [Fact]
    public void The_state_file_keeps_the_buffering_setting_and_an_older_one_reads_as_on()
    {
        new LabState(2, 1, new() { ["mn1"] = "mag1" }) { Buffering = "off", BufferMaxPackets = 50 }.Save(_dir);
        Assert.Equal(("off", (int?)50), (LabState.Load(_dir).Buffering, LabState.Load(_dir).BufferMaxPackets));
        File.WriteAllText(LabState.FilePath(_dir), """{"mags": 2, "mobileNodes": 1, "placement": {"mn1": "mag1"}}""");
        Assert.Equal("on", LabState.Load(_dir).Buffering);
    }

    [Fact]
    public void The_state_file_round_trips_and_a_missing_one_says_how_to_start_a_lab()
    {
        var failure = Assert.Throws<LabFailure>(() => LabState.Load(_dir));
        Assert.Contains("pmip6 lab up", failure.Message);
        new LabState(2, 1, new() { ["mn1"] = "mag2" }).Save(_dir);
        var state = LabState.Load(_dir);
        Assert.Equal((2, 1, "mag2"), (state.Mags, state.MobileNodes, state.Placement["mn1"]));
    }
}

public class ArrivalStatisticsSpec
{
    private static double[] SendTimes(int count) => [.. Enumerable.Range(0, count).Select(i => (double)i)];

    [Fact]
    public void A_clean_stream_has_no_loss_and_a_one_interval_gap()
    {
        var arrivals = Enumerable.Range(0, 100).Select(i => new Arrival(i, i + 0.5)).ToList();
        var stats = ArrivalStatistics.Compute(SendTimes(100), arrivals, 0, 100);
        Assert.Equal(new StreamStatistics(100, 100, 0, 0, 0, 1, stats.GapStartMs), stats);
    }

    [Fact]
    public void Loss_duplicates_reordering_and_the_interruption_are_counted()
    {
        // 0..9 arrive, 10..29 are lost during a 21 ms silence, 31 overtakes 30, 40 arrives twice.
        var arrivals = new List<Arrival>();
        for (var i = 0; i < 10; i++) arrivals.Add(new(i, i + 0.5));
        arrivals.Add(new(31, 31.5));
        arrivals.Add(new(30, 31.6));
        for (var i = 32; i < 50; i++) arrivals.Add(new(i, i + 0.5));
        arrivals.Add(new(40, 49.7));

        var stats = ArrivalStatistics.Compute(SendTimes(50), arrivals, 0, 50);
        Assert.Equal(50, stats.Sent);
        Assert.Equal(30, stats.Received);
        Assert.Equal(20, stats.Lost);
        Assert.Equal(1, stats.Duplicated);
        Assert.Equal(1, stats.Reordered);
        Assert.Equal(22, stats.LargestGapMs, 6);
        Assert.Equal(9.5, stats.GapStartMs);
    }

    [Fact]
    public void A_window_counts_only_the_packets_sent_inside_it()
    {
        var arrivals = Enumerable.Range(0, 100).Where(i => i is < 40 or >= 45).Select(i => new Arrival(i, i + 0.5)).ToList();
        Assert.Equal(5, ArrivalStatistics.Compute(SendTimes(100), arrivals, 30, 60).Lost);
        Assert.Equal(0, ArrivalStatistics.Compute(SendTimes(100), arrivals, 60, 100).Lost);
        Assert.Equal(1, ArrivalStatistics.Compute(SendTimes(100), arrivals, 60, 100).LargestGapMs, 6);
    }

    [Fact]
    public void A_stream_that_never_comes_back_is_interrupted_until_the_window_ends()
    {
        var arrivals = Enumerable.Range(0, 10).Select(i => new Arrival(i, i + 0.5)).ToList();
        var stats = ArrivalStatistics.Compute(SendTimes(100), arrivals, 0, 100);
        Assert.Equal(90, stats.Lost);
        Assert.Equal(90.5, stats.LargestGapMs, 6);
    }

    [Fact]
    public void Rates_are_per_second_in_bins()
    {
        Assert.Equal([20.0, 10.0], ArrivalStatistics.Rate([10, 50, 150], 100, 200));
    }
}

public class SvgPlotSpec
{
    [Fact]
    public void The_flow_plot_draws_each_flows_sequence_and_throughput_with_every_event_marked()
    {
        var arrivals = Enumerable.Range(0, 2000).Select(i => new Arrival(i, i + 0.3, i < 1000 ? 2 : 3)).ToList();
        FlowEvent[] events =
        [
            new("command", "flow move udp --to mag2", 1000, 1500, [new FlowMoveFigure("udp", "eth0", "eth1", 2.1, 3.0)], [], 0, 500),
            new("loss", "tbf", 1500, 1800, [new FlowMoveFigure("tcp1", "eth0", "eth1", 900, 950)], [], 0, 300),
            new("outage", "eth1 down", 1800, 2000, [new FlowMoveFigure("udp", "eth1", "eth0", null, 12)], [], 2, 200),
        ];
        var report = new FlowReport("weak-host", "mn1", ["2001:db8:a000::1"], ["2001:db8:a000::1"], events,
            [new TcpResult(10, 10, "a", "a", null), new TcpResult(10, 10, "b", "b", null)], 2000, 2000, null, 2000,
            new Dictionary<string, IReadOnlyDictionary<string, long>>(), [new FlowPacket(1000.5, 3, 0)],
            [[(500, 5), (1900, 5)], [(700, 10)]], arrivals, new Dictionary<int, string> { [2] = "eth0", [3] = "eth1" });

        var svg = XDocument.Parse(SvgPlot.Render(report));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        foreach (var label in new[] { "command udp", "loss tcp1", "outage udp" })
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == label);
        Assert.Equal(6, svg.Descendants(ns + "line").Count(l => (string?)l.Attribute("stroke") is "#7f8c8d" or "#c0392b" or "#000000"));
        // UDP by interface (two colours), each TCP flow's sequence position and each flow's throughput.
        foreach (var colour in new[] { "#1f5fbf", "#e07b00", "#27ae60", "#8e44ad" })
            Assert.Contains(svg.Descendants(ns + "path"), p => (string?)p.Attribute("stroke") == colour);
        Assert.Equal(3.0, report.CommandMedianMs);
        Assert.True(report.Succeeded);
        Assert.False((report with { AddressesAfter = [] }).Succeeded); // an address lost fails the run
    }

    [Fact]
    public void The_plot_is_well_formed_svg_with_every_handover_marked()
    {
        var sends = Enumerable.Range(0, 3000).Select(i => (double)i).ToArray();
        var arrivals = Enumerable.Range(0, 3000).Where(i => i is < 1000 or >= 1100).Select(i => new Arrival(i, i + 0.4)).ToList();
        var moves = HandoverReport.WithStatistics([new HandoverMove(1, "mag1", "mag2", 1000, 1080, null!), new HandoverMove(2, "mag2", "mag1", 2000, 2050, null!)],
            sends, arrivals, 3000);
        var report = new HandoverReport("mn1", "2001:db8:a000::1", new HandoverOptions { Moves = 2 }, moves,
            ArrivalStatistics.Compute(sends, arrivals, 0, double.MaxValue), new TcpResult(10, 10, "a", "a", null), null, 3000, sends, arrivals,
            [(500, 5), (2500, 5)]);

        var svg = XDocument.Parse(SvgPlot.Render(report));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.Contains("mag1→mag2"));
        Assert.Equal(8, svg.Descendants(ns + "line").Count(l => (string?)l.Attribute("stroke") is "#c0392b" or "#27ae60"));
        Assert.Equal(100, moves[0].Udp.Lost);
        Assert.True(report.Succeeded);
        Assert.Contains("\"lost\": 100", report.ToJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}

public class ReflectorReportSpec
{
    private static ReflectorRun Run(ReflectorMode mode, int lost, double? firstUplink)
    {
        var sends = Enumerable.Range(0, 3000).Select(i => (double)i).ToArray();
        var arrivals = Enumerable.Range(0, 3000).Where(i => i < 2000 || i >= 2000 + lost).Select(i => new Arrival(i, i + 0.5)).ToList();
        var stats = ArrivalStatistics.Compute(sends, arrivals, 1900, 3000);
        ReflectorMove Move(int n) => new(n, n == 1 ? "mag1" : "mag2", n == 1 ? "mag2" : "mag1", lost + 10, stats, stats, firstUplink)
        {
            Times = (2000, 2050, 2000 + lost + 10),
        };
        return new ReflectorRun(mode, [Move(1), Move(2)], null) { DownlinkArrivals = arrivals, UplinkArrivals = arrivals };
    }

    [Fact]
    public void The_three_modes_are_printed_side_by_side_per_handover_and_plotted_one_panel_each()
    {
        var report = new ReflectorReport(new HandoverOptions { Moves = 2 }, TimeSpan.FromMilliseconds(200),
            [Run(ReflectorMode.Standard, 260, 215), Run(ReflectorMode.Buffering, 258, 210), Run(ReflectorMode.Reflector, 50, 2.5)]);
        var text = new StringWriter();
        report.Print(text);
        var lines = text.ToString().Split('\n');
        Assert.Contains(lines, l => l.StartsWith("2 mag2->mag1") && l.Contains("reflector") && l.Contains(" 50 ") && l.Contains("2.5"));
        Assert.Contains(lines, l => l.StartsWith("reflector  total: DL lost 100, UL lost 100"));
        Assert.True(report.Succeeded);
        var json = report.ToJson();
        Assert.Equal(3, json["runs"]!.AsArray().Count);
        Assert.Equal(2.5, json["runs"]![2]!["handovers"]![1]!["attachToFirstUplinkMs"]!.GetValue<double>());

        var svg = XDocument.Parse(SvgPlot.Render(report));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(3, svg.Descendants(ns + "text").Count(t => t.Value.Contains(": move 2 mag2→mag1")));
        Assert.Equal(9, svg.Descendants(ns + "line").Count(l => (string?)l.Attribute("stroke") is "#c0392b" or "#8e44ad" or "#27ae60"));
    }
}

public class HandoverBufferFiguresSpec
{
    private static LmaEpisode Episode(string mn, double startMs, int packets, int released, int dropped, double mean, double max) =>
        new(mn, startMs, 200, packets, packets, packets * 100L, released, dropped, 40, max, mean, "flushed");

    private static TunnelCounterSnapshot Counters(long returnedByMag, long returnedAtMag1, long parkedAtMag2) =>
        new(returnedByMag, new Dictionary<string, long> { ["mag1"] = returnedAtMag1 }, new Dictionary<string, long> { ["mag2"] = parkedAtMag2 });

    [Fact]
    public void Episodes_go_to_the_move_detached_before_they_started_and_counters_are_differences()
    {
        var moves = new[] { new HandoverMove(1, "mag1", "mag2", 1000, 1200, null!), new HandoverMove(2, "mag2", "mag1", 4000, 4200, null!) };
        var episodes = new[]
        {
            Episode("mn1@lab.pmip6", 4010, 210, 210, 0, 100, 190),
            Episode("mn1@lab.pmip6", 1005, 200, 198, 2, 90, 180),
            Episode("mn2@lab.pmip6", 1010, 999, 999, 0, 1, 1), // another node's
            Episode("mn1@lab.pmip6", 500, 7, 7, 0, 1, 1),      // before the first move
        };
        var figures = HandoverBufferFigures.Match(moves, "mn1@lab.pmip6", episodes,
            [Counters(0, 0, 0), Counters(3, 3, 1), Counters(5, 3, 1)]);

        Assert.Equal((1, 200, 198, 2, 90.0, 180.0, 3L, 3L, 1L), (figures[0].Episodes, figures[0].Packets, figures[0].Released, figures[0].Dropped,
            figures[0].MeanAddedDelayMs, figures[0].MaxAddedDelayMs, figures[0].ReturnedByPreviousMag, figures[0].ReturnedToLma, figures[0].ParkedAtNewMag));
        Assert.Equal((1, 210, 2L, 0L), (figures[1].Episodes, figures[1].Packets, figures[1].ReturnedByPreviousMag, figures[1].ParkedAtNewMag));
    }

    [Fact]
    public void A_move_without_an_episode_has_zeros_and_the_report_shows_the_buffer_only_when_on()
    {
        var moves = new[] { new HandoverMove(1, "mag1", "mag2", 1000, 1200, null!) };
        var figures = HandoverBufferFigures.Match(moves, "mn1@lab.pmip6", [], [Counters(0, 0, 0), Counters(0, 0, 0)]);
        Assert.Equal((0, 0, (string?)null), (figures[0].Episodes, figures[0].Peak, figures[0].Outcome));

        var sends = Enumerable.Range(0, 2000).Select(i => (double)i).ToArray();
        var arrivals = sends.Select((t, i) => new Arrival(i, t + 0.5)).ToList();
        var measured = HandoverReport.WithStatistics(moves, sends, arrivals, 2000);
        var on = new HandoverReport("mn1", "2001:db8:a000::1", new HandoverOptions { Moves = 1, Buffering = new LabBuffering(Enabled: true) },
            [measured[0] with { Buffer = figures[0] with { Peak = 180, FlushMs = 35.5 } }], ArrivalStatistics.Compute(sends, arrivals, 0, 2000),
            new TcpResult(1, 1, "a", "a", null), null, 2000, sends, arrivals, []);
        var json = on.ToJson();
        Assert.Equal("on", json["buffering"]!.GetValue<string>());
        Assert.Equal(180, json["handovers"]![0]!["buffer"]!["peak"]!.GetValue<int>());
        var text = new StringWriter();
        on.Print(text);
        Assert.Contains("flush ms", text.ToString());
        Assert.Contains("35.5", text.ToString());

        var off = on with { Options = new HandoverOptions { Moves = 1, Buffering = new LabBuffering(Enabled: false) }, Moves = measured };
        Assert.Null(off.ToJson()["handovers"]![0]!["buffer"]);
        var offText = new StringWriter();
        off.Print(offText);
        Assert.DoesNotContain("flush ms", offText.ToString());
        Assert.Contains("buffering off", offText.ToString());
    }
}

public class LabArgumentSpec
{
    [Theory]
    [InlineData("lab run --scenario teleport", "unknown scenario 'teleport'")]
    [InlineData("lab run", "missing option --scenario")]
    [InlineData("lab run --scenario handover --plot out.png", "--plot writes SVG")]
    [InlineData("lab run --scenario handover --moves 0", "--moves must be an integer from 1")]
    [InlineData("lab up --mns 51", "--mns must be an integer from 1 to 50")]
    [InlineData("lab up --mags 0", "--mags must be an integer from 1")]
    [InlineData("lab up --colour red", "unknown option --colour")]
    [InlineData("lab up --lmas 3 --store sqlite", "--lmas 3 needs --store postgres")]
    [InlineData("lab up --lmas 4", "--lmas must be an integer from 1 to 3")]
    [InlineData("lab up --store mysql", "--store must be sqlite or postgres")]
    [InlineData("lab up --lmas 3 --buffering on", "handover buffering and the Context Reflector run on a single LMA")]
    [InlineData("lab up --lmas 2 --interfaces 2", "--interfaces 2 (flow mobility) runs on a single LMA")]
    [InlineData("lab run --scenario failover --plot out.svg", "--plot is not available for the failover scenario")]
    [InlineData("lab run --scenario failover --sessions 10", "--sessions must be an integer from 1000")]
    [InlineData("lab run --scenario handover --sessions 2000", "--sessions is the failover scenario's")]
    [InlineData("lab move mn1", "missing argument <magN>")]
    [InlineData("lab move node1 mag2", "<mnK> must name a mobile node")]
    [InlineData("lab move mn1 mag2 --gap-ms -1", "--gap-ms must be an integer from 0")]
    [InlineData("lab status extra", "unexpected argument 'extra'")]
    [InlineData("lab down now", "unexpected argument 'now'")]
    [InlineData("lab up --buffering maybe", "--buffering must be on or off, got 'maybe'")]
    [InlineData("lab up --buffering", "option --buffering needs a value")]
    [InlineData("lab run --scenario handover --buffering yes", "--buffering must be on or off, got 'yes'")]
    [InlineData("lab up --buffer-max-packets 0", "--buffer-max-packets must be an integer from 1")]
    [InlineData("lab up --interfaces 3", "--interfaces must be an integer from 1 to 2")]
    [InlineData("lab up --interfaces 2 --mags 1", "--interfaces 2 needs --mags 2 or more")]
    [InlineData("lab up --interfaces 2 --mn-reflector sometimes", "--mn-reflector must be on or off, got 'sometimes'")]
    [InlineData("lab up --interfaces 2 --mn-model strong-host", "--mn-model must be weak-host or shared-prefix, got 'strong-host'")]
    [InlineData("mn-reflector --interfaces eth0", "--interfaces needs at least two interface names")]
    [InlineData("mn-reflector --interfaces eth0,eth0", "--interfaces names an interface twice")]
    [InlineData("mn-reflector --interfaces eth0,a/b", "--interfaces: 'a/b' is not an interface name")]
    public void Bad_lab_arguments_exit_2_with_one_line(string line, string reason)
    {
        var run = Cli.Run(line.Split(' '));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(reason, run.Err);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Help_lists_the_lab_verbs()
    {
        var run = Cli.Run("--help");
        foreach (var verb in new[] { "lab up", "lab move", "lab status", "lab down", "lab run" })
            Assert.Contains(verb, run.Out);
    }
}
