// Reads a lab daemon's HTTP endpoint (127.0.0.1 inside its namespace) from the lab process itself:
// one HttpClient per namespace whose connections are opened inside that namespace (NetnsRunner), kept
// alive between requests so `lab move` can poll a MAG every few milliseconds.
using System.Collections.Concurrent;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Lab;

public static class DaemonHttp
{
    private static readonly ConcurrentDictionary<string, HttpClient> Clients = new(StringComparer.Ordinal);

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
