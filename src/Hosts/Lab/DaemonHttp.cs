// Reads a lab daemon's HTTP endpoint (127.0.0.1 inside its namespace) from the lab process itself:
// one HttpClient per namespace whose connections are opened inside that namespace (NetnsRunner), kept
// alive between requests so `lab move` can poll a MAG every few milliseconds.
using System.Collections.Concurrent;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public static class DaemonHttp
{
    private static readonly ConcurrentDictionary<string, HttpClient> Clients = new(StringComparer.Ordinal);

    /// <summary>POST http://127.0.0.1:PORT/PATH inside <paramref name="ns"/>; the status code and body (LabFailure when unreachable).</summary>
    public static (int Status, string Body) Post(string ns, int port, string path, CancellationToken cancel = default)
    {
        var client = Clients.GetOrAdd(ns, n => NetnsRunner.HttpClient(n, TimeSpan.FromSeconds(10)));
        try
        {
            using var response = client.PostAsync($"http://127.0.0.1:{port}{path}", null, cancel).GetAwaiter().GetResult();
            return ((int)response.StatusCode, response.Content.ReadAsStringAsync(cancel).GetAwaiter().GetResult());
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            cancel.ThrowIfCancellationRequested();
            throw new LabFailure($"POST {path} to the daemon in {ns} failed: {e.Message}");
        }
    }

    /// <summary>GET http://127.0.0.1:PORT/PATH inside <paramref name="ns"/>; the parsed JSON, or null when unreachable or not 200.</summary>
    public static JsonElement? TryGetJson(string ns, int port, string path, CancellationToken cancel = default)
    {
        var client = Clients.GetOrAdd(ns, n => NetnsRunner.HttpClient(n, TimeSpan.FromSeconds(10)));
        try
        {
            using var response = client.GetAsync($"http://127.0.0.1:{port}{path}", cancel).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                return null;
            using var document = JsonDocument.Parse(response.Content.ReadAsStringAsync(cancel).GetAwaiter().GetResult());
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or TaskCanceledException or LabFailure)
        {
            cancel.ThrowIfCancellationRequested();
            return null;
        }
    }
}
