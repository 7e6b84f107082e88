// A node's global IPv6 addresses as the kernel holds them (`ip -j -6 addr show scope global`), with
// the tentative (DAD still running) ones told apart: only a non-tentative address is usable.
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public sealed record NodeAddress(string Address, int PrefixLength, bool Tentative);

public static class NodeAddresses
{
    public static IReadOnlyList<NodeAddress> Global(string ns, string? device = null)
    {
        string[] args = device is null
            ? ["-n", ns, "-j", "-6", "addr", "show", "scope", "global"]
            : ["-n", ns, "-j", "-6", "addr", "show", "dev", device, "scope", "global"];
        var result = Tool.TryRun("ip", args);
        return result.ExitCode == 0 ? Parse(result.Output) : [];
    }

    /// <summary>Parses `ip -j addr show` output.</summary>
    public static IReadOnlyList<NodeAddress> Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return [];
        var list = new List<NodeAddress>();
        using var document = JsonDocument.Parse(json);
        foreach (var link in document.RootElement.EnumerateArray())
        {
            if (!link.TryGetProperty("addr_info", out var infos))
                continue;
            foreach (var info in infos.EnumerateArray())
            {
                if (!info.TryGetProperty("local", out var local) || info.TryGetProperty("family", out var family) && family.GetString() != "inet6")
                    continue;
                var tentative = info.TryGetProperty("tentative", out var t) && t.ValueKind == JsonValueKind.True;
                list.Add(new NodeAddress(local.GetString()!, info.TryGetProperty("prefixlen", out var p) ? p.GetInt32() : 128, tentative));
            }
        }
        return list;
    }

    /// <summary>The node's usable addresses inside the HNP pool.</summary>
    public static IReadOnlyList<string> InPool(string ns, string device = LabPlan.MnDevice) =>
        [.. Global(ns, device).Where(a => !a.Tentative && LabPlan.InPool(a.Address) && a.PrefixLength != 128).Select(a => a.Address)];
}
