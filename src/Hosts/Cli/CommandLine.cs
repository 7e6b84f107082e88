// Verb dispatch and argument parsing for `pmip6`. Usage errors exit 2 with one line naming the
// problem; runtime failures exit 1. Verbs are added here as the roadmap's issues land.
namespace Pmip6Akka.Hosts.Cli;

public sealed class UsageException(string message) : Exception(message);

/// <summary>A verb failed: <see cref="Exception.Message"/> is its one line for stderr, <see cref="ExitCode"/> its exit code.</summary>
public sealed class CommandFailure(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class CommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private sealed record Verb(string Path, string Summary, string Usage, Func<Arguments, TextWriter, int> Run);

    private static readonly Verb[] Verbs =
    [
        new("lma", "run the Local Mobility Anchor daemon",
            "pmip6 lma --config hocon/lma.conf", Daemons.LmaDaemon.Run),
        new("mag", "run the Mobile Access Gateway daemon",
            "pmip6 mag --config hocon/mag.conf", Daemons.MagDaemon.Run),
        new("status", "show a daemon's binding cache / update list and counters",
            "pmip6 status [--json] [--endpoint http://127.0.0.1:9180]", AdminClient.Status),
        new("revoke", "revoke every binding of a mobile node at the LMA (RFC 5846)",
            "pmip6 revoke <mn-id> [--endpoint http://127.0.0.1:9180]", AdminClient.Revoke),
        new("attach", "tell a MAG that a mobile node attached (until the access link reports it)",
            "pmip6 attach <mn-id> [--link-layer-id HEX] [--handoff 1..5] [--endpoint http://127.0.0.1:9181]", AdminClient.Attach),
        new("detach", "tell a MAG that a mobile node left",
            "pmip6 detach <mn-id> [--endpoint http://127.0.0.1:9181]", AdminClient.Detach),
        new("hint", "tell a MAG which MAG a mobile node moves to next (Context Reflector handover hint)",
            "pmip6 hint <mn-id> --next-mag ADDRESS [--endpoint http://127.0.0.1:9181]", AdminClient.Hint),
        new("flow list", "the LMA's downlink flows: key (5-tuple), mobile node, rate, the MAG each goes through (flow mobility)",
            AdminClient.FlowListUsage, AdminClient.FlowList),
        new("flow move", "route one flow of a mobile node through another of its MAGs (flow mobility)",
            AdminClient.FlowMoveUsage, AdminClient.FlowMove),
        new("mn-reflector", "inside a weak-host mobile node with several interfaces: uplink follows downlink, addresses survive an interface's outage (flow mobility)",
            MobileNode.MnReflector.Usage, MobileNode.MnReflector.Run),
        new("config check", "validate an lma, mag or policy configuration file without starting",
            "pmip6 config check FILE", AdminClient.ConfigCheck),
        new("wire samples", "write one packet per message kind and option set to a pcap file",
            "pmip6 wire samples --pcap FILE", WireSamplesCommand.Run),
        new("lab up", "build the lab (namespaces, LMA, MAGs, CN, mobile nodes) and start its daemons in the background",
            Lab.LabCommand.UpUsage, Lab.LabCommand.Up),
        new("lab move", "move a lab mobile node to another MAG; prints the detach-to-registration time",
            Lab.LabCommand.MoveUsage, Lab.LabCommand.Move),
        new("lab status", "the lab's nodes, addresses, daemons, binding cache and counters",
            Lab.LabCommand.StatusUsage, Lab.LabCommand.Status),
        new("lab down", "remove every namespace, process and file of the lab (idempotent)",
            Lab.LabCommand.DownUsage, Lab.LabCommand.Down),
        new("lab run", "up, traffic, handovers, report, down (scenarios: handover; reflector = standard vs buffering vs Context Reflector)",
            Lab.LabCommand.RunUsage, Lab.LabCommand.Run),
        new("bench fuzz", "mutate valid packets and decode them; count exceptions and over-reads",
            "pmip6 bench fuzz [--count N] [--seed S]", FuzzBenchmark.Run),
        new("fuzz daemons", "mutated packets to a running LMA and MAG (ours, in namespace pmipf-fuzz): both must still answer and keep their bindings",
            DaemonFuzzOptions.Usage, DaemonFuzz.Run),
        new("bench codec", "time PBU/PBA decode and encode; bytes allocated per operation",
            "pmip6 bench codec [--iterations N]", CodecBenchmark.Run),
        new("bench signaling", "load an LMA with PBUs from emulated MAGs: registrations/s, PBA latency, LMA memory per binding",
            "pmip6 bench signaling (--lma ADDRESS | --against-self) --sessions N [--mags M] [--rate R] [--duration S] [--window W] [--lma-http HOST:PORT] [--lma-settings KEY=VALUE,... (with --against-self)] [--json]",
            SignalingBenchmark.Run),
        new("bench flood", "bogus Mobility Header messages at an LMA while legitimate MAGs refresh: their success and p99, the LMA's memory and CPU per refused message",
            FloodOptions.Usage, FloodBenchmark.Run),
        new("bench soak", "a long steady mix of registrations, refreshes, handovers and de-registrations: the LMA's memory, descriptors, journal and bindings over time",
            SoakOptions.Usage, SoakBenchmark.Run),
        new("bench dataplane", "userspace IPv6-in-IPv6 tunnel vs kernel routing CN -> MN in namespaces pmip-bench-*: packets/s, Mbit/s, added latency (root)",
            "pmip6 bench dataplane [--duration S] [--sizes 64,512,1400] [--pings N] [--cpu-latency-limit-us N|off (default 0)] [--json]", DataplaneBenchmark.Run),
    ];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintHelp(stdout);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }
        var verb = Verbs.FirstOrDefault(v => Matches(v.Path, args));
        if (verb is null)
        {
            var known = string.Join(", ", Verbs.Select(v => v.Path.Split(' ')[0]).Distinct());
            var asked = string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')).Take(2));
            stderr.WriteLine($"pmip6: unknown command '{asked}' (known: {known}; see pmip6 --help)");
            return ExitUsage;
        }
        var rest = args.Skip(verb.Path.Split(' ').Length).ToArray();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            stdout.WriteLine($"usage: {verb.Usage}");
            stdout.WriteLine($"  {verb.Summary}");
            return ExitOk;
        }
        try
        {
            var arguments = Arguments.Parse(rest);
            var code = verb.Run(arguments, stdout);
            arguments.EnsureAllUsed();
            return code;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"pmip6 {verb.Path}: {e.Message} (usage: {verb.Usage})");
            return ExitUsage;
        }
        catch (CommandFailure e)
        {
            stderr.WriteLine(e.Message);
            return e.ExitCode;
        }
    }

    private static bool Matches(string path, string[] args)
    {
        var words = path.Split(' ');
        return args.Length >= words.Length && words.Select((w, i) => w == args[i]).All(x => x);
    }

    private static void PrintHelp(TextWriter stdout)
    {
        stdout.WriteLine("pmip6 — Proxy Mobile IPv6 (RFC 5213) runtime on Akka.NET");
        stdout.WriteLine();
        stdout.WriteLine("usage: pmip6 <command> [options]   (pmip6 <command> --help for its options)");
        stdout.WriteLine();
        foreach (var verb in Verbs)
            stdout.WriteLine($"  {verb.Path,-16} {verb.Summary}");
    }
}

/// <summary>
/// `--name value` options and `--flag` switches. Every option must be consumed by the verb; a
/// leftover or unknown one is a usage error naming it.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];
    private int _positionalsUsed;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public static Arguments Parse(IReadOnlyList<string> args)
    {
        var result = new Arguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                result._positionals.Add(arg);
                continue;
            }
            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            if (!result._options.TryAdd(name, value))
                throw new UsageException($"option --{name} given twice");
        }
        return result;
    }

    public string? String(string name)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var value))
            return null;
        return value ?? throw new UsageException($"option --{name} needs a value");
    }

    public string RequiredString(string name) =>
        String(name) ?? throw new UsageException($"missing option --{name}");

    public long Integer(string name, long defaultValue, long min, long max)
    {
        var text = String(name);
        if (text is null)
            return defaultValue;
        var normalized = text.Replace("_", "").Replace(",", "");
        if (!long.TryParse(normalized, out var value) || value < min || value > max)
            throw new UsageException($"--{name} must be an integer from {min} to {max}, got '{text}'");
        return value;
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var value))
            return false;
        if (value is not null)
            throw new UsageException($"option --{name} takes no value, got '{value}'");
        return true;
    }

    /// <summary>The positional argument at <paramref name="index"/>, named in the error when missing.</summary>
    public string Positional(int index, string name)
    {
        _positionalsUsed = Math.Max(_positionalsUsed, index + 1);
        return index < _positionals.Count ? _positionals[index] : throw new UsageException($"missing argument <{name}>");
    }

    public void EnsureAllUsed()
    {
        if (_positionals.Count > _positionalsUsed)
            throw new UsageException($"unexpected argument '{_positionals[_positionalsUsed]}'");
        foreach (var name in _options.Keys)
            if (!_used.Contains(name))
                throw new UsageException($"unknown option --{name}");
    }
}
