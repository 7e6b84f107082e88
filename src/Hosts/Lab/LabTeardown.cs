// `lab down`, and the clean-up after any failed `lab up` or `lab run`: stops every daemon the lab
// started (its pid files, and any process still inside a lab namespace), deletes every namespace
// the lab owns (by name: pmip-lma*, pmip-magN, pmip-cn, pmip-mnK; never the tests' pmip-t* or the
// benchmark's pmip-bench) and removes the run directory. Idempotent: nothing there is success.
using System.Globalization;

namespace Pmip6Akka.Hosts.Lab;

public sealed record TeardownResult(int Processes, int Namespaces, bool RunDirectory);

public static class LabTeardown
{
    public static IReadOnlyList<string> LabNamespaces()
    {
        var result = Tool.TryRun("ip", ["netns", "list"]);
        var names = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0]);
        // `ip netns list` can miss a namespace whose mount is gone but whose file stays; look at the folder too.
        if (Directory.Exists(NetnsRunner.RunDirectory))
            names = names.Concat(Directory.GetFiles(NetnsRunner.RunDirectory).Select(f => Path.GetFileName(f)));
        return [.. names.Where(LabPlan.IsLabNamespace).Distinct().Order(StringComparer.Ordinal)];
    }

    public static TeardownResult Down(string runDirectory)
    {
        var namespaces = LabNamespaces();
        var pids = new HashSet<int>(LabState.ReadPids(runDirectory).Values.Where(p => LabDaemons.IsAlive(p) && LabDaemons.IsPmip6(p)));
        foreach (var ns in namespaces)
        {
            var inside = Tool.TryRun("ip", ["netns", "pids", ns]);
            foreach (var line in inside.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId)
                    pids.Add(pid);
        }
        LabDaemons.Stop(pids);

        var failed = new List<string>();
        if (namespaces.Count > 0)
        {
            Tool.TryRun("ip", ["-batch", "-", "-force"], string.Join('\n', namespaces.Select(ns => $"netns del {ns}")) + "\n");
            foreach (var ns in namespaces.Where(NetnsRunner.Exists))
                if (Tool.TryRun("ip", ["netns", "del", ns]).ExitCode != 0 && NetnsRunner.Exists(ns))
                    failed.Add(ns);
        }
        // A cluster lab's PostgreSQL runs in the host namespace, from the run directory: stopped before that goes.
        // Never deleted under a server still running from it: then the run directory stays and the failure says why.
        var postgresError = LabCluster.StopPostgres(runDirectory);
        if (postgresError is not null)
            failed.Add($"PostgreSQL in {Path.Combine(runDirectory, LabCluster.PostgresDirectory)} ({postgresError})");
        var hadRunDirectory = Directory.Exists(runDirectory);
        if (hadRunDirectory && postgresError is null)
            Directory.Delete(runDirectory, recursive: true);
        if (failed.Count > 0)
            throw new LabFailure($"could not remove {string.Join(", ", failed)} (ip netns del NAME; scripts/postgres.sh stop DIR)");
        return new TeardownResult(pids.Count, namespaces.Count, hadRunDirectory);
    }
}
