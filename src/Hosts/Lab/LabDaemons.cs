// Starting and stopping the lab's daemons. Each runs in its own session (setsid) inside its
// namespace (ip netns exec, which execs the daemon, so the pid bash reports is the daemon's), with
// stdout/stderr in logs/NAME.log, so it outlives the `lab up` command. A daemon is ready when its
// HTTP /status answers; one that exits or stays silent fails the start with its log named.
using System.Diagnostics;
using System.Globalization;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Lab;

public static class LabDaemons
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The pmip6.dll this process runs from (also under a test host).</summary>
    public static string Pmip6Dll => typeof(LabDaemons).Assembly.Location;

    /// <summary>The dotnet host: this process when it is dotnet, else the one on PATH.</summary>
    public static string DotnetHost
    {
        get
        {
            var self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
                return self;
            return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        }
    }

    /// <summary>Starts `pmip6 ROLE --config CONFIG` in <paramref name="ns"/> in the background; writes and returns its pid.</summary>
    public static int Start(string runDirectory, string name, string ns, string role, string config)
    {
        var log = LabState.LogFile(runDirectory, name);
        const string script = "cd \"$1\" || exit 1; setsid ip netns exec \"$2\" \"$3\" \"$4\" \"$5\" --config \"$6\" >>\"$7\" 2>&1 </dev/null & echo $!";
        var result = Tool.TryRun("bash", ["-c", script, "lab", runDirectory, ns, DotnetHost, Pmip6Dll, role, config, log]);
        if (result.ExitCode != 0 || !int.TryParse(result.Output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            throw new LabFailure($"cannot start the {name} daemon: {Tool.FirstLine(result.Error)}");
        File.WriteAllText(LabState.PidFile(runDirectory, name), pid.ToString(CultureInfo.InvariantCulture));
        return pid;
    }

    /// <summary>Starts `pmip6 ARGS...` in <paramref name="ns"/> in the background (a helper without a config file, e.g. mn-reflector); writes and returns its pid.</summary>
    public static int StartCommand(string runDirectory, string name, string ns, params string[] args) =>
        StartProgram(runDirectory, name, ns, [DotnetHost, Pmip6Dll, .. args]);

    /// <summary>Starts any program (e.g. BIRD in the foreground) in <paramref name="ns"/> in the background, logged like a daemon; writes and returns its pid.</summary>
    public static int StartProgram(string runDirectory, string name, string ns, params string[] command)
    {
        var log = LabState.LogFile(runDirectory, name);
        const string script = "cd \"$1\" || exit 1; log=\"$2\"; ns=\"$3\"; shift 3; setsid ip netns exec \"$ns\" \"$@\" >>\"$log\" 2>&1 </dev/null & echo $!";
        var result = Tool.TryRun("bash", ["-c", script, "lab", runDirectory, log, ns, .. command]);
        if (result.ExitCode != 0 || !int.TryParse(result.Output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            throw new LabFailure($"cannot start {name}: {Tool.FirstLine(result.Error)}");
        File.WriteAllText(LabState.PidFile(runDirectory, name), pid.ToString(CultureInfo.InvariantCulture));
        return pid;
    }

    /// <summary>Waits until <paramref name="marker"/> appears in the helper's log (it has no HTTP endpoint).</summary>
    public static void AwaitLogLine(string runDirectory, string name, int pid, string marker, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var log = LabState.LogFile(runDirectory, name);
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (File.Exists(log) && File.ReadAllText(log).Contains(marker, StringComparison.Ordinal))
                return;
            if (!IsAlive(pid))
                throw new LabFailure($"{name} exited during start-up: {LastLine(runDirectory, name)} (see {log})");
            if (clock.Elapsed > timeout)
                throw new LabFailure($"{name} did not start within {timeout.TotalSeconds:F0} s (see {log})");
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until the daemon answers GET /status inside its namespace.</summary>
    public static void AwaitReady(string runDirectory, string name, string ns, int port, int pid, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (!IsAlive(pid))
                throw new LabFailure($"the {name} daemon exited during start-up: {LastLine(runDirectory, name)} (see {LabState.LogFile(runDirectory, name)})");
            if (DaemonHttp.TryGetJson(ns, port, "/status?limit=0", cancel) is not null)
                return;
            if (clock.Elapsed > timeout)
                throw new LabFailure($"the {name} daemon did not answer http://127.0.0.1:{port}/status in {ns} within {timeout.TotalSeconds:F0} s (see {LabState.LogFile(runDirectory, name)})");
            Thread.Sleep(100);
        }
    }

    public static string LastLine(string runDirectory, string name)
    {
        try
        {
            var lines = File.ReadAllLines(LabState.LogFile(runDirectory, name)).Where(l => l.Trim().Length > 0).ToArray();
            return lines.Length == 0 ? "(empty log)" : lines[^1].Trim();
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Whether the process runs (a zombie left unreaped by a container's init counts as gone).</summary>
    public static bool IsAlive(int pid)
    {
        if (kill(pid, 0) != 0 && errno != EPERM)
            return false;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..];
            return !state.StartsWith('Z') && !state.StartsWith('X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="pid"/> still runs a pmip6 daemon (a recycled pid is left alone).</summary>
    public static bool IsPmip6(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("pmip6", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM every pid, then SIGKILL whatever still runs after a few seconds; waits until they are gone.</summary>
    public static void Stop(IReadOnlyCollection<int> pids)
    {
        foreach (var pid in pids)
            kill(pid, SIGTERM);
        var clock = Stopwatch.StartNew();
        while (pids.Any(IsAlive) && clock.Elapsed < StopTimeout)
            Thread.Sleep(50);
        foreach (var pid in pids.Where(IsAlive))
            kill(pid, SIGKILL);
        clock.Restart();
        while (pids.Any(IsAlive) && clock.Elapsed < StopTimeout)
            Thread.Sleep(20);
    }

    /// <summary>SIGKILL one daemon (no shutdown hook runs) and wait until it is gone.</summary>
    public static void Kill(int pid)
    {
        kill(pid, SIGKILL);
        var clock = Stopwatch.StartNew();
        while (IsAlive(pid) && clock.Elapsed < StopTimeout)
            Thread.Sleep(10);
    }
}
