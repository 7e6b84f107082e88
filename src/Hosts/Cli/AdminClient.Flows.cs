// `pmip6 flow list [--json]` and `pmip6 flow move <mn-id> <flow-id> --to <mag-address>` (issue 8): clients
// of the LMA's GET /flows and POST /flows/move.
using System.Text.Json;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Cli;

public static partial class AdminClient
{
    public const string FlowListUsage = "pmip6 flow list [--json] [--endpoint http://127.0.0.1:9180]";
    public const string FlowMoveUsage = "pmip6 flow move <mn-id> <flow-id> --to <mag-address> [--endpoint http://127.0.0.1:9180]";

    public static int FlowList(Arguments args, TextWriter stdout)
    {
        var json = args.Flag("json");
        var endpoint = Endpoint(args, DefaultLma);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Get, endpoint, "/flows");
        if (code == 409)
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 flow list: {ErrorOf(body)}");
        if (code != 200)
            return Fail(endpoint, code, body);
        if (json)
        {
            stdout.WriteLine(body);
            return CommandLine.ExitOk;
        }
        using var doc = JsonDocument.Parse(body);
        var flows = doc.RootElement.GetProperty("flows");
        stdout.WriteLine($"{"ID",6} {"MN-ID",-24} {"flow",-64} {"packets",9} {"bytes/s",11} {"via",-22} moved");
        foreach (var f in flows.EnumerateArray())
        {
            string Port(string name) => f.GetProperty(name).ValueKind == JsonValueKind.Null ? "" : $":{f.GetProperty(name).GetInt32()}";
            var tuple = $"[{f.GetProperty("source").GetString()}]{Port("sourcePort")} -> [{f.GetProperty("destination").GetString()}]{Port("destinationPort")}"
                        + $" p{f.GetProperty("protocol").GetInt32()}";
            stdout.WriteLine($"{f.GetProperty("id").GetUInt64(),6} {f.GetProperty("mnId").GetString() ?? "-",-24} {tuple,-64} " +
                             $"{f.GetProperty("packets").GetInt64(),9} {f.GetProperty("bytesPerSecond").GetDouble(),11:F0} " +
                             $"{f.GetProperty("via").GetString() ?? "-",-22} {(f.GetProperty("movedTo").GetString() is null ? "" : "yes")}");
        }
        stdout.WriteLine($"{flows.GetArrayLength()} flows");
        return CommandLine.ExitOk;
    }

    public static int FlowMove(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mn-id");
        var flowId = args.Positional(1, "flow-id");
        if (!ulong.TryParse(flowId, out var id) || id == 0)
            throw new UsageException($"flow-id must be a flow number from `pmip6 flow list`, got '{flowId}'");
        var to = args.String("to") ?? throw new UsageException("--to <mag-address> is required");
        if (!Ipv6Address.TryParse(to, out _))
            throw new UsageException($"--to '{to}' is not an IPv6 address");
        var endpoint = Endpoint(args, DefaultLma);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Post, endpoint,
            $"/flows/move?mn-id={Uri.EscapeDataString(mn)}&flow-id={id}&to={Uri.EscapeDataString(to)}");
        if (code is 404 or 409)
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 flow move: {ErrorOf(body)}");
        if (code != 200)
            return Fail(endpoint, code, body);
        stdout.WriteLine(body);
        return CommandLine.ExitOk;
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body.Trim();
        }
    }
}
