// `pmip6 lab up`: run directory and configuration files, namespaces and links, the LMA (awaited),
// then the MAGs (awaited), then every access link brought up at MAG 1; returns once every mobile node
// holds a usable global address from the HNP pool (SLAAC from the MAG's router advertisements). On
// any failure, timeout or Ctrl-C, everything started so far is removed before the one-line reason.
using System.Diagnostics;

namespace Pmip6Akka.Hosts.Lab;

public static class LabUp
{
    public static readonly TimeSpan DaemonStartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Brings the lab up; the caller handles the failure (LabTeardown has already run).</summary>
    public static LabState Run(LabPlan plan, string runDirectory, TimeSpan addressTimeout, TextWriter progress, CancellationToken cancel,
        LabBuffering? buffering = null)
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
            throw new LabFailure("pmip6 lab needs root (it creates network namespaces)");
        var existing = LabTeardown.LabNamespaces();
        if (existing.Count > 0 || Directory.Exists(runDirectory))
            throw new LabFailure($"a lab is already up ({(existing.Count > 0 ? string.Join(", ", existing) : runDirectory)}): pmip6 lab status shows it, pmip6 lab down removes it");
        try
        {
            return Build(plan, runDirectory, addressTimeout, progress, cancel, buffering ?? LabBuffering.Default);
        }
        catch (Exception e)
        {
            var logs = Path.Combine(runDirectory, "logs");
            var kept = KeepLogs(logs);
            LabTeardown.Down(runDirectory);
            if (e is LabFailure failure && kept)
                throw new LabFailure(failure.Message.Replace(logs, KeptLogDirectory, StringComparison.Ordinal));
            throw;
        }
    }

    /// <summary>Where a failed start-up leaves the daemons' logs (the run directory itself is removed).</summary>
    public const string KeptLogDirectory = "/tmp/pmip6-lab-logs";

    private static bool KeepLogs(string logs)
    {
        try
        {
            if (!Directory.Exists(logs))
                return false;
            if (Directory.Exists(KeptLogDirectory))
                Directory.Delete(KeptLogDirectory, recursive: true);
            Directory.CreateDirectory(KeptLogDirectory);
            foreach (var file in Directory.GetFiles(logs))
                File.Copy(file, Path.Combine(KeptLogDirectory, Path.GetFileName(file)));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static LabState Build(LabPlan plan, string runDirectory, TimeSpan addressTimeout, TextWriter progress, CancellationToken cancel,
        LabBuffering buffering)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(runDirectory, "logs"));
        Directory.CreateDirectory(Path.Combine(runDirectory, "pids"));
        string? journal = null;
        if (plan.Cluster)
        {
            progress.WriteLine("lab: starting PostgreSQL for the cluster's journal (scripts/postgres.sh; installed with apt-get when missing)");
            journal = LabCluster.StartPostgres(runDirectory);
        }
        LabConfigs.WriteAll(plan, runDirectory, buffering, journal);
        var state = new LabState(plan.Mags, plan.MobileNodes, plan.MobileNodeList.ToDictionary(mn => mn.Name, _ => "mag1", StringComparer.Ordinal))
        {
            Lmas = plan.Lmas,
            Store = plan.Store,
            Interfaces = plan.Interfaces,
            MnReflector = buffering.RunsMnReflector(plan),
            MnModel = plan.Interfaces == 2 ? buffering.MnModel : null,
            Buffering = buffering.Setting,
            BufferMaxPackets = buffering.MaxPacketsPerNode,
        };
        state.Save(runDirectory);
        LabTopology.Build(plan, buffering.SharedPrefix);
        if (plan.Cluster)
            StartCluster(plan, runDirectory, progress, clock, cancel);
        else
        {
            progress.WriteLine($"lab: {LabTopology.Namespaces(plan).Count()} namespaces built in {clock.Elapsed.TotalSeconds:F1} s; starting the LMA (buffering {buffering.Setting})");
            var lmaPid = LabDaemons.Start(runDirectory, "lma", LabPlan.LmaNamespace, "lma", Path.Combine(runDirectory, LabConfigs.LmaFile));
            LabDaemons.AwaitReady(runDirectory, "lma", LabPlan.LmaNamespace, LabPlan.LmaHttpPort, lmaPid, DaemonStartTimeout, cancel);
        }
        var mags = plan.MagList.Select(m => (Mag: m, Pid: LabDaemons.Start(runDirectory, m.Name, m.Namespace, "mag", Path.Combine(runDirectory, LabConfigs.MagFile(m.Index))))).ToList();
        foreach (var (mag, pid) in mags)
            LabDaemons.AwaitReady(runDirectory, mag.Name, mag.Namespace, mag.HttpPort, pid, DaemonStartTimeout, cancel);
        progress.WriteLine($"lab: LMA and {plan.Mags} MAGs serving after {clock.Elapsed.TotalSeconds:F1} s; attaching {plan.MobileNodes} mobile nodes to mag1" +
                           (plan.Interfaces == 2 ? " (eth0) and mag2 (eth1)" : ""));

        if (buffering.RunsMnReflector(plan))
        {
            // Before the attach, so that its rules are in place for the first downlink packet.
            var reflectors = plan.MobileNodeList.Select(mn => (Mn: mn, Pid: LabDaemons.StartCommand(runDirectory, $"{mn.Name}-reflector", mn.Namespace,
                "mn-reflector", "--interfaces", string.Join(',', plan.MnDevices), "--interval-ms", "100"))).ToList();
            foreach (var (mn, pid) in reflectors)
                LabDaemons.AwaitLogLine(runDirectory, $"{mn.Name}-reflector", pid, "managing", DaemonStartTimeout, cancel);
        }
        LabTopology.AttachAll(plan);
        AwaitAddresses(plan, runDirectory, addressTimeout, cancel);
        progress.WriteLine($"lab: up in {clock.Elapsed.TotalSeconds:F1} s");
        return state;
    }

    /// <summary>BIRD in the core and every node, the LMA nodes (awaited), then until the core reaches the LMAA over every node.</summary>
    private static void StartCluster(LabPlan plan, string runDirectory, TextWriter progress, Stopwatch clock, CancellationToken cancel)
    {
        progress.WriteLine($"lab: {LabTopology.Namespaces(plan).Count()} namespaces built in {clock.Elapsed.TotalSeconds:F1} s; starting BIRD and " +
                           $"{LabCluster.Describe(plan)}");
        LabCluster.StartRouting(plan, runDirectory);
        var nodes = LabCluster.Nodes(plan).Select(n => (Node: n, Pid: LabDaemons.Start(runDirectory, LabCluster.LmaName(n), LabCluster.LmaNamespace(n), "lma",
            Path.Combine(runDirectory, LabCluster.LmaFile(n))))).ToList();
        // A node serves once the cluster has formed and its restart counter came from the journal: longer than one LMA's start.
        foreach (var (node, pid) in nodes)
            LabDaemons.AwaitReady(runDirectory, LabCluster.LmaName(node), LabCluster.LmaNamespace(node), LabPlan.LmaHttpPort, pid, 2 * DaemonStartTimeout, cancel);
        var waited = Stopwatch.StartNew();
        while (LabCluster.SharedAddressPaths() < plan.Lmas)
        {
            cancel.ThrowIfCancellationRequested();
            foreach (var (node, pid) in nodes.Where(n => !LabDaemons.IsAlive(n.Pid)))
                throw new LabFailure($"the {LabCluster.LmaName(node)} daemon exited: {LabDaemons.LastLine(runDirectory, LabCluster.LmaName(node))}");
            if (waited.Elapsed > DaemonStartTimeout)
                throw new LabFailure($"the core reaches {LabCluster.SharedAddress} over {LabCluster.SharedAddressPaths()} of {plan.Lmas} LMA nodes after " +
                                     $"{DaemonStartTimeout.TotalSeconds:F0} s (BGP sessions down? see {Path.Combine(runDirectory, "logs")}/bird-*.log)");
            Thread.Sleep(200);
        }
        progress.WriteLine($"lab: {plan.Lmas} LMA nodes serving, the core reaches the LMAA over all of them after {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static void AwaitAddresses(LabPlan plan, string runDirectory, TimeSpan timeout, CancellationToken cancel)
    {
        var waiting = plan.MobileNodeList.ToList();
        var clock = Stopwatch.StartNew();
        while (waiting.Count > 0)
        {
            cancel.ThrowIfCancellationRequested();
            waiting.RemoveAll(mn => plan.MnDevices.All(device => NodeAddresses.InPool(mn.Namespace, device).Count > 0));
            if (waiting.Count == 0)
                return;
            foreach (var (name, pid) in LabState.ReadPids(runDirectory))
                if (!LabDaemons.IsAlive(pid))
                    throw new LabFailure($"the {name} daemon exited: {LabDaemons.LastLine(runDirectory, name)} (see {LabState.LogFile(runDirectory, name)})");
            if (clock.Elapsed > timeout)
            {
                var names = string.Join(", ", waiting.Take(5).Select(mn => mn.Name)) + (waiting.Count > 5 ? $" and {waiting.Count - 5} more" : "");
                throw new LabFailure($"{names} got no global address from {LabPlan.PrefixPool} within {timeout.TotalSeconds:F0} s " +
                                     $"(no router advertisement with its prefix? see {LabState.LogFile(runDirectory, "mag1")} and {LabState.LogFile(runDirectory, plan.Cluster ? "lma1" : "lma")})");
            }
            Thread.Sleep(100);
        }
    }
}
