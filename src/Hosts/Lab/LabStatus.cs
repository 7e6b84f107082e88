// `pmip6 lab status [--json]`: every node's addresses, each daemon's pid and health (process alive,
// HTTP /status answering), the LMA's binding cache and the daemons' counters. The JSON's minimum
// shape is the public contract in docs/LAB.md; the table is for people.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pmip6Akka.Hosts.Lab;

public static class LabStatus
{
    public static JsonObject Collect(string runDirectory)
    {
        var state = LabState.Load(runDirectory);
        var plan = state.Plan;
        var bindings = new JsonArray();
        var lmas = new JsonArray();
        var nodes = plan.Cluster
            ? LabCluster.Nodes(plan).Select(n => (Name: LabCluster.LmaName(n), Namespace: LabCluster.LmaNamespace(n))).ToList()
            : [("lma", LabPlan.LmaNamespace)];
        foreach (var (name, ns) in nodes)
        {
            var lmaStatus = DaemonHttp.TryGetJson(ns, LabPlan.LmaHttpPort, "/status?limit=100000");
            // In a cluster each node's read model holds the bindings of the buckets it runs: together, every binding once.
            if (lmaStatus is { } l && l.TryGetProperty("bindings", out var b))
                foreach (var binding in b.EnumerateArray())
                    bindings.Add(JsonNode.Parse(binding.GetRawText()));
            var lmaPid = LabState.ReadPid(runDirectory, name);
            lmas.Add(new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["address"] = plan.MagsLmaAddress,
                ["pid"] = lmaPid,
                ["health"] = Health(lmaPid, lmaStatus),
                ["log"] = LabState.LogFile(runDirectory, name),
                ["cluster"] = plan.Cluster ? ClusterNode(lmaStatus) : null,
                ["counters"] = Counters(lmaStatus),
                ["buffering"] = lmaStatus is { } ls && ls.TryGetProperty("buffering", out var buf) && buf.ValueKind == JsonValueKind.Object
                    ? JsonNode.Parse(buf.GetRawText()) : null,
            });
        }
        var mags = new JsonArray();
        foreach (var mag in plan.MagList)
        {
            var pid = LabState.ReadPid(runDirectory, mag.Name);
            var status = DaemonHttp.TryGetJson(mag.Namespace, mag.HttpPort, "/status");
            var list = new JsonArray();
            if (status is { } s && s.TryGetProperty("bindingUpdateList", out var bul))
                foreach (var entry in bul.EnumerateArray())
                    list.Add(JsonNode.Parse(entry.GetRawText()));
            mags.Add(new JsonObject
            {
                ["name"] = mag.Name,
                ["namespace"] = mag.Namespace,
                ["address"] = mag.Address,
                ["pid"] = pid,
                ["health"] = Health(pid, status),
                ["log"] = LabState.LogFile(runDirectory, mag.Name),
                ["bindingUpdateList"] = list,
                ["counters"] = Counters(status),
            });
        }
        var mns = new JsonArray();
        foreach (var mn in plan.MobileNodeList)
        {
            var hnps = new JsonArray();
            foreach (var binding in bindings)
                if (binding?["mnId"]?.GetValue<string>() == mn.MnId && binding["hnps"] is JsonArray prefixes)
                    foreach (var prefix in prefixes)
                        hnps.Add(prefix?.GetValue<string>());
            mns.Add(new JsonObject
            {
                ["name"] = mn.Name,
                ["namespace"] = mn.Namespace,
                ["mnId"] = mn.MnId,
                ["mac"] = mn.Mac,
                ["mag"] = state.Placement.GetValueOrDefault(mn.Name),
                ["addresses"] = new JsonArray([.. NodeAddresses.Global(mn.Namespace, LabPlan.MnDevice).Where(a => !a.Tentative).Select(a => (JsonNode?)a.Address)]),
                ["hnps"] = hnps,
            });
        }
        return new JsonObject
        {
            ["lma"] = lmas,
            ["store"] = plan.Store,
            ["mags"] = mags,
            ["cn"] = new JsonObject { ["namespace"] = LabPlan.CnNamespace, ["address"] = LabPlan.CnAddress },
            ["mns"] = mns,
            ["bindings"] = bindings,
            ["buffering"] = new JsonObject { ["enabled"] = state.Buffering, ["maxPacketsPerNode"] = state.BufferMaxPackets },
        };
    }

    /// <summary>A cluster node as its /status tells it: its member address, the shards and binding buckets it runs, its bindings.</summary>
    private static JsonObject? ClusterNode(JsonElement? status)
    {
        if (status is not { } s || !s.TryGetProperty("cluster", out var c) || c.ValueKind != JsonValueKind.Object)
            return null;
        return new JsonObject
        {
            ["member"] = c.TryGetProperty("node", out var node) ? node.GetString() : null,
            ["shards"] = c.TryGetProperty("shards", out var shards) ? shards.GetInt32() : null,
            ["buckets"] = c.TryGetProperty("buckets", out var buckets) ? buckets.GetInt32() : null,
            ["mobileNodes"] = s.TryGetProperty("mobileNodes", out var m) ? m.GetInt32() : null,
            ["sessions"] = s.TryGetProperty("sessions", out var sessions) ? sessions.GetInt32() : null,
        };
    }

    private static string Health(int? pid, JsonElement? status) =>
        pid is null || !LabDaemons.IsAlive(pid.Value) ? "down" : status is null ? "unresponsive" : "ok";

    private static JsonObject Counters(JsonElement? status)
    {
        var result = new JsonObject();
        if (status is not { } s || !s.TryGetProperty("counters", out var counters))
            return result;
        foreach (var c in counters.EnumerateArray())
        {
            var name = c.GetProperty("name").GetString()!;
            if (c.TryGetProperty("label", out var label) && label.ValueKind == JsonValueKind.String && label.GetString() is { Length: > 0 })
                name += $"{{{label.GetString()}=\"{c.GetProperty("value").GetString()}\"}}";
            result[name] = c.GetProperty("count").GetInt64();
        }
        return result;
    }

    public static void PrintTable(JsonObject status, TextWriter stdout)
    {
        stdout.WriteLine($"{"daemon",-8} {"namespace",-12} {"address",-22} {"pid",-8} health");
        foreach (var d in status["lma"]!.AsArray().Concat(status["mags"]!.AsArray()))
            stdout.WriteLine($"{d!["name"],-8} {d["namespace"],-12} {d["address"],-22} {d["pid"]?.ToString() ?? "-",-8} {d["health"]}");
        stdout.WriteLine($"{"cn",-8} {status["cn"]!["namespace"],-12} {status["cn"]!["address"]}");
        var clusterNodes = status["lma"]!.AsArray().Where(d => d?["cluster"] is JsonObject).ToList();
        if (clusterNodes.Count > 0)
        {
            stdout.WriteLine();
            stdout.WriteLine($"LMA cluster on {status["store"]}: {"node",-6} {"member",-16} {"shards",6} {"buckets",8} {"bindings",9}");
            foreach (var d in clusterNodes)
            {
                var c = d!["cluster"]!;
                stdout.WriteLine($"{"",-23}{d["name"],-6} {c["member"],-16} {c["shards"],6} {c["buckets"],8} {c["sessions"],9}");
            }
        }
        if (status["buffering"] is JsonObject buffering)
            stdout.WriteLine($"handover buffering at the LMA: {buffering["enabled"]}{(buffering["maxPacketsPerNode"] is { } max ? $" (max {max} packets per node)" : "")}");
        stdout.WriteLine();
        stdout.WriteLine($"{"node",-6} {"mag",-6} {"addresses",-42} hnps");
        foreach (var mn in status["mns"]!.AsArray())
            stdout.WriteLine($"{mn!["name"],-6} {mn["mag"],-6} {Join(mn["addresses"]),-42} {Join(mn["hnps"])}");
        stdout.WriteLine();
        var bindings = status["bindings"]!.AsArray();
        stdout.WriteLine($"LMA binding cache: {bindings.Count} entries");
        foreach (var b in bindings)
            stdout.WriteLine($"  {b!["mnId"],-20} {Join(b["hnps"]),-26} via {b["proxyCoa"],-20} {b["state"],-12} {b["lifetimeSeconds"]} s");
    }

    private static string Join(JsonNode? array) =>
        array is JsonArray a && a.Count > 0 ? string.Join(' ', a.Select(x => x?.GetValue<string>())) : "-";
}
