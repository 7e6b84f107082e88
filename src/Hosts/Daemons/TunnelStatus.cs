// The userspace tunnel as /status and /metrics show it: every tunnel endpoint with its traffic, the
// number of prefixes steered, and every drop by reason.
using Pmip6Akka.Dataplane.Linux;

namespace Pmip6Akka.Hosts.Daemons;

public static class TunnelStatus
{
    public static object? Of(UserspaceTunnel? tunnel) => tunnel is null ? null : new
    {
        device = tunnel.DeviceName,
        role = tunnel.Forwarder.Role.ToString().ToLowerInvariant(),
        prefixes = tunnel.Forwarder.Table.RouteCount,
        endpoints = tunnel.Forwarder.Table.Endpoints.OrderBy(e => e.Remote).Select(e => new
        {
            remote = e.Remote.ToString(),
            packetsOut = e.PacketsOut,
            bytesOut = e.BytesOut,
            packetsIn = e.PacketsIn,
            bytesIn = e.BytesIn,
        }).ToArray(),
        counters = tunnel.Forwarder.Counters.All().Select(c => new { name = c.Name, reason = c.Reason, count = c.Value }).ToArray(),
    };

    public static IEnumerable<(string Name, string Help, double Value)> Gauges(UserspaceTunnel? tunnel)
    {
        if (tunnel is null)
            yield break;
        yield return ("tunnel_prefixes", "home network prefixes steered through the userspace tunnel", tunnel.Forwarder.Table.RouteCount);
        yield return ("tunnel_endpoints", "tunnel endpoints (peers) kept", tunnel.Forwarder.Table.Endpoints.Count);
        foreach (var (name, reason, value) in tunnel.Forwarder.Counters.All())
            yield return (reason.Length == 0 ? name : $"{name.Replace("_total", "")}_{reason.Replace('-', '_')}_total", "userspace tunnel counter", value);
    }
}
