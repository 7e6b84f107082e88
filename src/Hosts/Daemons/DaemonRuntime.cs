// What `pmip6 lma` and `pmip6 mag` share: waiting for SIGTERM/SIGINT, JSON helpers, one-line fatal errors.
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Pmip6Akka.Hosts.Daemons;

public static class DaemonRuntime
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Completes when the process is asked to stop (SIGTERM, SIGINT, SIGQUIT).</summary>
    public static Task StopRequested(out IDisposable registrations)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlers = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.TrySetResult();
            })).ToList();
        registrations = new Registrations(handlers);
        return stop.Task;
    }

    private sealed class Registrations(List<PosixSignalRegistration> handlers) : IDisposable
    {
        public void Dispose() => handlers.ForEach(h => h.Dispose());
    }

    public static string? Query(System.Net.HttpListenerRequest request, string name) => request.QueryString[name];
}
