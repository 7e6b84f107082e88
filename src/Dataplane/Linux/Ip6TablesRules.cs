// The ip6tables rules that send a mobile node's downlink to our nfnetlink_queue while the LMA buffers
// it across a handover: `ip6tables -t mangle -I PREROUTING -d <HNP> -m comment --comment pmip6
// -j NFQUEUE --queue-num N` (iptables-extensions(8): NFQUEUE, comment). Added once per buffering
// episode and removed after the release, so running ip6tables (a process, with an argument list, no
// shell) is fine here; nothing runs per packet. Works with either backend (iptables-nft and
// iptables-legacy speak the same command line).
// Why mangle PREROUTING: it is the first hook a forwarded packet reaches, before the routing decision,
// so the packet is parked before it is routed towards the old MAG; on NF_ACCEPT it continues to the
// routing decision then, with the routes of the new binding. -I (insert at the head of the chain): a
// rule before ours that ACCEPTs would otherwise let the packet skip the queue.
// Every rule carries the comment "pmip6": `ip6tables -t mangle -S PREROUTING` shows what is ours, and
// RemoveAll (run at startup) deletes exactly those, e.g. the rules a crashed daemon left behind.
//
// No --queue-bypass, a deliberate choice. The kernel never holds a packet for a queue nobody has
// bound: without a listener, NFQUEUE drops it (nf_queue: no instance, NF_DROP), and with
// --queue-bypass it would instead continue as if the rule were not there. Also, when the listener's
// socket closes, the packets it held are dropped (the queue instance is flushed with NF_DROP). So
// "hold while the daemon is away" is not on offer; the choice is drop or pass. We drop (fail closed):
// during a handover the mobile node's routes are in flux (the old tunnel route is being withdrawn,
// the new one not yet there), and passing the packet on means sending it along a stale route (to the
// old MAG, which no longer serves the node) or along the default route back upstream, where it loops
// until its hop limit runs out. A dead daemon serves no binding anyway, so dropping loses nothing a
// bypass would have delivered. The cost: a rule left by a crashed daemon black-holes that prefix until
// the next start runs RemoveAll; its packet counters (`ip6tables -t mangle -L PREROUTING -v`) show
// what it caught. Order of operations: bind the queue before adding a rule, remove the rule after the
// release.
// Many changes at once (a busy LMA starts and ends hundreds of buffering episodes a second) go in one
// `ip6tables-restore --noflush` run instead (TryApply): one process and one kernel transaction for the
// lot, all or nothing — a delete of a rule that is not there fails the whole run and changes nothing.
// Rules live in the network namespace of the process that runs ip6tables: the child inherits the
// calling thread's namespace (fork copies the thread's nsproxy), as the tests rely on.
using System.Globalization;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Linux;

public sealed class Ip6TablesRules
{
    /// <summary>The comment on every rule we add: how ours are told from anyone else's.</summary>
    public const string Comment = "pmip6";
    public const string Table = "mangle";
    public const string Chain = "PREROUTING";

    /// <summary>The Debian package that provides ip6tables.</summary>
    public const string Package = "iptables";

    /// <summary>Seconds ip6tables waits for the xtables lock (`-w`) before giving up.</summary>
    private const int LockWaitSeconds = 10;

    private readonly string _executable, _restoreExecutable;
    private readonly TimeSpan _timeout;

    /// <param name="executable">ip6tables (found on PATH), or a full path; its batch form is the same name with "-restore"
    /// (ip6tables-restore, ip6tables-legacy-restore), from the same package.</param>
    /// <param name="timeout">How long one run may take before it is killed (default 30 s: the lock wait plus margin).</param>
    public Ip6TablesRules(string executable = "ip6tables", TimeSpan? timeout = null)
    {
        _executable = executable;
        _restoreExecutable = executable + "-restore";
        _timeout = timeout ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>
    /// Adds (<c>Add</c> true) and deletes the queue rules of several prefixes in one `ip6tables-restore --noflush` run: one
    /// transaction, so either every change is made or none (false with the tool's message, e.g. when a rule to delete is not
    /// there). No check first: an insert of a rule that is there adds a second copy, so the caller must know which rules are
    /// there (<see cref="TryListOurs"/>, <see cref="TryParseQueueRule"/>); <see cref="TryAddQueueRule"/> and
    /// <see cref="TryRemoveQueueRule"/> check first and are the way to recover. Nothing to change succeeds without a run.
    /// </summary>
    public bool TryApply(IReadOnlyList<(Ipv6Prefix Destination, bool Add)> changes, ushort queue, out string error)
    {
        error = "";
        if (changes.Count == 0)
            return true;
        var input = RestoreInput(changes, queue);
        string[] arguments = ["-w", LockWaitSeconds.ToString(CultureInfo.InvariantCulture), "--noflush"];
        if (!ToolProcess.TryRun(_restoreExecutable, Package, arguments, _timeout, out var result, out error, input))
            return false;
        if (result.Code == 0)
            return true;
        error = $"{_restoreExecutable} --noflush ({changes.Count} changes) failed ({result.Code}): {result.Error.Trim()}";
        return false;
    }

    /// <summary>What <see cref="TryApply"/> feeds ip6tables-restore: the mangle table, one -I or -D line per change, COMMIT.</summary>
    internal static string RestoreInput(IReadOnlyList<(Ipv6Prefix Destination, bool Add)> changes, ushort queue)
    {
        var text = new System.Text.StringBuilder("*").Append(Table).Append('\n');
        foreach (var (destination, add) in changes)
            text.AppendJoin(' ', RuleSpecification(add ? "-I" : "-D", destination, queue)).Append('\n');
        return text.Append("COMMIT\n").ToString();
    }

    /// <summary>
    /// Sends packets to <paramref name="destination"/> to NFQUEUE <paramref name="queue"/> (inserted at the
    /// head of mangle PREROUTING). Adding a rule that is already there changes nothing and succeeds.
    /// False with ip6tables' own message (or what to install when it is missing).
    /// </summary>
    public bool TryAddQueueRule(Ipv6Prefix destination, ushort queue, out string error)
    {
        var (exists, checkError) = Check(destination, queue);
        if (checkError is not null)
        {
            error = checkError;
            return false;
        }
        if (exists)
        {
            error = "";
            return true;
        }
        return TryRun(RuleArguments("-I", destination, queue), out _, out error);
    }

    /// <summary>Deletes the rule <see cref="TryAddQueueRule"/> adds; a rule that is not there counts as deleted.</summary>
    public bool TryRemoveQueueRule(Ipv6Prefix destination, ushort queue, out string error)
    {
        var (exists, checkError) = Check(destination, queue);
        if (checkError is not null)
        {
            error = checkError;
            return false;
        }
        if (!exists)
        {
            error = "";
            return true;
        }
        return TryRun(RuleArguments("-D", destination, queue), out _, out error);
    }

    /// <summary>Our rules in mangle PREROUTING, as `ip6tables -S` prints them ("-A PREROUTING -d ... --comment pmip6 ...").</summary>
    public bool TryListOurs(out IReadOnlyList<string> rules, out string error)
    {
        rules = [];
        if (!TryRun(["-w", LockWaitSeconds.ToString(CultureInfo.InvariantCulture), "-t", Table, "-S", Chain], out var output, out error))
            return false;
        rules = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(IsOurs)
            .ToList();
        return true;
    }

    /// <summary>Deletes every rule of ours in mangle PREROUTING (startup cleanup); <paramref name="removed"/> counts them.</summary>
    public bool TryRemoveAll(out int removed, out string error)
    {
        removed = 0;
        if (!TryListOurs(out var rules, out error))
            return false;
        foreach (var rule in rules)
        {
            // "-A PREROUTING <spec>" -> "-D PREROUTING <spec>": the same tokens delete it. Ours carry no
            // quoted arguments (the comment is a single word), so splitting on spaces is exact.
            var tokens = rule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length < 2 || tokens[0] != "-A")
                continue;
            tokens[0] = "-D";
            if (!TryRun(["-w", LockWaitSeconds.ToString(CultureInfo.InvariantCulture), "-t", Table, .. tokens], out _, out error))
                return false;
            removed++;
        }
        return true;
    }

    /// <summary>As <see cref="TryRemoveAll"/>, throwing <see cref="InvalidOperationException"/> with ip6tables' message; returns how many rules it removed.</summary>
    public int RemoveAll() =>
        TryRemoveAll(out var removed, out var error) ? removed : throw new InvalidOperationException(error);

    /// <summary>The destination prefix and queue number of one of our rules as `ip6tables -S` prints it; false for anything else.</summary>
    public static bool TryParseQueueRule(string line, out Ipv6Prefix destination, out ushort queue)
    {
        destination = default;
        queue = 0;
        if (!IsOurs(line))
            return false;
        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var d = Array.IndexOf(tokens, "-d");
        var q = Array.IndexOf(tokens, "--queue-num");
        if (d < 0 || d + 1 >= tokens.Length || q < 0 || q + 1 >= tokens.Length
            || !ushort.TryParse(tokens[q + 1], NumberStyles.None, CultureInfo.InvariantCulture, out queue))
            return false;
        try
        {
            destination = Ipv6Prefix.Parse(tokens[d + 1]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A line of `ip6tables -S` that is an appended rule with exactly our comment.</summary>
    internal static bool IsOurs(string line)
    {
        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0 || tokens[0] != "-A")
            return false;
        for (var i = 0; i + 1 < tokens.Length; i++)
            if (tokens[i] == "--comment" && tokens[i + 1] == Comment)
                return true;
        return false;
    }

    internal static List<string> RuleArguments(string operation, Ipv6Prefix destination, ushort queue) =>
        ["-w", LockWaitSeconds.ToString(CultureInfo.InvariantCulture), "-t", Table, .. RuleSpecification(operation, destination, queue)];

    /// <summary>"-I PREROUTING -d ... -j NFQUEUE --queue-num N": the rule itself, as ip6tables and ip6tables-restore take it.</summary>
    private static List<string> RuleSpecification(string operation, Ipv6Prefix destination, ushort queue) =>
    [
        operation, Chain,
        "-d", $"{destination.Address.Mask(destination.Length)}/{destination.Length}",
        "-m", "comment", "--comment", Comment,
        "-j", "NFQUEUE", "--queue-num", queue.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>
    /// `-C`: exit 0 when the rule is there; exit 1 when not, saying "Bad rule (does a matching rule exist
    /// in that chain?)" (nft backend) or "No chain/target/match by that name." (legacy backend, 1.8.9);
    /// anything else is an error.
    /// </summary>
    private (bool Exists, string? Error) Check(Ipv6Prefix destination, ushort queue)
    {
        if (!TryStart(RuleArguments("-C", destination, queue), out var result, out var error))
            return (false, error);
        if (result.Code == 0)
            return (true, null);
        if (result.Code == 1 && (result.Error.Contains("does a matching rule exist", StringComparison.Ordinal)
                                 || result.Error.Contains("No chain/target/match by that name", StringComparison.Ordinal)))
            return (false, null);
        return (false, Describe(RuleArguments("-C", destination, queue), result));
    }

    private bool TryRun(List<string> arguments, out string output, out string error)
    {
        output = "";
        if (!TryStart(arguments, out var result, out error))
            return false;
        if (result.Code != 0)
        {
            error = Describe(arguments, result);
            return false;
        }
        output = result.Output;
        error = "";
        return true;
    }

    private string Describe(List<string> arguments, (int Code, string Output, string Error) result) =>
        $"{_executable} {string.Join(' ', arguments)} failed ({result.Code}): {result.Error.Trim()}";

    private bool TryStart(List<string> arguments, out (int Code, string Output, string Error) result, out string error) =>
        ToolProcess.TryRun(_executable, Package, arguments, _timeout, out result, out error);
}
