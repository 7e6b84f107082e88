// `pmip6 status|revoke|attach|detach`: clients of a daemon's local HTTP endpoint, for people
// (a table) and scripts (--json).
using System.Text.Json;
using Pmip6Akka.Hosts.Config;

namespace Pmip6Akka.Hosts.Cli;

public static partial class AdminClient
{
    public const string DefaultLma = "http://127.0.0.1:9180";
    public const string DefaultMag = "http://127.0.0.1:9181";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static int Status(Arguments args, TextWriter stdout)
    {
        var json = args.Flag("json");
        var endpoint = Endpoint(args, DefaultLma);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Get, endpoint, "/status");
        if (code != 200)
            return Fail(endpoint, code, body);
        if (json)
        {
            stdout.WriteLine(body);
            return CommandLine.ExitOk;
        }
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var role = root.GetProperty("role").GetString();
        stdout.WriteLine($"{role} {root.GetProperty("address").GetString()}");
        var rows = role == "lma" ? root.GetProperty("bindings") : root.GetProperty("bindingUpdateList");
        if (role == "lma")
            stdout.WriteLine($"{root.GetProperty("mobileNodes").GetInt32()} mobile nodes, {root.GetProperty("sessions").GetInt32()} sessions, restart counter {root.GetProperty("restartCounter").GetUInt32()}");
        stdout.WriteLine($"{"MN-ID",-32} {"HNPs",-26} {"proxy-CoA",-22} {"state",-17} {"lifetime",8}");
        foreach (var row in rows.EnumerateArray())
        {
            var hnps = string.Join(",", row.GetProperty("hnps").EnumerateArray().Select(h => h.GetString()));
            stdout.WriteLine($"{row.GetProperty("mnId").GetString(),-32} {hnps,-26} {row.GetProperty("proxyCoa").GetString(),-22} " +
                             $"{row.GetProperty("state").GetString(),-17} {row.GetProperty("lifetimeSeconds").GetInt32(),7}s");
        }
        stdout.WriteLine("counters:");
        foreach (var c in root.GetProperty("counters").EnumerateArray())
        {
            var label = c.GetProperty("label").GetString();
            var name = c.GetProperty("name").GetString() + (string.IsNullOrEmpty(label) ? "" : $"{{{label}={c.GetProperty("value").GetString()}}}");
            stdout.WriteLine($"  {name,-50} {c.GetProperty("count").GetInt64()}");
        }
        return CommandLine.ExitOk;
    }

    public static int Revoke(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mn-id");
        var endpoint = Endpoint(args, DefaultLma);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Post, endpoint, $"/revoke?mn-id={Uri.EscapeDataString(mn)}");
        if (code == 404 && body.Contains("\"sessions\""))
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 revoke: {mn} has no binding at {endpoint}");
        if (code != 200)
            return Fail(endpoint, code, body);
        stdout.WriteLine(body);
        return CommandLine.ExitOk;
    }

    public static int Attach(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mn-id");
        var ll = args.String("link-layer-id");
        var handoff = args.Integer("handoff", 1, 1, 5);
        var endpoint = Endpoint(args, DefaultMag);
        args.EnsureAllUsed();
        var query = $"/attach?mn-id={Uri.EscapeDataString(mn)}&handoff={handoff}" + (ll is null ? "" : $"&link-layer-id={Uri.EscapeDataString(ll)}");
        var (code, body) = Call(HttpMethod.Post, endpoint, query);
        if (code != 202)
            return Fail(endpoint, code, body);
        stdout.WriteLine(body);
        return CommandLine.ExitOk;
    }

    /// <summary>`pmip6 hint`: tell the MAG serving a node which MAG it moves to next (Context Reflector).</summary>
    public static int Hint(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mn-id");
        var next = args.String("next-mag") ?? throw new UsageException("--next-mag ADDRESS is required");
        if (!Pmip6Akka.Dataplane.Wire.Ipv6Address.TryParse(next, out _))
            throw new UsageException($"--next-mag '{next}' is not an IPv6 address");
        var endpoint = Endpoint(args, DefaultMag);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Post, endpoint, $"/hint?mn-id={Uri.EscapeDataString(mn)}&next-mag={Uri.EscapeDataString(next)}");
        if (code == 409)
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 hint: refused by {endpoint}: {body}");
        if (code != 202)
            return Fail(endpoint, code, body);
        stdout.WriteLine(body);
        return CommandLine.ExitOk;
    }

    public static int Detach(Arguments args, TextWriter stdout)
    {
        var mn = args.Positional(0, "mn-id");
        var endpoint = Endpoint(args, DefaultMag);
        args.EnsureAllUsed();
        var (code, body) = Call(HttpMethod.Post, endpoint, $"/detach?mn-id={Uri.EscapeDataString(mn)}");
        if (code != 202)
            return Fail(endpoint, code, body);
        stdout.WriteLine(body);
        return CommandLine.ExitOk;
    }

    /// <summary>`pmip6 config check FILE`: validates an LMA, MAG or policy file without starting anything.</summary>
    public static int ConfigCheck(Arguments args, TextWriter stdout)
    {
        var file = args.Positional(0, "file");
        args.EnsureAllUsed();
        try
        {
            var text = File.Exists(file) ? File.ReadAllText(file) : throw new ConfigurationError("(file)", $"{file} does not exist");
            Akka.Configuration.Config parsed;
            try
            {
                parsed = Akka.Configuration.ConfigurationFactory.ParseString(text);
            }
            catch (Exception e)
            {
                throw new ConfigurationError("(file)", $"{file} is not valid HOCON: {e.Message}");
            }
            if (parsed.HasPath(LmaDaemonSettings.Path))
                LmaDaemonSettings.Load(file);
            else if (parsed.HasPath(MagDaemonSettings.Path))
                MagDaemonSettings.Load(file);
            else if (parsed.HasPath("pmip6.policies"))
                PolicyStore.Load(file);
            else if (parsed.HasPath(ClusterSettings.Path))
                ClusterSettings.Load(file);
            else
                throw new ConfigurationError("pmip6", $"{file} has no pmip6.lma, pmip6.mag, pmip6.policies or pmip6.cluster block");
        }
        catch (ConfigurationError e)
        {
            throw new CommandFailure(Daemons.LmaDaemon.ExitConfig, $"pmip6 config check: {e.Message}");
        }
        stdout.WriteLine($"{file}: ok");
        return CommandLine.ExitOk;
    }

    private static Uri Endpoint(Arguments args, string fallback)
    {
        var text = args.String("endpoint") ?? fallback;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == "http"
            ? uri
            : throw new UsageException($"--endpoint must be an http URL such as {fallback}, got '{text}'");
    }

    private static (int Code, string Body) Call(HttpMethod method, Uri endpoint, string pathAndQuery)
    {
        try
        {
            using var response = Http.Send(new HttpRequestMessage(method, new Uri(endpoint, pathAndQuery)));
            using var reader = new StreamReader(response.Content.ReadAsStream());
            return ((int)response.StatusCode, reader.ReadToEnd());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, e.Message);
        }
    }

    private static int Fail(Uri endpoint, int code, string body) =>
        throw new CommandFailure(CommandLine.ExitFailure, code == 0
            ? $"pmip6: cannot reach {endpoint}: {body} (is the daemon running with http enabled?)"
            : $"pmip6: {endpoint} answered {code}: {body.Trim()}");
}
