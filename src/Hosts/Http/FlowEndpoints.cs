// The LMA's flow endpoints (issue 8), behind `pmip6 flow list` and `pmip6 flow move`:
//   GET  /flows                                   the downlink flow table, each flow with its mobile node
//   POST /flows/move?mn-id=&flow-id=&to=          route one flow through another MAG of its mobile node
// The flow id is the flow table's (stable for the flow's life, never reused); the move itself is the
// binding entity's (RouteFlow), persisted, so it survives a restart.
using System.Diagnostics;
using System.Text.Json;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Http;

public static class FlowEndpoints
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public const string TableOff = "flow classification is off at this LMA: set flow-mobility.enabled = on (userspace tunnel)";

    private static HttpReply Error(string message, int status) => HttpReply.Json(JsonSerializer.Serialize(new { error = message }, Json), status);

    /// <summary>The MN whose binding holds <paramref name="destination"/>, from the binding index.</summary>
    public static string? OwnerOf(BindingIndexView index, Ipv6Address destination) =>
        index.Bindings.FirstOrDefault(b => b.Sessions.Any(s => s.Prefixes.Any(p => p.Contains(destination))))?.MobileNodeId;

    public static HttpReply List(FlowTable? flows, BindingIndexView index)
    {
        if (flows is null)
            return Error(TableOff, 409);
        var rows = flows.Snapshot(Stopwatch.GetTimestamp()).Select(f => new
        {
            id = f.Id,
            mnId = OwnerOf(index, f.Key.Destination),
            source = f.Key.Source.ToString(),
            destination = f.Key.Destination.ToString(),
            protocol = f.Key.NextHeader,
            sourcePort = f.Key.HasPorts ? f.Key.SourcePort : (int?)null,
            destinationPort = f.Key.HasPorts ? f.Key.DestinationPort : (int?)null,
            flowLabel = f.Key.HasPorts ? (uint?)null : f.Key.FlowLabel, // not part of a ported flow's key (FlowKey)
            packets = f.Packets,
            bytes = f.Bytes,
            bytesPerSecond = Math.Round(f.BytesPerSecond, 1),
            ageSeconds = Math.Round(f.Age.TotalSeconds, 3),
            idleSeconds = Math.Round(f.Idle.TotalSeconds, 3),
            via = f.Via?.ToString(),
            movedTo = f.MovedTo?.ToString(),
        }).ToArray();
        return HttpReply.Json(JsonSerializer.Serialize(new { flows = rows }, Json));
    }

    /// <summary>Checks the query, finds the flow's key in the table and asks the MN's binding entity to route it.</summary>
    public static async Task<HttpReply> Move(string? mn, string? flowId, string? to, FlowTable? flows, Func<RouteFlow, Task<FlowRouteAnswer>> route)
    {
        if (string.IsNullOrEmpty(mn))
            return Error("missing query parameter mn-id", 400);
        if (string.IsNullOrEmpty(flowId))
            return Error("missing query parameter flow-id", 400);
        if (!ulong.TryParse(flowId, out var id) || id == 0)
            return Error($"flow-id must be a flow number from `pmip6 flow list`, got '{flowId}'", 400);
        if (string.IsNullOrEmpty(to))
            return Error("missing query parameter to (the address of the MAG)", 400);
        if (!Ipv6Address.TryParse(to, out var mag))
            return Error($"to must be the IPv6 address of a MAG, got '{to}'", 400);
        if (flows is null)
            return Error(TableOff, 409);
        if (flows.Snapshot(Stopwatch.GetTimestamp()).FirstOrDefault(f => f.Id == id) is not { } flow)
            return Error($"no flow {id} in the flow table (ended, or never seen)", 404);
        var answer = await route(new RouteFlow(mn, flow.Key, mag));
        return answer.Accepted
            ? HttpReply.Json(JsonSerializer.Serialize(new { mnId = mn, flowId = id, to = mag.ToString(), routeId = answer.RouteId }, Json))
            : Error($"{mn}: {answer.Error}", 409);
    }
}
