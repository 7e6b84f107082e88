// The configuration files `lab up` writes into the run directory: lma.conf, magN.conf and the
// shared policies.conf (one profile per mobile node, identified at the MAG by its MAC). Every path
// points into the run directory, so `lab down` removes everything the daemons wrote.
using System.Text;

namespace Pmip6Akka.Hosts.Lab;

public static class LabConfigs
{
    public const string PolicyFile = "policies.conf";
    public const string LmaFile = "lma.conf";

    public static string MagFile(int n) => $"mag{n}.conf";

    /// <summary>Every lab node's QoS profile: its downlink limited at its MAG's access link, far above the lab's traffic.</summary>
    public const int LabQosDownlinkKbps = 100_000;

    /// <summary>The LMA's keys (one per MAG) and each MAG's own key: authenticated signalling is on in the lab.</summary>
    public const string LmaKeysFile = "keys-lma.conf";

    public static string MagKeysFile(int n) => $"keys-mag{n}.conf";

    /// <summary>Each MAG's SPI; a fresh random secret per `lab up`.</summary>
    public static uint Spi(MagPlan mag) => 4096 + (uint)mag.Index;

    private static string Security(string keysFile) => $"security {{ keys-file = \"{keysFile}\", required = on }}";

    private static string KeyEntry(MagPlan mag, string peer, string secret) =>
        $"  {{ spi = {Spi(mag)}, peer = \"{peer}\", algorithm = \"hmac-sha256\", secret = \"hex:{secret}\" }}";

    /// <summary>The emulated MAGs' keys (pmip-load; the failover scenario's load generator signs with them).</summary>
    public const string LoadKeysFile = "keys-load.conf";

    /// <summary>The LMA's configuration; in a cluster lab node <paramref name="node"/>'s (1..N), which differs only in its store and cluster address.</summary>
    public static string Lma(LabPlan plan, string runDirectory, LabBuffering? buffering = null, int node = 0) => $$"""
        # Written by `pmip6 lab up`; removed by `pmip6 lab down`.
        pmip6.lma {
          address = "{{plan.MagsLmaAddress}}"
          device = ""
          authorized-mags = [{{string.Join(", ", AuthorisedMags(plan).Select(a => $"\"{a}\""))}}]
          prefix-pool = "{{LabPlan.PrefixPool}}"
          prefix-length = {{LabPlan.PrefixLength}}
          policy-file = "{{PolicyFile}}"
          max-lifetime = 1h
          heartbeat-interval = 5s
          missing-heartbeats-allowed = 3
        {{(node == 0 ? $"  store = \"{Path.Combine(runDirectory, "lma.db")}\"\n  cluster-port = 0" : LabCluster.NodeLines(node, runDirectory, "  "))}}
          http = "127.0.0.1:{{LabPlan.LmaHttpPort}}"
          tunnel {
            mode = "userspace"
            device = "{{LabPlan.TunnelDevice}}"
            mtu = {{LabPlan.TunnelMtu}}
          }
        {{(buffering ?? LabBuffering.Default).ConfigBlock("  ")}}
        {{(buffering ?? LabBuffering.Default).ReflectorBlock("  ")}}
        {{FlowMobilityBlock(plan, "  ")}}
          {{Security(LmaKeysFile)}}
        }
        """;

    /// <summary>
    /// With two interfaces per node: flow mobility on at the LMA, and move on loss measured on the bridge port towards each MAG
    /// (the device whose egress carries that MAG's tunnel; `lab run --scenario flow` shapes it with tc tbf).
    /// </summary>
    public static string FlowMobilityBlock(LabPlan plan, string indent) => plan.Interfaces < 2
        ? indent + "flow-mobility { enabled = off }"
        : indent + "flow-mobility {\n" +
          indent + "  enabled = on\n" +
          indent + "  loss-interval = 500ms\n" +
          indent + $"  loss-devices = [{string.Join(", ", plan.MagList.Select(m => $"{{ mag = \"{m.Address}\", device = \"{m.LmaSideDevice}\" }}"))}]\n" +
          indent + "}";

    /// <summary>The MAG's configuration; with two interfaces per node (<paramref name="interfaces"/>), MAG 2's access is a WLAN (802.11) so
    /// that the LMA sees the second interface as a new attachment at once, not a possible handover to wait for (RFC 5213 §5.4.1.3).</summary>
    public static string Mag(MagPlan mag, string runDirectory, LabBuffering? features = null, int interfaces = 1, string lma = LabPlan.LmaAddress) => $$"""
        # Written by `pmip6 lab up`; removed by `pmip6 lab down`.
        pmip6.mag {
          address = "{{mag.Address}}"
          device = ""
          lma = "{{lma}}"
          policy-file = "{{PolicyFile}}"
          access-technology = "{{(mag.Index == 2 && interfaces == 2 ? "802.11" : "802.3")}}"
          lifetime = 1h
          heartbeat-interval = 5s
          missing-heartbeats-allowed = 3
          initial-bindack-timeout-first-reg = 500ms
          max-bindack-timeout = 8s
          state-directory = "{{Path.Combine(runDirectory, mag.Name + "-state")}}"
          http = "127.0.0.1:{{mag.HttpPort}}"
          tunnel {
            mode = "userspace"
            device = "{{LabPlan.TunnelDevice}}"
            mtu = {{LabPlan.TunnelMtu}}
            table = 5213
            rule-priority = 1000
          }
          access {
            interfaces = ["mn*"]
            router-lifetime = 1800s
            ra-interval = 10s
          }
        {{(features ?? LabBuffering.Default).MagBlock("  ")}}
          {{Security(MagKeysFile(mag.Index))}}
        }
        """;

    public static string Policies(LabPlan plan, bool sharedPrefix = false)
    {
        var text = new StringBuilder();
        text.AppendLine("# Written by `pmip6 lab up`: one profile per lab mobile node, recognised at a MAG by its MAC.");
        text.AppendLine("pmip6.policies {");
        text.AppendLine("  profiles = [");
        foreach (var mn in plan.MobileNodeList)
            text.AppendLine($"    {{ mn-id = \"{mn.MnId}\", link-layer-ids = [{string.Join(", ", (plan.Interfaces == 2 ? new[] { mn.Mac, mn.SecondMac } : [mn.Mac]).Select(m => $"\"{m}\""))}], hnp-count = 1, max-lifetime = 1h, " +
                            $"qos {{ traffic-class = 0, downlink-kbps = {LabQosDownlinkKbps}, uplink-kbps = 0 }}" +
                            (plan.Interfaces == 2 ? $" flow-mobility-model = \"{(sharedPrefix ? "shared-prefix" : "weak-host")}\"" : "") + " }");
        if (plan.Cluster) // the failover scenario's load generator (bench MN-IDs), registered through pmip-load's MAGs
            text.AppendLine($"    {{ mn-id-suffix = \"{Pmip6Akka.Hosts.Cli.SignalingBenchmark.MobileNodeSuffix}\", hnp-count = 1 }}");
        text.AppendLine("  ]");
        text.AppendLine("}");
        return text.ToString();
    }

    /// <summary>The MAGs every LMA accepts: the lab's, and in a cluster lab also the load generator's (pmip-load).</summary>
    public static IEnumerable<string> AuthorisedMags(LabPlan plan) =>
        plan.MagList.Select(m => m.Address).Concat(plan.Cluster ? LabCluster.LoadMagAddresses : []);

    /// <summary>Writes every file into <paramref name="runDirectory"/> (which must exist); a cluster lab needs its <paramref name="journal"/> connection string.</summary>
    public static void WriteAll(LabPlan plan, string runDirectory, LabBuffering? buffering = null, string? journal = null)
    {
        File.WriteAllText(Path.Combine(runDirectory, PolicyFile), Policies(plan, buffering?.SharedPrefix ?? false));
        if (plan.Cluster)
        {
            File.WriteAllText(Path.Combine(runDirectory, LabCluster.ClusterFile),
                LabCluster.ClusterConfig(plan, journal ?? throw new ArgumentNullException(nameof(journal), "a cluster lab's journal")));
            foreach (var node in LabCluster.Nodes(plan))
                File.WriteAllText(Path.Combine(runDirectory, LabCluster.LmaFile(node)), Lma(plan, runDirectory, buffering, node));
        }
        else
            File.WriteAllText(Path.Combine(runDirectory, LmaFile), Lma(plan, runDirectory, buffering));
        var mags = plan.MagList.Concat(plan.Cluster ? LoadMags : []).ToList();
        var secrets = mags.ToDictionary(m => m.Index, _ => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        WriteSecret(Path.Combine(runDirectory, LmaKeysFile), mags.Select(m => KeyEntry(m, m.Address, secrets[m.Index])));
        foreach (var mag in plan.MagList)
        {
            WriteSecret(Path.Combine(runDirectory, MagKeysFile(mag.Index)), [KeyEntry(mag, plan.MagsLmaAddress, secrets[mag.Index])]);
            Directory.CreateDirectory(Path.Combine(runDirectory, mag.Name + "-state"));
            File.WriteAllText(Path.Combine(runDirectory, MagFile(mag.Index)), Mag(mag, runDirectory, buffering, plan.Interfaces, plan.MagsLmaAddress));
        }
        if (plan.Cluster)
            WriteSecret(Path.Combine(runDirectory, LoadKeysFile), LoadMags.Select(m => KeyEntry(m, plan.MagsLmaAddress, secrets[m.Index])));
    }

    /// <summary>The load generator's MAGs as key owners: SPIs after the lab's MAGs' (index 100 + i).</summary>
    private static IEnumerable<MagPlan> LoadMags =>
        LabCluster.LoadMagAddresses.Select((a, i) => new MagPlan(100 + i, $"load{i}", LabCluster.LoadNamespace, a, "core", 0));

    /// <summary>A keys file created 0600 from the start (never readable by others, not even for a moment); the lab runs as root.</summary>
    private static void WriteSecret(string path, IEnumerable<string> entries)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (OperatingSystem.IsLinux())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write("# Written by `pmip6 lab up`; removed by `pmip6 lab down`.\npmip6.keys = [\n" + string.Join("\n", entries) + "\n]\n");
    }
}
