// `pmip6 lab run --scenario flow` (issue 8): one mobile node on mag1 (eth0, prefix A) and mag2 (eth1,
// prefix B) at once, flow mobility on, `pmip6 mn-reflector` in the node. From the CN: a UDP stream to
// A (1000 packets/s), TCP 1 to A and TCP 2 to B (paced). Then, a few seconds apart:
//   1. command moves: the UDP flow moved to the other MAG and back (`POST /flows/move`), M times;
//   2. a loss trigger: a tc tbf far below the offered rate on the LMA's port towards the MAG that carries
//      the UDP flow; the LMA's move-on-loss monitor (qdisc counters) moves flows off it, fastest first;
//      the tbf is lifted once they are off (or after 10 s);
//   3. an outage: the node's interface at the MAG that now carries the flows goes down; the LMA moves
//      that interface's flows to the remaining MAG (de-registration with another session active).
// Per event: for each flow moved, the time from the trigger to its first packet on the new interface
// (FlowSniffer in the node), UDP datagrams lost (sequence numbers sent between this event and the next
// that never arrived), and whether every other flow stayed on its interface (no packet of it on another
// interface in that window). Per-flow packet counters at both MAGs (ip6tables) close the report; both TCP
// transfers must arrive whole and the node's addresses must be the ones it had at the start.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public sealed record FlowEvent(string Kind, string Trigger, double TriggerMs, double EndMs, IReadOnlyList<FlowMoveFigure> Moved,
    IReadOnlyList<string> Disturbed, long UdpLost, long UdpSentInWindow);

/// <summary>
/// One flow's move within an event: from and to (interface names); <see cref="DecidedAfterMs"/>: for a command move when the
/// LMA answered the POST (the route persisted and handed to its dataplane), for a loss move when `GET /flows` first showed the
/// flow elsewhere; the first packet on the new interface.
/// </summary>
public sealed record FlowMoveFigure(string Flow, string From, string To, double? DecidedAfterMs, double? FirstPacketAfterMs);

public sealed record FlowReport(string MnModel, string MobileNode, IReadOnlyList<string> AddressesBefore, IReadOnlyList<string> AddressesAfter,
    IReadOnlyList<FlowEvent> Events, IReadOnlyList<TcpResult?> Tcp, long UdpSent, long UdpReceived, string? Error, double EndMs,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> MagCounters, IReadOnlyList<FlowPacket> Packets,
    IReadOnlyList<(double TimeMs, int Bytes)>[] TcpReceipts, IReadOnlyList<Arrival> UdpArrivals, IReadOnlyDictionary<int, string> InterfaceNames)
{
    public static readonly string[] FlowNames = ["udp", "tcp1", "tcp2"];

    public bool AddressesKept => AddressesBefore.All(AddressesAfter.Contains);

    public IReadOnlyList<double> CommandFirstPacketMs =>
        [.. Events.Where(e => e.Kind == "command").SelectMany(e => e.Moved).Where(m => m.FirstPacketAfterMs is not null).Select(m => m.FirstPacketAfterMs!.Value)];

    public double? CommandMedianMs => Median(CommandFirstPacketMs);

    public bool Succeeded => Error is null && Tcp.All(t => t?.Ok == true) && AddressesKept
                             && Events.Where(e => e.Kind == "command").All(e => e.Moved.All(m => m.FirstPacketAfterMs is not null))
                             && Events.Any(e => e.Kind == "loss" && e.Moved.Count > 0) && Events.Any(e => e.Kind == "outage" && e.Moved.Count > 0);

    public static double? Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return null;
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public void Print(TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine($"flow scenario ({MnModel} node): {MobileNode}, addresses {string.Join(", ", AddressesBefore)}");
        o.WriteLine("event    trigger                                   flow   from -> to     decided ms  first pkt ms  udp lost  others untouched");
        foreach (var e in Events)
        {
            var first = true;
            foreach (var m in e.Moved.DefaultIfEmpty(new FlowMoveFigure("-", "-", "-", null, null)))
            {
                o.WriteLine(string.Create(c, $"{(first ? e.Kind : ""),-8} {(first ? e.Trigger : ""),-41} {m.Flow,-6} {m.From + " -> " + m.To,-14} {Fmt(m.DecidedAfterMs),10}  {Fmt(m.FirstPacketAfterMs),12}  {(first ? $"{e.UdpLost}/{e.UdpSentInWindow}" : ""),8}  {(first ? (e.Disturbed.Count == 0 ? "yes" : "no: " + string.Join(",", e.Disturbed)) : "")}"));
                first = false;
            }
        }
        o.WriteLine(string.Create(c, $"command moves: trigger to first packet on the new path, median {Fmt(CommandMedianMs)} ms over {CommandFirstPacketMs.Count} (target < 5 ms)"));
        o.WriteLine($"UDP: {UdpReceived}/{UdpSent} received");
        for (var i = 0; i < Tcp.Count; i++)
            o.WriteLine($"TCP {i + 1}: " + (Tcp[i] is { } t ? (t.Ok ? $"{t.BytesReceived} bytes arrived whole (SHA-256 match)" : $"FAILED: {t.Error ?? $"{t.BytesReceived}/{t.BytesSent} bytes"}") : "not run"));
        o.WriteLine($"addresses after: {string.Join(", ", AddressesAfter)} ({(AddressesKept ? "unchanged" : "CHANGED")})");
        foreach (var (mag, counts) in MagCounters)
            o.WriteLine($"{mag} forwarded to the node: {string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"))} packets");
        var byInterface = Packets.GroupBy(p => (p.Flow, p.Interface)).OrderBy(g => g.Key).Select(g => $"{FlowNames[g.Key.Flow]}@{Name(g.Key.Interface)} {g.Count()}");
        o.WriteLine($"node received: {string.Join(", ", byInterface)} packets");
        if (Error is not null)
            o.WriteLine($"error: {Error}");
        o.WriteLine(Succeeded ? "result: ok" : "result: FAILED");
    }

    public string Name(int ifindex) => InterfaceNames.TryGetValue(ifindex, out var n) ? n : $"if{ifindex}";

    private static string Fmt(double? v) => v is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) : "-";

    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["scenario"] = "flow",
        ["mnModel"] = MnModel,
        ["mobileNode"] = MobileNode,
        ["addressesBefore"] = new System.Text.Json.Nodes.JsonArray([.. AddressesBefore.Select(a => (System.Text.Json.Nodes.JsonNode?)a)]),
        ["addressesAfter"] = new System.Text.Json.Nodes.JsonArray([.. AddressesAfter.Select(a => (System.Text.Json.Nodes.JsonNode?)a)]),
        ["addressesKept"] = AddressesKept,
        ["events"] = new System.Text.Json.Nodes.JsonArray([.. Events.Select(e => (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
        {
            ["kind"] = e.Kind, ["trigger"] = e.Trigger, ["triggerMs"] = Math.Round(e.TriggerMs, 1), ["endMs"] = Math.Round(e.EndMs, 1),
            ["udpLost"] = e.UdpLost, ["udpSent"] = e.UdpSentInWindow, ["othersUntouched"] = e.Disturbed.Count == 0,
            ["disturbed"] = new System.Text.Json.Nodes.JsonArray([.. e.Disturbed.Select(d => (System.Text.Json.Nodes.JsonNode?)d)]),
            ["moved"] = new System.Text.Json.Nodes.JsonArray([.. e.Moved.Select(m => (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject
            {
                ["flow"] = m.Flow, ["from"] = m.From, ["to"] = m.To,
                ["decidedAfterMs"] = m.DecidedAfterMs is { } d ? Math.Round(d, 1) : null,
                ["firstPacketAfterMs"] = m.FirstPacketAfterMs is { } f ? Math.Round(f, 2) : null,
            })]),
        })]),
        ["commandMoveMedianMs"] = CommandMedianMs is { } med ? Math.Round(med, 2) : null,
        ["udp"] = new System.Text.Json.Nodes.JsonObject { ["sent"] = UdpSent, ["received"] = UdpReceived },
        ["tcp"] = new System.Text.Json.Nodes.JsonArray([.. Tcp.Select(t => (System.Text.Json.Nodes.JsonNode?)(t is null ? null : new System.Text.Json.Nodes.JsonObject
        {
            ["ok"] = t.Ok, ["bytesSent"] = t.BytesSent, ["bytesReceived"] = t.BytesReceived, ["error"] = t.Error,
        }))]),
        ["magCounters"] = new System.Text.Json.Nodes.JsonObject(MagCounters.Select(m => KeyValuePair.Create(m.Key,
            (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonObject(m.Value.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)kv.Value)))))),
        ["nodeCounters"] = new System.Text.Json.Nodes.JsonObject(Packets.GroupBy(p => (p.Flow, p.Interface)).OrderBy(g => g.Key)
            .Select(g => KeyValuePair.Create($"{FlowNames[g.Key.Flow]}@{Name(g.Key.Interface)}", (System.Text.Json.Nodes.JsonNode?)g.LongCount()))),
        ["error"] = Error,
        ["succeeded"] = Succeeded,
    };
}

public static class FlowScenario
{
    public const int UdpPort = UdpStream.Port, Tcp1Port = TcpTransfer.Port, Tcp2Port = TcpTransfer.Port + 1;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LossWait = TimeSpan.FromSeconds(10);
    private const string MnId = "mn1@lab.pmip6";

    public static FlowReport Run(string runDirectory, HandoverOptions options, TextWriter progress, CancellationToken cancel)
    {
        var plan = LabPlan.Create(2, 1, 2);
        LabUp.Run(plan, runDirectory, TimeSpan.FromSeconds(60), progress, cancel, options.Buffering);
        var mn = LabPlan.MobileNode(1);
        var a = HomeAddress(mn, LabPlan.MnDevice, LabPlan.Mag(1), cancel);
        var b = HomeAddress(mn, LabPlan.SecondMnDevice, LabPlan.Mag(2), cancel);
        var ifindex = new Dictionary<string, int>
        {
            [LabPlan.MnDevice] = NetnsRunner.Run(mn.Namespace, () => Pmip6Akka.Dataplane.Linux.RouteNetlink.InterfaceIndex(LabPlan.MnDevice)),
            [LabPlan.SecondMnDevice] = NetnsRunner.Run(mn.Namespace, () => Pmip6Akka.Dataplane.Linux.RouteNetlink.InterfaceIndex(LabPlan.SecondMnDevice)),
        };
        var names = ifindex.ToDictionary(kv => kv.Value, kv => kv.Key);
        // The interface each MAG serves the node on, and back.
        var viaMag = new Dictionary<string, string> { ["mag1"] = LabPlan.MnDevice, ["mag2"] = LabPlan.SecondMnDevice };
        foreach (var mag in plan.MagList)
            InstallMagCounters(mag, mag.Index == 1 ? mn.MagSideDevice : mn.SecondMagSideDevice);

        var origin = Stopwatch.GetTimestamp();
        using var sniffer = new FlowSniffer(mn.Namespace, origin, [(17, UdpPort), (6, Tcp1Port), (6, Tcp2Port)]);
        using var udp = new UdpStream(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(a), options.PacketsPerSecond, origin, UdpPort, recordInterface: true);
        using var tcp1 = new TcpTransfer(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(a), options.TcpBytesPerSecond, origin, Tcp1Port);
        using var tcp2 = new TcpTransfer(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(b), options.TcpBytesPerSecond / 2, origin, Tcp2Port);
        var events = new List<(string Kind, string Trigger, double At, List<(int Flow, string From, string To, double? Decided)> Moves)>();
        string? error = null;
        TcpResult?[] tcpResults = [null, null];
        var addressesBefore = NodePoolAddresses(mn.Namespace);
        double Now() => Stopwatch.GetElapsedTime(origin).TotalMilliseconds;
        try
        {
            udp.Start();
            tcp1.Start(TimeSpan.FromSeconds(10));
            tcp2.Start(TimeSpan.FromSeconds(10));
            Sleep(Warmup, cancel);

            // 1. Command moves of the UDP flow, back and forth.
            var udpMag = "mag1";
            for (var i = 1; i <= options.Moves; i++)
            {
                var to = udpMag == "mag1" ? "mag2" : "mag1";
                var flow = FindFlow(17, UdpPort, cancel) ?? throw new LabFailure("the LMA's flow table has no UDP flow to the node (GET /flows)");
                var at = Now();
                var (status, body) = DaemonHttp.Post(LabPlan.LmaNamespace, LabPlan.LmaHttpPort,
                    $"/flows/move?mn-id={Uri.EscapeDataString(MnId)}&flow-id={flow.Id}&to={Uri.EscapeDataString(LabPlan.Mag(to == "mag1" ? 1 : 2).Address)}", cancel);
                if (status != 200)
                    throw new LabFailure($"POST /flows/move answered {status}: {body}");
                var answered = Now() - at;
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lab run: {at / 1000,5:F1} s  command move {i}: udp {udpMag} -> {to}"));
                events.Add(("command", $"flow move udp --to {to}", at, [(0, viaMag[udpMag], viaMag[to], answered)]));
                udpMag = to;
                Sleep(options.Interval, cancel);
            }

            // 2. Loss: a tbf far below what the flows offer, on the LMA's port towards the UDP flow's MAG.
            var shaped = LabPlan.Mag(udpMag == "mag1" ? 1 : 2);
            var before = Flows(cancel);
            var onShaped = before.Where(f => f.Via == shaped.Address).ToList();
            var lossAt = Now();
            Tool.TryRun("ip", ["netns", "exec", LabPlan.LmaNamespace, "tc", "qdisc", "replace", "dev", shaped.LmaSideDevice, "root", "tbf", "rate", "1mbit", "burst", "4000", "limit", "8000"]);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lab run: {lossAt / 1000,5:F1} s  loss: tbf 1 Mbit/s on the LMA's port towards {shaped.Name}"));
            var lossMoves = new List<(int, string, string, double?)>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < LossWait && lossMoves.Count < onShaped.Count)
            {
                foreach (var f in Flows(cancel))
                    if (onShaped.Any(s => s.Flow == f.Flow) && f.Via != shaped.Address && lossMoves.All(m => m.Item1 != f.Flow))
                        lossMoves.Add((f.Flow, viaMag[shaped.Name], viaMag[shaped.Name == "mag1" ? "mag2" : "mag1"], Now() - lossAt));
                Sleep(TimeSpan.FromMilliseconds(20), cancel);
            }
            Sleep(TimeSpan.FromMilliseconds(300), cancel);
            Tool.TryRun("ip", ["netns", "exec", LabPlan.LmaNamespace, "tc", "qdisc", "del", "dev", shaped.LmaSideDevice, "root"]);
            events.Add(("loss", $"tbf 1 Mbit/s towards {shaped.Name}", lossAt, lossMoves));
            Sleep(options.Interval, cancel);

            // 3. Outage: the node's interface at the MAG that carries the UDP flow now goes down.
            var carrying = Flows(cancel).FirstOrDefault(f => f.Flow == 0)?.Via == LabPlan.Mag(1).Address ? "mag1" : "mag2";
            var down = viaMag[carrying];
            var remaining = carrying == "mag1" ? "mag2" : "mag1";
            var onCarrying = Flows(cancel).Where(f => f.Via == LabPlan.Mag(carrying == "mag1" ? 1 : 2).Address).Select(f => f.Flow).Distinct().ToList();
            var outageAt = Now();
            Tool.Ip("-n", mn.Namespace, "link", "set", down, "down");
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lab run: {outageAt / 1000,5:F1} s  outage: {mn.Name} {down} (at {carrying}) down"));
            events.Add(("outage", $"{down} down at {carrying}", outageAt, [.. onCarrying.Select(f => (f, down, viaMag[remaining], (double?)null))]));
            Sleep(options.Interval * 2, cancel);
        }
        catch (LabFailure e)
        {
            error = e.Message;
        }
        var end = udp.Stop(TimeSpan.FromMilliseconds(500));
        if (tcp1.BytesSent > 0)
            tcpResults[0] = tcp1.Finish(TimeSpan.FromSeconds(15));
        if (tcp2.BytesSent > 0)
            tcpResults[1] = tcp2.Finish(TimeSpan.FromSeconds(15));
        var addressesAfter = NodePoolAddresses(mn.Namespace);
        var magCounters = plan.MagList.ToDictionary(m => m.Name, m => (IReadOnlyDictionary<string, long>)ReadMagCounters(m));
        var packets = sniffer.Packets;
        var sendTimes = udp.SendTimes;
        var arrivals = udp.Arrivals;
        var received = arrivals.Select(x => x.Sequence).ToHashSet();

        var measured = new List<FlowEvent>();
        for (var i = 0; i < events.Count; i++)
        {
            var (kind, trigger, at, moves) = events[i];
            var until = i + 1 < events.Count ? events[i + 1].At : end;
            var figures = moves.Select(m => new FlowMoveFigure(FlowReport.FlowNames[m.Flow], m.From, m.To, m.Decided,
                packets.FirstOrDefault(p => p.Flow == m.Flow && p.TimeMs > at && p.Interface == ifindex[m.To]) is { TimeMs: > 0 } first ? first.TimeMs - at : null)).ToList();
            var moved = moves.Select(m => m.Flow).ToHashSet();
            var disturbed = new List<string>();
            for (var f = 0; f < FlowReport.FlowNames.Length; f++)
            {
                if (moved.Contains(f))
                    continue;
                var last = packets.LastOrDefault(p => p.Flow == f && p.TimeMs <= at);
                if (last.TimeMs > 0 && packets.Any(p => p.Flow == f && p.TimeMs > at && p.TimeMs < until && p.Interface != last.Interface))
                    disturbed.Add(FlowReport.FlowNames[f]);
            }
            long sentInWindow = 0, lost = 0;
            for (var s = 0; s < sendTimes.Count; s++)
            {
                if (sendTimes[s] < at || sendTimes[s] >= until)
                    continue;
                sentInWindow++;
                if (!received.Contains(s))
                    lost++;
            }
            measured.Add(new FlowEvent(kind, trigger, at, until, figures, disturbed, lost, sentInWindow));
        }
        return new FlowReport(options.Buffering.MnModel, mn.Name, addressesBefore, addressesAfter, measured, tcpResults, udp.Sent, udp.Received, error, end, magCounters,
            packets, [tcp1.Receipts, tcp2.Receipts], arrivals, names);
    }

    /// <summary>
    /// The node's address on <paramref name="device"/> from the prefix of its session at <paramref name="mag"/> (LMA /status): in the
    /// shared-prefix model an interface soon holds addresses from both prefixes, and the flows are meant for each one's own.
    /// </summary>
    private static string HomeAddress(MobileNodePlan mn, string device, MagPlan mag, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (DaemonHttp.TryGetJson(LabPlan.LmaNamespace, LabPlan.LmaHttpPort, "/status", cancel) is { } status)
            {
                var hnp = status.GetProperty("bindings").EnumerateArray()
                    .Where(s => s.GetProperty("mnId").GetString() == mn.MnId && s.GetProperty("proxyCoa").GetString() == mag.Address)
                    .SelectMany(s => s.GetProperty("hnps").EnumerateArray().Select(h => h.GetString()!)).FirstOrDefault();
                if (hnp is not null && NodeAddresses.InPool(mn.Namespace, device).FirstOrDefault(x =>
                        Pmip6Akka.Dataplane.Wire.Ipv6Prefix.Parse(hnp).Contains(Pmip6Akka.Dataplane.Wire.Ipv6Address.Parse(x))) is { } address)
                    return address;
            }
            Sleep(TimeSpan.FromMilliseconds(100), cancel);
        }
        throw new LabFailure($"{mn.Name} has no address on {device} from its prefix at {mag.Name} (see lab status)");
    }

    private sealed record FlowRow(long Id, int Flow, string Via);

    private static FlowRow? FindFlow(byte protocol, int port, CancellationToken cancel) =>
        Flows(cancel).FirstOrDefault(f => f.Flow == Array.IndexOf(new[] { UdpPort, Tcp1Port, Tcp2Port }, port) && (protocol == 17) == (f.Flow == 0));

    /// <summary>The LMA's flow table rows of the scenario's flows (the newest row per flow).</summary>
    private static List<FlowRow> Flows(CancellationToken cancel)
    {
        var rows = new List<FlowRow>();
        if (DaemonHttp.TryGetJson(LabPlan.LmaNamespace, LabPlan.LmaHttpPort, "/flows", cancel) is not { } json || !json.TryGetProperty("flows", out var flows))
            return rows;
        foreach (var f in flows.EnumerateArray())
        {
            var protocol = f.GetProperty("protocol").GetInt32();
            var port = f.TryGetProperty("destinationPort", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : -1;
            var flow = (protocol, port) switch { (17, UdpPort) => 0, (6, Tcp1Port) => 1, (6, Tcp2Port) => 2, _ => -1 };
            if (flow >= 0)
                rows.Add(new FlowRow(f.GetProperty("id").GetInt64(), flow, f.GetProperty("via").GetString() ?? ""));
        }
        return [.. rows.GroupBy(r => r.Flow).Select(g => g.MaxBy(r => r.Id)!)];
    }

    private static IReadOnlyList<string> NodePoolAddresses(string ns) =>
        [.. NodeAddresses.Global(ns).Where(x => !x.Tentative && LabPlan.InPool(x.Address)).Select(x => x.Address).Distinct().Order(StringComparer.Ordinal)];

    private const string CounterChain = "PMIP6-LAB-FLOWS";

    /// <summary>Per-flow packet counters at a MAG: packets it forwards onto the node's access device, by flow.</summary>
    private static void InstallMagCounters(MagPlan mag, string accessDevice)
    {
        void Run(params string[] args)
        {
            var r = Tool.TryRun("ip", ["netns", "exec", mag.Namespace, "ip6tables", .. args]);
            if (r.ExitCode != 0)
                throw new LabFailure($"ip6tables {string.Join(' ', args)} in {mag.Namespace} failed: {Tool.FirstLine(r.Error)}");
        }
        Run("-t", "mangle", "-N", CounterChain);
        Run("-t", "mangle", "-A", "POSTROUTING", "-o", accessDevice, "-j", CounterChain);
        Run("-t", "mangle", "-A", CounterChain, "-p", "udp", "--dport", UdpPort.ToString(CultureInfo.InvariantCulture), "-m", "comment", "--comment", "udp");
        Run("-t", "mangle", "-A", CounterChain, "-p", "tcp", "--dport", Tcp1Port.ToString(CultureInfo.InvariantCulture), "-m", "comment", "--comment", "tcp1");
        Run("-t", "mangle", "-A", CounterChain, "-p", "tcp", "--dport", Tcp2Port.ToString(CultureInfo.InvariantCulture), "-m", "comment", "--comment", "tcp2");
    }

    private static Dictionary<string, long> ReadMagCounters(MagPlan mag)
    {
        var result = FlowReport.FlowNames.ToDictionary(n => n, _ => 0L);
        var r = Tool.TryRun("ip", ["netns", "exec", mag.Namespace, "ip6tables", "-t", "mangle", "-L", CounterChain, "-v", "-x", "-n"]);
        foreach (var line in r.Output.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var comment = Array.IndexOf(fields, "/*");
            if (fields.Length > 2 && comment > 0 && comment + 1 < fields.Length && long.TryParse(fields[0], CultureInfo.InvariantCulture, out var pkts)
                && result.ContainsKey(fields[comment + 1]))
                result[fields[comment + 1]] = pkts;
        }
        return result;
    }

    private static void Sleep(TimeSpan span, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(span))
            cancel.ThrowIfCancellationRequested();
    }
}
