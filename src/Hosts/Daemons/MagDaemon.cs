// `pmip6 mag --config FILE`: the MAG as a daemon. Attach and detach events come from its local HTTP
// endpoint (POST /attach, /detach) until the access-link dataplane (router solicitations, link
// state) feeds them; /status shows the Binding Update List, /metrics the counters. SIGHUP reloads its
// policy profiles and keys. On SIGTERM it sends one global Binding Revocation for all its sessions
// (RFC 5846 §8.1), or with shutdown.revoke-bindings = off leaves them to age at the LMA, then stops
// within shutdown.timeout and exits 0.
using System.Net;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Cli;
using Pmip6Akka.Hosts.Config;
using Pmip6Akka.Hosts.Http;

namespace Pmip6Akka.Hosts.Daemons;

public static class MagDaemon
{
    public static int Run(Arguments args, TextWriter stdout)
    {
        var file = args.RequiredString("config");
        args.EnsureAllUsed();
        MagDaemonSettings settings;
        try
        {
            settings = MagDaemonSettings.Load(file);
        }
        catch (ConfigurationError e)
        {
            throw new CommandFailure(LmaDaemon.ExitConfig, $"pmip6 mag: {e.Message}");
        }
        if (settings.Log.Format == LogFormat.Json)
            stdout = new JsonLineWriter(stdout, "pmip6.mag");
        try
        {
            return RunAsync(settings, stdout).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not CommandFailure && DaemonRuntime.StartInterrupted)
        {
            // What failed (a journal ask, an actor system start) failed because the runtime is stopping it.
            throw DaemonRuntime.StoppedWhileStarting("mag");
        }
        catch (StartupFailure e)
        {
            throw new CommandFailure(CommandLine.ExitFailure, e.Message);
        }
    }

    private static async Task<int> RunAsync(MagDaemonSettings settings, TextWriter stdout)
    {
        var restartCounter = DaemonRuntime.NextRestartCounter("mag", Path.Combine(settings.StateDirectory, "restart-counter"));
        var resources = DataplaneSetup.ForMag(settings, () => DaemonRuntime.OpenSocket("mag", settings.Address, settings.Device));
        var system = ActorSystem.Create("pmip6-mag", ConfigurationFactory.ParseString(settings.Log.ToHocon()));
        DaemonRuntime.Starting(system);
        var counters = new Counters();
        var dataplane = DaemonRuntime.GuardSignalling("mag", system, system.ActorOf(LinuxDataplane.Props(resources, counters), "dataplane"),
            settings.Security, counters, stdout, resources.ReceiveQueue, resources.Authenticator);
        var session = new MagSettings
        {
            RequestedLifetime = settings.Lifetime,
            InitialBindackTimeoutFirstReg = settings.InitialBindackTimeoutFirstReg,
            MaxBindackTimeout = settings.MaxBindackTimeout,
        };
        var mag = system.ActorOf(MagNode.Props(new MagNodeSettings(settings.Address, settings.Lma, restartCounter, session)
        {
            Policies = settings.Policies,
            HeartbeatInterval = settings.HeartbeatInterval,
            MissingHeartbeatsAllowed = settings.MissingHeartbeatsAllowed,
            AaaDelay = settings.AaaDelay,
            ReceiveQueue = resources.ReceiveQueue,
            Reflector = settings.Reflector,
        }, dataplane, counters), "mag");
        IActorRef? access = null;
        if (resources.Access is not null)
            access = system.ActorOf(AccessLink.Props(new AccessLinkSettings(settings.Lma, settings.AccessTechnology)
            {
                RouterLifetime = settings.Access.RouterLifetime,
                AdvertiseInterval = settings.Access.AdvertiseInterval,
                LivenessInterval = settings.Access.LivenessInterval,
                LivenessTimeout = settings.Access.LivenessTimeout,
                Mtu = (uint)settings.Tunnel.Mtu,
            }, mag, dataplane, settings.Policies, counters), "access");

        Warmup.Run(); // compile the attach/handover path now, not during the first real handover
        var http = await DaemonRuntime.StartHttpAsync("mag", settings.Http, system, request => Serve(request, mag, access, counters, settings, resources.Tunnel));
        stdout.WriteLine($"pmip6 mag: serving on {settings.Address}, LMA {settings.Lma}, restart counter {restartCounter}" +
                         (settings.Http is { } h ? $", http {h.Authority}" : ""));
        stdout.Flush();

        var reload = new ConfigReload(settings.Policies, settings.Security.Keys is null ? null : dataplane, settings.Security.Keys?.File,
            counters, Logging.GetLogger(system, "pmip6.mag.reload"));
        var stop = DaemonRuntime.StopRequested(out var signals, reload.RunAsync);
        await Task.WhenAny(stop, system.WhenTerminated);
        signals.Dispose();
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        var ask = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(5).Ticks, settings.Shutdown.Timeout.Ticks / 2));
        if (settings.Shutdown.RevokeBindings)
        {
            var revoked = await mag.Ask<int>(new RevokeAllSessions(), ask);
            stdout.WriteLine($"pmip6 mag: stopping; global revocation sent for {revoked} sessions");
            await Task.Delay(200); // let the BRI leave the socket
        }
        else
        {
            var bul = await mag.Ask<BindingUpdateListView>(new GetBindingUpdateList(), ask);
            var live = bul.Entries.Count(e => e.Phase != MagSessionPhase.Failed);
            stdout.WriteLine($"pmip6 mag: stopping; {live} sessions left to age at the LMA (shutdown.revoke-bindings = off)");
        }
        stdout.Flush();
        if (http is not null)
            await http.DisposeAsync();
        var terminated = system.Terminate();
        if (await Task.WhenAny(terminated, Task.Delay(settings.Shutdown.Timeout - stopping.Elapsed)) != terminated)
        {
            stdout.WriteLine($"pmip6 mag: WARNING not stopped within shutdown.timeout ({settings.Shutdown.Timeout.TotalSeconds:0.#} s): exiting");
            stdout.Flush();
            return CommandLine.ExitFailure;
        }
        stdout.WriteLine($"pmip6 mag: stopped in {stopping.Elapsed.TotalSeconds:F1} s");
        stdout.Flush();
        return CommandLine.ExitOk;
    }

    private static async Task<HttpReply> Serve(HttpListenerRequest request, IActorRef mag, IActorRef? access, Counters counters, MagDaemonSettings settings, UserspaceTunnel? tunnel)
    {
        var path = request.Url?.AbsolutePath ?? "/";
        switch (request.HttpMethod, path)
        {
            case ("GET", "/status"):
            {
                var bul = await mag.Ask<BindingUpdateListView>(new GetBindingUpdateList(), TimeSpan.FromSeconds(10));
                var timings = access is null ? [] : await access.Ask<AccessLink.AttachTiming[]>(new AccessLink.GetAttachTimings(), TimeSpan.FromSeconds(10));
                var status = new
                {
                    role = "mag",
                    address = settings.Address.ToString(),
                    lma = settings.Lma.ToString(),
                    bindingUpdateList = bul.Entries.Select(e => new
                    {
                        mnId = e.MobileNodeId,
                        hnps = e.Prefixes.Select(p => p.ToString()).ToArray(),
                        proxyCoa = settings.Address.ToString(),
                        state = e.Phase.ToString().ToLowerInvariant(),
                        lifetimeSeconds = (int)e.Lifetime.TotalSeconds,
                        detail = e.Detail,
                    }).ToArray(),
                    counters = counters.Snapshot().Counters.Select(c => new { name = c.Name, label = c.Label, value = c.LabelValue, count = c.Value }).ToArray(),
                    tunnel = TunnelStatus.Of(tunnel),
                    // Newest first: node seen on its link -> Router Advertisement sent, and the LMA round trip within it.
                    attachments = timings.Select(t => new
                    {
                        mnId = t.MobileNodeId,
                        link = t.Link,
                        seenAt = t.SeenAt.ToString("O"),
                        seenToRaMs = Math.Round(t.SeenToAdvertised.TotalMilliseconds, 3),
                        lmaRoundTripMs = Math.Round(t.RoundTrip.TotalMilliseconds, 3),
                        processingMs = Math.Round(t.Processing.TotalMilliseconds, 3),
                    }).ToArray(),
                };
                return HttpReply.Json(JsonSerializer.Serialize(status, DaemonRuntime.Json));
            }
            case ("GET", "/metrics"):
            {
                var bul = await mag.Ask<BindingUpdateListView>(new GetBindingUpdateList(), TimeSpan.FromSeconds(10));
                return HttpReply.Text(Prometheus.Render(counters.Snapshot(), "pmip6_mag_", TunnelStatus.Gauges(tunnel).Concat(
                [
                    ("sessions", "entries in the Binding Update List", bul.Entries.Length),
                    ("resident_memory_bytes", "resident memory of the MAG process", Environment.WorkingSet),
                ]), Prometheus.RuntimeCounters()));
            }
            case ("POST", "/attach"):
            {
                var mn = request.QueryString["mn-id"];
                if (string.IsNullOrEmpty(mn))
                    return HttpReply.Json("""{"error":"missing query parameter mn-id"}""", 400);
                var linkLayerId = request.QueryString["link-layer-id"] ?? "02" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(mn)))[..10]; // stable per MN across MAGs
                if (linkLayerId.Length % 2 != 0 || !linkLayerId.All(Uri.IsHexDigit))
                    return HttpReply.Json("""{"error":"link-layer-id must be hex octets, e.g. 020000000101"}""", 400);
                var handoffText = request.QueryString["handoff"] ?? "1";
                if (!byte.TryParse(handoffText, out var handoff) || handoff is < 1 or > 5)
                    return HttpReply.Json("""{"error":"handoff must be 1..5 (RFC 5213 §8.4)"}""", 400);
                mag.Tell(new MobileNodeAttached(new Attachment(mn, linkLayerId.ToUpperInvariant(), settings.AccessTechnology, (HandoffIndicator)handoff)));
                return HttpReply.Json(JsonSerializer.Serialize(new { attached = mn, linkLayerId, handoff }, DaemonRuntime.Json), 202);
            }
            case ("POST", "/detach"):
            {
                var mn = request.QueryString["mn-id"];
                if (string.IsNullOrEmpty(mn))
                    return HttpReply.Json("""{"error":"missing query parameter mn-id"}""", 400);
                mag.Tell(new MobileNodeDetached(mn));
                return HttpReply.Json(JsonSerializer.Serialize(new { detached = mn }, DaemonRuntime.Json), 202);
            }
            case ("POST", "/hint"):
            {
                var mn = request.QueryString["mn-id"];
                var next = request.QueryString["next-mag"];
                if (string.IsNullOrEmpty(mn) || string.IsNullOrEmpty(next))
                    return HttpReply.Json("""{"error":"missing query parameter mn-id or next-mag"}""", 400);
                if (!Ipv6Address.TryParse(next, out var nextMag))
                    return HttpReply.Json(JsonSerializer.Serialize(new { error = $"next-mag '{next}' is not an IPv6 address" }, DaemonRuntime.Json), 400);
                var answer = await mag.Ask<HintAnswer>(new HandoverHint(mn, nextMag), TimeSpan.FromSeconds(10));
                return HttpReply.Json(JsonSerializer.Serialize(new { hint = mn, nextMag = nextMag.ToString(), accepted = answer.Accepted, detail = answer.Detail },
                    DaemonRuntime.Json), answer.Accepted ? 202 : 409);
            }
            default:
                return HttpReply.Json("""{"error":"not found: GET /status, GET /metrics, POST /attach?mn-id=, POST /detach?mn-id=, POST /hint?mn-id=&next-mag="}""", 404);
        }
    }
}
