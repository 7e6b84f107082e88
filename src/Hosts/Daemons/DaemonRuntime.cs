// What `pmip6 lma` and `pmip6 mag` share: start-up steps with one-line failures, waiting for
// SIGTERM/SIGINT, JSON options.
using Akka.Actor;
using Akka.Event;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Daemons;

/// <summary>A daemon cannot start: the message is its one-line reason; the daemon exits 1.</summary>
public sealed class StartupFailure(string message) : Exception(message);

public static class DaemonRuntime
{
    private static ActorSystem? _starting;

    /// <summary>The daemon's actor system, from its creation: see <see cref="StartInterrupted"/>.</summary>
    public static void Starting(ActorSystem system) => _starting = system;

    /// <summary>
    /// The actor system is being shut down though the daemon did not ask: a stop signal came while it started (before its
    /// own handlers, <see cref="StopRequested"/>), and the runtime's exit hook ran the coordinated shutdown. What the
    /// start-up was waiting for then fails (a journal ask, a bucket's answer): this tells that apart from a failed start.
    /// </summary>
    public static bool StartInterrupted =>
        _starting is { } system && (system.WhenTerminated.IsCompleted || CoordinatedShutdown.Get(system).ShutdownReason is not null);

    /// <summary>Start-up ended by a signal: one line, not the exception the stopped actor system left (an ask's timeout).</summary>
    public static CommandFailure StoppedWhileStarting(string role) =>
        new(CommandLine.ExitFailure, $"pmip6 {role}: stopped by a signal while starting, before serving");

    /// <summary>The RFC 5847 restart counter kept in <paramref name="file"/>, incremented for this start.</summary>
    public static uint NextRestartCounter(string role, string file)
    {
        try
        {
            return RestartCounter.Next(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupFailure($"pmip6 {role}: cannot keep the restart counter in {file}: {e.Message}");
        }
    }

    /// <summary>Opens the node's raw Mobility Header socket (first, so a missing privilege fails at once).</summary>
    public static Pmip6Akka.Dataplane.Linux.MobilityHeaderSocket OpenSocket(string role, Pmip6Akka.Dataplane.Wire.Ipv6Address address, string? device)
    {
        if (!Pmip6Akka.Dataplane.Linux.MobilityHeaderSocket.TryOpen(
                new Pmip6Akka.Dataplane.Linux.MobilityHeaderSocketOptions { LocalAddress = address, Device = device, ReceiveBufferBytes = 8 << 20 },
                out var socket, out var error))
            throw new StartupFailure($"pmip6 {role}: cannot open the Mobility Header socket on {address}: {error.Message}");
        return socket!;
    }

    /// <summary>
    /// Starts the local HTTP endpoint when one is configured; when it cannot, stops the node's actor
    /// system and fails the start-up with one line.
    /// </summary>
    public static async Task<Http.AdminHttpServer?> StartHttpAsync(string role, Uri? endpoint, Akka.Actor.ActorSystem system,
        Func<System.Net.HttpListenerRequest, Task<Http.HttpReply>> handle)
    {
        if (endpoint is null)
            return null;
        try
        {
            return new Http.AdminHttpServer(endpoint, handle, message => system.Log.Warning(message));
        }
        catch (System.Net.HttpListenerException e)
        {
            await system.Terminate();
            throw new StartupFailure($"pmip6 {role}: cannot serve http on {endpoint.Authority}: {e.Message}");
        }
    }

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// Completes when the process is asked to stop (SIGTERM, SIGINT, SIGQUIT); until then every SIGHUP
    /// runs <paramref name="reload"/> (in the background; it must not throw).
    /// </summary>
    public static Task StopRequested(out IDisposable registrations, Func<Task>? reload = null)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlers = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.TrySetResult();
            })).ToList();
        if (reload is not null)
            handlers.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                _ = Task.Run(reload);
            }));
        registrations = new Registrations(handlers);
        return stop.Task;
    }

    private sealed class Registrations(List<PosixSignalRegistration> handlers) : IDisposable
    {
        public void Dispose() => handlers.ForEach(h => h.Dispose());
    }

    /// <summary>
    /// With a keys file, puts the node's SignallingGuard in front of its dataplane (every Mobility Header
    /// message protected and checked there) and returns it; without one, says signalling is not
    /// authenticated and returns the dataplane itself.
    /// </summary>
    public static Akka.Actor.IActorRef GuardSignalling(string role, Akka.Actor.ActorSystem system, Akka.Actor.IActorRef dataplane,
        Config.SecuritySettings security, Pmip6Akka.Actors.Observability.Counters counters, TextWriter stdout,
        Pmip6Akka.Dataplane.Security.ReceiveQueueBound? receiveQueue = null, Pmip6Akka.Dataplane.Security.SignallingAuthenticator? authenticator = null)
    {
        if (security.Keys is not { } keys)
        {
            stdout.WriteLine($"pmip6 {role}: WARNING signalling is not authenticated (security.keys-file is empty); RFC 5213 §4 requires protecting it");
            return dataplane;
        }
        stdout.WriteLine($"pmip6 {role}: signalling authenticated with {keys.Current.Count} keys from {keys.File}" +
                         (security.Required ? "" : " (required = off: unprotected messages still accepted)"));
        return system.ActorOf(Pmip6Akka.Actors.Dataplane.SignallingGuard.Props(dataplane, keys, security.Authentication,
            new Pmip6Akka.Actors.Dataplane.SignallingGuard.SignallingGuardSettings(security.ReloadInterval) { ReceiveQueue = receiveQueue, Authenticator = authenticator }, counters), "signalling-guard");
    }

    public static string? Query(System.Net.HttpListenerRequest request, string name) => request.QueryString[name];
}
