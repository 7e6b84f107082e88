// The `pmip6 lab` verbs (docs/LAB.md): argument checking (usage errors exit 2 before anything is
// touched), Ctrl-C handling, and turning a LabFailure into its one line and exit code 1.
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Lab;

public static class LabCommand
{
    public const string UpUsage = "pmip6 lab up [--mags N (1..16, default 2)] [--mns K (1..50, default 1)] [--timeout S (default 60)] [--buffering on|off (default on)] [--buffer-max-packets N] [--reflector on|off (default off)] [--aaa-delay-ms N (default 0)] [--interfaces 1|2 (default 1; 2: each node also on mag2 through eth1, flow mobility on)] [--mn-model weak-host|shared-prefix (default weak-host)] [--mn-reflector on|off (default on for weak-host nodes with 2 interfaces)] [--lmas N (1..3, default 1; more: a cluster behind the core router pmip-core)] [--store sqlite|postgres (default sqlite for 1 LMA, postgres for more)]";
    public const string MoveUsage = "pmip6 lab move <mnK> <magN> [--gap-ms G (default 50)]";
    public const string StatusUsage = "pmip6 lab status [--json]";
    public const string DownUsage = "pmip6 lab down";
    public const string RunUsage = "pmip6 lab run --scenario handover|reflector|flow|failover [--json] [--plot FILE.svg (not failover)] [--sessions N (failover: load-generator MNs, 1000..100000, default 1000)] [--moves M (default 4)] [--interval-ms I (default 3000)] [--gap-ms G (default 50)] [--buffering on|off (default on)] [--buffer-max-packets N] [--keep-logs DIR (the daemons' logs, copied there before the lab is removed)]";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string RunDirectory => LabPlan.RunDirectory;

    public static int Up(Arguments args, TextWriter stdout)
    {
        var mags = (int)args.Integer("mags", 2, 1, LabPlan.MaxMags);
        var mns = (int)args.Integer("mns", 1, 1, LabPlan.MaxMobileNodes);
        var interfaces = (int)args.Integer("interfaces", 1, 1, LabPlan.MaxInterfaces);
        if (interfaces == 2 && mags < 2)
            throw new UsageException("--interfaces 2 needs --mags 2 or more (each node's second interface attaches at mag2)");
        var timeout = TimeSpan.FromSeconds(args.Integer("timeout", 60, 1, 3600));
        var (lmas, store) = ClusterArguments(args, interfaces);
        var buffering = LabBuffering.FromArguments(args);
        if (lmas > 1 || store == LabPlan.Postgres)
            buffering = ClusterBuffering(args, buffering);
        args.EnsureAllUsed();
        return Guarded("up", cancel =>
        {
            var plan = LabPlan.Create(mags, mns, interfaces, lmas, store);
            LabUp.Run(plan, RunDirectory, timeout, Console.Error, cancel, buffering);
            foreach (var mn in plan.MobileNodeList)
            {
                stdout.WriteLine($"{mn.Name,-6} {mn.Namespace,-10} mag1  {string.Join(' ', NodeAddresses.InPool(mn.Namespace))}");
                if (interfaces == 2)
                    stdout.WriteLine($"{"",-6} {LabPlan.SecondMnDevice,-10} mag2  {string.Join(' ', NodeAddresses.InPool(mn.Namespace, LabPlan.SecondMnDevice))}");
            }
            return CommandLine.ExitOk;
        });
    }

    /// <summary>`--lmas N` and `--store sqlite|postgres`, checked together (several nodes need PostgreSQL; flow mobility runs on one LMA).</summary>
    private static (int Lmas, string Store) ClusterArguments(Arguments args, int interfaces)
    {
        var lmas = (int)args.Integer("lmas", 1, 1, LabPlan.MaxLmas);
        var store = args.String("store") ?? (lmas > 1 ? LabPlan.Postgres : LabPlan.Sqlite);
        if (store is not (LabPlan.Sqlite or LabPlan.Postgres))
            throw new UsageException($"--store must be sqlite or postgres, got '{store}'");
        if (lmas > 1 && store == LabPlan.Sqlite)
            throw new UsageException($"--lmas {lmas} needs --store postgres (the nodes share one journal; SQLite is one process's file)");
        if (interfaces == 2 && (lmas > 1 || store == LabPlan.Postgres))
            throw new UsageException("--interfaces 2 (flow mobility) runs on a single LMA on sqlite in the lab, not with --lmas or --store postgres");
        return (lmas, store);
    }

    /// <summary>
    /// A cluster lab runs without handover buffering: the downlink a previous MAG returns reaches whichever node the core's ECMP picks,
    /// not necessarily the one buffering it (docs/DESIGN-NOTES.md). Off by default there; asking for it is an error, not ignored.
    /// </summary>
    private static LabBuffering ClusterBuffering(Arguments args, LabBuffering buffering)
    {
        if (args.String("buffering") == "on" || args.String("buffer-max-packets") is not null || buffering.Reflector)
            throw new UsageException("handover buffering and the Context Reflector run on a single LMA in the lab, not in a cluster (--lmas, --store postgres)");
        return buffering with { Enabled = false };
    }

    public static int Move(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mnK");
        var mag = args.Positional(1, "magN");
        var gap = TimeSpan.FromMilliseconds(args.Integer("gap-ms", 50, 0, 60_000));
        args.EnsureAllUsed();
        if (LabPlan.ParseMobileNode(mn) is null)
            throw new UsageException($"<mnK> must name a mobile node like mn1, got '{mn}'");
        if (LabPlan.ParseMag(mag) is null)
            throw new UsageException($"<magN> must name a MAG like mag2, got '{mag}'");
        return Guarded("move", cancel =>
        {
            var moved = LabMove.Run(RunDirectory, mn, mag, gap, cancel);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{moved.MobileNode}: {moved.From} -> {moved.To}, detach to registration {moved.DetachToRegistration.TotalMilliseconds:F1} ms (gap {moved.Gap.TotalMilliseconds:F0} ms)"));
            return CommandLine.ExitOk;
        }, cleanUpOnFailure: false);
    }

    public static int Status(Arguments args, TextWriter stdout)
    {
        var json = args.Flag("json");
        args.EnsureAllUsed();
        return Guarded("status", _ =>
        {
            var status = LabStatus.Collect(RunDirectory);
            if (json)
                stdout.WriteLine(status.ToJsonString(Indented));
            else
                LabStatus.PrintTable(status, stdout);
            return CommandLine.ExitOk;
        }, cleanUpOnFailure: false);
    }

    public static int Down(Arguments args, TextWriter stdout)
    {
        args.EnsureAllUsed();
        return Guarded("down", _ =>
        {
            var result = LabTeardown.Down(RunDirectory);
            stdout.WriteLine(result.Namespaces == 0 && result.Processes == 0 && !result.RunDirectory
                ? "lab: nothing to remove"
                : $"lab: stopped {result.Processes} daemons, deleted {result.Namespaces} namespaces{(result.RunDirectory ? $" and {RunDirectory}" : "")}");
            return CommandLine.ExitOk;
        }, cleanUpOnFailure: false);
    }

    public static int Run(Arguments args, TextWriter stdout)
    {
        var scenario = args.RequiredString("scenario");
        var intervalGiven = args.String("interval-ms") is not null;
        var movesGiven = args.String("moves") is not null;
        var options = new HandoverOptions
        {
            Json = args.Flag("json"),
            Plot = args.String("plot"),
            Moves = (int)args.Integer("moves", 4, 1, 100),
            Interval = TimeSpan.FromMilliseconds(args.Integer("interval-ms", 3000, 500, 600_000)),
            Gap = TimeSpan.FromMilliseconds(args.Integer("gap-ms", 50, 0, 60_000)),
            Buffering = LabBuffering.FromArguments(args),
        };
        var sessions = (int)args.Integer("sessions", FailoverScenario.DefaultSessions, 1000, 100_000);
        var keepLogs = args.String("keep-logs");
        args.EnsureAllUsed();
        if (keepLogs is not null && (keepLogs.Length == 0 || File.Exists(keepLogs)))
            throw new UsageException($"--keep-logs needs a directory (created when missing), got '{keepLogs}'");
        if (scenario is not ("handover" or "reflector" or "flow" or "failover"))
            throw new UsageException($"unknown scenario '{scenario}' (known: handover, reflector, flow, failover)");
        if (options.Plot is { } plot && !plot.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--plot writes SVG: give a FILE.svg, got '{plot}'");
        if (scenario == "failover" && options.Plot is not null)
            throw new UsageException("--plot is not available for the failover scenario (its report is the figures)");
        if (scenario != "failover" && args.String("sessions") is not null)
            throw new UsageException("--sessions is the failover scenario's (load-generator mobile nodes)");
        return Guarded("run", cancel =>
        {
            try
            {
                var outcome = scenario switch
                {
                    "flow" => FlowScenario.Run(RunDirectory, options with
                    {
                        Interval = intervalGiven ? options.Interval : TimeSpan.FromMilliseconds(1500),
                        Moves = movesGiven ? options.Moves : 6,
                    }, Console.Error, cancel) is var f ? new ScenarioOutcome(f.ToJson, f.Print, () => SvgPlot.Render(f), f.Succeeded) : null!,
                    "failover" => FailoverScenario.Run(RunDirectory, new FailoverOptions(sessions), Console.Error, cancel) is var o
                        ? new ScenarioOutcome(o.ToJson, o.Print, () => "", o.Succeeded) : null!,
                    "reflector" => ReflectorScenario.Run(RunDirectory, options, Console.Error, cancel) is var r
                        ? new ScenarioOutcome(r.ToJson, r.Print, () => SvgPlot.Render(r), r.Succeeded) : null!,
                    _ => HandoverScenario.Run(RunDirectory, options, Console.Error, cancel) is var h
                        ? new ScenarioOutcome(h.ToJson, h.Print, () => SvgPlot.Render(h), h.Succeeded) : null!,
                };
                if (options.Json)
                    stdout.WriteLine(outcome.Json().ToJsonString(Indented));
                else
                    outcome.Print(stdout);
                if (options.Plot is { } file)
                {
                    File.WriteAllText(file, outcome.Svg());
                    Console.Error.WriteLine($"lab run: plot written to {file}");
                }
                return outcome.Succeeded ? CommandLine.ExitOk : CommandLine.ExitFailure;
            }
            finally
            {
                if (keepLogs is not null)
                    KeepLogs(keepLogs);
                LabTeardown.Down(RunDirectory);
            }
        }, cleanUpOnFailure: false);
    }

    /// <summary>Copies the run directory's daemon logs to <paramref name="target"/> (what a failed run leaves to read). Never throws.</summary>
    private static void KeepLogs(string target)
    {
        var logs = Path.GetDirectoryName(LabState.LogFile(RunDirectory, "x"))!;
        try
        {
            Directory.CreateDirectory(target);
            var copied = 0;
            if (Directory.Exists(logs))
                foreach (var file in Directory.EnumerateFiles(logs))
                {
                    File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
                    copied++;
                }
            Console.Error.WriteLine($"lab run: {copied} daemon logs copied to {target}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"lab run: could not copy the daemon logs to {target}: {e.Message}");
        }
    }

    /// <summary>What `lab run` does with any scenario's report: JSON or text, the plot, the exit code.</summary>
    private sealed record ScenarioOutcome(Func<System.Text.Json.Nodes.JsonNode> Json, Action<TextWriter> Print, Func<string> Svg, bool Succeeded);

    /// <summary>Runs a verb with Ctrl-C turned into cancellation; a failure becomes one line and exit 1 (130 when interrupted).</summary>
    private static int Guarded(string verb, Func<CancellationToken, int> body, bool cleanUpOnFailure = true)
    {
        using var cancel = new CancellationTokenSource();
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        })).ToList();
        try
        {
            return body(cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            if (cleanUpOnFailure)
                LabTeardown.Down(RunDirectory);
            throw new CommandFailure(130, $"pmip6 lab {verb}: interrupted; cleaned up");
        }
        catch (LabFailure e)
        {
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 lab {verb}: {e.Message}");
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
        }
    }
}
