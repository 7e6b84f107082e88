// `pmip6 mn-reflector`: the optional helper for weak-host mobile nodes with several interfaces (issue 8),
// run inside the node (its network namespace in the lab). It makes the node's uplink follow its downlink
// and keeps its addresses alive across an interface's outage (ReflectorPlan says what, this applies it):
//   - ip6tables (mangle, chain PMIP6-MNR): a packet arriving on the k-th managed interface sets its
//     connection's mark to k; locally sent packets take their connection's mark back (CONNMARK restore),
//     and the kernel re-routes them (mangle OUTPUT) — so each flow's uplink leaves through the interface
//     its latest downlink packet came in on, from the same address;
//   - one policy rule per mark (fwmark k lookup table 5200+k) and in that table the interface's default
//     router; a table left empty (interface down) falls through to the main table: the other interface;
//   - net.ipv6.conf.IF.ignore_routes_with_linkdown = 1, so a link without carrier is not used for uplink;
//   - every SLAAC address copied onto the other interfaces (/128, nodad, noprefixroute, same lifetimes).
// It polls every --interval-ms (200). On SIGTERM/SIGINT it removes its chain, rules and tables; copied
// addresses are left to their lifetimes (removing them would cut the flows the helper exists to keep).
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pmip6Akka.Hosts.Cli;
using Pmip6Akka.Hosts.Lab;

namespace Pmip6Akka.Hosts.MobileNode;

public static class MnReflector
{
    public const string Usage = "pmip6 mn-reflector [--interfaces eth0,eth1 (default eth0,eth1)] [--interval-ms N (20..10000, default 200)]";
    public const string Chain = "PMIP6-MNR";
    public const int RulePriority = 900;

    public static int Run(Arguments args, TextWriter stdout)
    {
        var devices = (args.String("interfaces") ?? "eth0,eth1").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var interval = TimeSpan.FromMilliseconds(args.Integer("interval-ms", 200, 20, 10_000));
        args.EnsureAllUsed();
        if (devices.Length < 2)
            throw new UsageException("--interfaces needs at least two interface names, comma-separated");
        if (devices.Distinct(StringComparer.Ordinal).Count() != devices.Length)
            throw new UsageException($"--interfaces names an interface twice: {string.Join(',', devices)}");
        foreach (var d in devices)
            if (d.Length is 0 or > 15 || d.Contains('/') || d.Any(char.IsWhiteSpace))
                throw new UsageException($"--interfaces: '{d}' is not an interface name");
        var missing = devices.Where(d => !File.Exists($"/proc/sys/net/ipv6/conf/{d}/forwarding")).ToList();
        if (missing.Count > 0)
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 mn-reflector: no interface {string.Join(", ", missing)} here");

        using var stop = new CancellationTokenSource();
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        })).ToList();
        try
        {
            Setup(devices);
            stdout.WriteLine($"pmip6 mn-reflector: managing {string.Join(", ", devices)}: uplink follows downlink (marks {string.Join(", ", devices.Select((d, i) => $"{d}={ReflectorPlan.Mark(i)}"))}), addresses copied across interfaces");
            stdout.Flush();
            while (!stop.IsCancellationRequested)
            {
                foreach (var action in ReflectorPlan.Decide(Interfaces(devices), Addresses(), UplinkRoutes(devices)))
                    Apply(action, stdout);
                stop.Token.WaitHandle.WaitOne(interval);
            }
            return CommandLine.ExitOk;
        }
        catch (LabFailure e)
        {
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 mn-reflector: {e.Message}");
        }
        finally
        {
            Teardown(devices);
            signals.ForEach(s => s.Dispose());
            stdout.WriteLine("pmip6 mn-reflector: stopped; rules and tables removed, copied addresses left to their lifetimes");
        }
    }

    private static void Setup(IReadOnlyList<string> devices)
    {
        Teardown(devices); // a previous run killed with SIGKILL
        foreach (var d in devices)
            File.WriteAllText($"/proc/sys/net/ipv6/conf/{d}/ignore_routes_with_linkdown", "1");
        Ip6Tables("-t", "mangle", "-N", Chain);
        for (var i = 0; i < devices.Count; i++)
            Ip6Tables("-t", "mangle", "-A", Chain, "-i", devices[i], "-j", "CONNMARK", "--set-mark", ReflectorPlan.Mark(i).ToString(CultureInfo.InvariantCulture));
        Ip6Tables("-t", "mangle", "-A", "PREROUTING", "-j", Chain);
        Ip6Tables("-t", "mangle", "-A", "OUTPUT", "-j", "CONNMARK", "--restore-mark");
        for (var i = 0; i < devices.Count; i++)
            Tool.Ip("-6", "rule", "add", "fwmark", ReflectorPlan.Mark(i).ToString(CultureInfo.InvariantCulture), "lookup",
                ReflectorPlan.Table(i).ToString(CultureInfo.InvariantCulture), "priority", RulePriority.ToString(CultureInfo.InvariantCulture));
    }

    private static void Teardown(IReadOnlyList<string> devices)
    {
        Tool.TryRun("ip6tables", ["-t", "mangle", "-D", "PREROUTING", "-j", Chain]);
        Tool.TryRun("ip6tables", ["-t", "mangle", "-D", "OUTPUT", "-j", "CONNMARK", "--restore-mark"]);
        Tool.TryRun("ip6tables", ["-t", "mangle", "-F", Chain]);
        Tool.TryRun("ip6tables", ["-t", "mangle", "-X", Chain]);
        for (var i = 0; i < devices.Count; i++)
        {
            while (Tool.TryRun("ip", ["-6", "rule", "del", "priority", RulePriority.ToString(CultureInfo.InvariantCulture)]).ExitCode == 0)
            {
            }
            Tool.TryRun("ip", ["-6", "route", "flush", "table", ReflectorPlan.Table(i).ToString(CultureInfo.InvariantCulture)]);
        }
    }

    private static void Ip6Tables(params string[] args)
    {
        var result = Tool.TryRun("ip6tables", args);
        if (result.ExitCode != 0)
            throw new LabFailure($"ip6tables {string.Join(' ', args)} failed: {Tool.FirstLine(result.Error)} (scripts/install-deps.sh installs iptables)");
    }

    private static void Apply(ReflectorAction action, TextWriter log)
    {
        switch (action)
        {
            case ReflectorAction.CopyAddress c:
            {
                var r = Tool.TryRun("ip", ["-6", "addr", "replace", c.Address + "/128", "dev", c.Device, "nodad", "noprefixroute",
                    "valid_lft", Lifetime(c.ValidSeconds), "preferred_lft", Lifetime(c.PreferredSeconds)]);
                log.WriteLine(r.ExitCode == 0
                    ? $"pmip6 mn-reflector: {c.Address} also on {c.Device} (valid {Lifetime(c.ValidSeconds)} s)"
                    : $"pmip6 mn-reflector: cannot put {c.Address} on {c.Device}: {Tool.FirstLine(r.Error)}");
                break;
            }
            case ReflectorAction.SetUplinkRoute u:
            {
                var table = u.Table.ToString(CultureInfo.InvariantCulture);
                var r = u.Router is null
                    ? Tool.TryRun("ip", ["-6", "route", "flush", "table", table])
                    : Tool.TryRun("ip", ["-6", "route", "replace", "default", "via", u.Router, "dev", u.Device, "table", table]);
                log.WriteLine(r.ExitCode == 0
                    ? $"pmip6 mn-reflector: uplink of flows arriving on {u.Device}: {(u.Router is null ? "the main table (interface unusable)" : $"via {u.Router}")}"
                    : $"pmip6 mn-reflector: cannot set table {table}: {Tool.FirstLine(r.Error)}");
                break;
            }
        }
        log.Flush();
    }

    private static string Lifetime(uint seconds) => seconds == uint.MaxValue ? "forever" : seconds.ToString(CultureInfo.InvariantCulture);

    private static List<HostInterface> Interfaces(IReadOnlyList<string> devices)
    {
        var links = Json(Tool.TryRun("ip", ["-j", "link", "show"]).Output);
        var routers = Json(Tool.TryRun("ip", ["-j", "-6", "route", "show", "default"]).Output);
        var result = new List<HostInterface>();
        foreach (var d in devices)
        {
            var link = links.FirstOrDefault(l => Str(l, "ifname") == d);
            var flags = link.ValueKind == JsonValueKind.Object && link.TryGetProperty("flags", out var f) ? f.EnumerateArray().Select(x => x.GetString()).ToList() : [];
            var usable = flags.Contains("UP") && flags.Contains("LOWER_UP");
            var router = routers.Where(r => Str(r, "dev") == d && Str(r, "gateway") is not null).Select(r => Str(r, "gateway")).FirstOrDefault();
            result.Add(new HostInterface(d, usable, router));
        }
        return result;
    }

    public static List<HostAddress> Addresses()
    {
        var list = new List<HostAddress>();
        foreach (var link in Json(Tool.TryRun("ip", ["-j", "-6", "addr", "show", "scope", "global"]).Output))
        {
            if (Str(link, "ifname") is not { } device || !link.TryGetProperty("addr_info", out var infos))
                continue;
            foreach (var info in infos.EnumerateArray())
            {
                if (Str(info, "local") is not { } address || Str(info, "family") is "inet")
                    continue;
                list.Add(new HostAddress(device, address, info.TryGetProperty("prefixlen", out var p) ? p.GetInt32() : 128,
                    Seconds(info, "valid_life_time"), Seconds(info, "preferred_life_time"),
                    info.TryGetProperty("dynamic", out var dyn) && dyn.ValueKind == JsonValueKind.True));
            }
        }
        return list;
    }

    private static Dictionary<string, string?> UplinkRoutes(IReadOnlyList<string> devices)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < devices.Count; i++)
        {
            var routes = Json(Tool.TryRun("ip", ["-j", "-6", "route", "show", "table", ReflectorPlan.Table(i).ToString(CultureInfo.InvariantCulture), "default"]).Output);
            result[devices[i]] = routes.Where(r => Str(r, "dev") == devices[i]).Select(r => Str(r, "gateway")).FirstOrDefault();
        }
        return result;
    }

    private static uint Seconds(JsonElement info, string name) =>
        info.TryGetProperty(name, out var v) && v.TryGetUInt32(out var s) ? s : uint.MaxValue;

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<JsonElement> Json(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return [];
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList() : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
