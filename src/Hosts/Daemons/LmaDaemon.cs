// `pmip6 lma --config FILE`: the LMA as a daemon. Opens the raw Mobility Header socket first (so a
// missing privilege fails at once), joins the Akka.Cluster of its cluster-file (one node on the SQLite
// journal by default; several on PostgreSQL), starts the
// prefix pool, the sharded binding entities and the protocol handler, serves /status, /metrics and
// POST /revoke, reloads its policy profiles and keys on SIGHUP, and shuts down cleanly on SIGTERM/SIGINT:
// Akka's coordinated shutdown hands the binding buckets off (an entity finishes the event it is
// persisting before it stops), leaves the cluster and terminates the actor system, which the daemon
// waits for (shutdown.timeout at most) before it exits 0.
using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Sharding;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Cli;
using Pmip6Akka.Hosts.Config;
using Pmip6Akka.Hosts.Http;

namespace Pmip6Akka.Hosts.Daemons;

public static class LmaDaemon
{
    public const int ExitConfig = 78; // sysexits EX_CONFIG

    public static int Run(Arguments args, TextWriter stdout)
    {
        var file = args.RequiredString("config");
        args.EnsureAllUsed();
        LmaDaemonSettings settings;
        try
        {
            settings = LmaDaemonSettings.Load(file);
        }
        catch (ConfigurationError e)
        {
            throw new CommandFailure(ExitConfig, $"pmip6 lma: {e.Message}");
        }
        if (settings.Log.Format == LogFormat.Json)
            stdout = new JsonLineWriter(stdout, "pmip6.lma");
        try
        {
            return RunAsync(settings, stdout).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not CommandFailure && DaemonRuntime.StartInterrupted)
        {
            // What failed (a journal ask, an actor system start) failed because the runtime is stopping it.
            throw DaemonRuntime.StoppedWhileStarting("lma");
        }
        catch (StartupFailure e)
        {
            throw new CommandFailure(CommandLine.ExitFailure, e.Message);
        }
    }

    private static async Task<int> RunAsync(LmaDaemonSettings settings, TextWriter stdout)
    {
        var resources = DataplaneSetup.ForLma(settings, () => DaemonRuntime.OpenSocket("lma", settings.Address, settings.Device));
        // Tiered compilation is off: every method is compiled fully optimised on its first call, which for the registration
        // path (the buckets, the journal writer, the codecs: ~80 methods) was a ~55 ms stall of the first PBUs. Compiled
        // here, beside the actor system's start and the buckets' recovery, before anything is served.
        var compiledAhead = Task.Run(Warmup.CompileLmaPath);

        var counters = new Counters();
        ActorSystem system;
        try
        {
            system = await ActorSystemFactory.StartAsync("pmip6-lma", settings.Cluster.Node(settings.Store, settings.StoreFullSync),
                Akka.Configuration.ConfigurationFactory.ParseString(settings.Log.ToHocon()), upTimeout: TimeSpan.FromMinutes(settings.Cluster.Options.SeedNodes.IsEmpty ? 0.5 : 5));
        }
        catch (Exception e)
        {
            resources.Dispose();
            var store = settings.Cluster.Provider == JournalProvider.PostgreSql ? "PostgreSQL" : settings.Store;
            throw new StartupFailure($"pmip6 lma: cannot start the actor system on store {store}: {e.GetBaseException().Message}");
        }

        DaemonRuntime.Starting(system);
        // The buckets answer through this sender, without a hop through the dataplane actor, unless the signalling is
        // authenticated (the SignallingGuard then protects every message it sends, one at a time).
        var sender = new MobilityHeaderSender(resources.MobilityHeader, counters, Logging.GetLogger(system, "pmip6.lma.mh-send"));
        resources = resources with { Sender = sender };
        // Only the userspace tunnel must hold a binding before its PBA leaves (the MAG's uplink follows the PBA at once);
        // handover buffering releases what it held on the same InstallBinding, and the PBA reaching the MAG no later than
        // the released packets is the better order there.
        var direct = settings.Security.Keys is null ? new DirectSignalling(sender, DataplaneForwards: resources.Tunnel is not null) : null;
        var dataplane = DaemonRuntime.GuardSignalling("lma", system, system.ActorOf(LinuxDataplane.Props(resources, counters), "dataplane"),
            settings.Security, counters, stdout, resources.ReceiveQueue, resources.Authenticator);
        var index = system.ActorOf(BindingIndex.Props(), "binding-index");
        var admission = new LmaAdmissionSettings(settings.AuthorizedMags) { TimestampValidityWindow = settings.TimestampValidityWindow };
        var entitySettings = new BindingEntitySettings(settings.Address, new BindingSettings
        {
            MaxLifetime = settings.MaxLifetime,
            MinDelayBeforeBceDelete = settings.MinDelayBeforeBceDelete,
        }, settings.PrefixPool, settings.PrefixLength)
        {
            Reflector = settings.Reflector, Admission = admission, MaxPendingWrites = settings.MaxPendingWrites, SnapshotEvery = settings.SnapshotEvery,
            Flows = settings.FlowMobility.Entity, RoutesSlice = settings.Cluster.IsMultiNode,
        };
        // A stop signal while starting ends the actor system under these waits (their asks would wait out their timeouts).
        var starting = system;
        async Task<T> UnlessStopped<T>(Task<T> step) =>
            await Task.WhenAny(step, starting.WhenTerminated) == step ? await step
                : throw new StartupFailure("pmip6 lma: the actor system stopped while starting, before serving");
        // A store of another bucket layout is refused before any bucket recovers from it; a new store records this one.
        if (await UnlessStopped(BucketLayout.CheckAsync(system, TimeSpan.FromMinutes(1))) is { } refusal)
            throw new StartupFailure($"pmip6 lma: store {(settings.Cluster.Provider == JournalProvider.PostgreSql ? "PostgreSQL" : settings.Store)} " +
                $"cannot be served by this LMA ({BindingBuckets.Count} binding buckets): {refusal}. Its bindings would be lost and its " +
                "prefixes could be handed out twice; start on a new store (keep the old one for the version that wrote it)");
        // A lone node's buckets never move: its protocol handler reaches them without the region (not in a cluster, see LocalBucketDirectory).
        var buckets = settings.Cluster.IsMultiNode ? null : new LocalBucketDirectory();
        var region = await UnlessStopped(ClusterSharding.Get(system).StartAsync("binding",
            bucket => BindingBucket.Props(bucket, entitySettings, dataplane, index, counters, direct, buckets),
            ClusterShardingSettings.Create(system), new MnIdMessageExtractor(settings.Cluster.Options.Shards)));
        // RFC 5847: one counter for the cluster, in its journal, changed only when the journal (so the bindings) is new.
        var restarts = await UnlessStopped(ClusterSharding.Get(system).StartAsync(RestartCounterEntity.TypeName, _ => RestartCounterEntity.Props(),
            ClusterShardingSettings.Create(system), new RestartCounterEntity.Extractor()));
        // Asked now, answered while the buckets recover: once they are, nothing is left to wait for before serving.
        var restartCounterAnswer = restarts.Ask<RestartCounterIs>(GetRestartCounter.Instance, TimeSpan.FromMinutes(1));
        // Recover every bucket before serving, so the first PBUs do not wait for journal recoveries.
        var started = System.Diagnostics.Stopwatch.StartNew();
        var ready = await UnlessStopped(Task.WhenAll(Enumerable.Range(0, BindingBuckets.Count)
            .Select(b => region.Ask<BucketReady>(new StartBucket(b), TimeSpan.FromMinutes(5)))));
        var restartCounter = (await UnlessStopped(restartCounterAnswer)).Value;
        stdout.WriteLine($"pmip6 lma: {BindingBuckets.Count} binding buckets recovered in {started.Elapsed.TotalSeconds:F1} s, " +
                         $"{ready.Sum(r => r.MobileNodes)} mobile nodes with bindings");
        if (settings.Cluster.IsMultiNode && resources.Tunnel is { } relaying)
        {
            // Uplink for a bucket of another node goes to that node through the region (see DESIGN-NOTES, issue 9).
            var pool = settings.PrefixPool;
            relaying.RelayToOwner = (packet, mag) =>
                region.Tell(new RelayedUplink(BindingBuckets.OfAddress(pool, Ipv6Address.Read(packet.Slice(8, Ipv6Address.Length))), [.. packet], mag));
        }
        // The protocol handler serves from its start: the code it runs is compiled first.
        var ahead = await compiledAhead;
        stdout.WriteLine(ahead.Error is null
            ? $"pmip6 lma: signalling path compiled ahead ({ahead.Methods} methods in {ahead.Took.TotalSeconds:F1} s, beside the recovery)"
            : $"pmip6 lma: WARNING the signalling path could not be compiled ahead ({ahead.Error}); the first PBUs will wait for the compiler");
        var lma = system.ActorOf(LmaNode.Props(new LmaNodeSettings(settings.Address, admission, restartCounter)
        {
            HeartbeatInterval = settings.HeartbeatInterval,
            MissingHeartbeatsAllowed = settings.MissingHeartbeatsAllowed,
            InitiatesHeartbeats = !settings.Cluster.IsMultiNode, // answers return to whichever node ECMP picks (LmaNodeSettings)
            ReceiveQueue = resources.ReceiveQueue,
            Buckets = buckets,
        }, settings.Policies, dataplane, region, counters, index), "lma");

        using var lossNetlink = StartMoveOnLoss(system, settings, resources.Tunnel, index, lma, counters, stdout);

        Warmup.Run(); // compile the attach/handover path now, not during the first real handover
        if (settings.FlowMobility.Enabled && Warmup.RunFlows(system) != 1)
            stdout.WriteLine("pmip6 lma: WARNING the flow-move warm-up did not complete (the first flow move will be slower)");
        var http = await DaemonRuntime.StartHttpAsync("lma", settings.Http, system, request => Serve(request, lma, index, region, Akka.Cluster.Cluster.Get(system), counters, settings, restartCounter, resources));
        if (settings.Cluster.IsMultiNode)
            dataplane.Tell(new AnnounceSharedAddress(settings.Address)); // from now on the core may send this node traffic
        stdout.WriteLine($"pmip6 lma: serving on {settings.Address}, restart counter {restartCounter}, store {settings.Store}" +
                         (settings.Http is { } h ? $", http {h.Authority}" : ""));
        stdout.Flush();

        var reload = new ConfigReload(settings.Policies, settings.Security.Keys is null ? null : dataplane, settings.Security.Keys?.File,
            counters, Logging.GetLogger(system, "pmip6.lma.reload"));
        var stop = DaemonRuntime.StopRequested(out var signals, reload.RunAsync);
        await Task.WhenAny(stop, system.WhenTerminated);
        signals.Dispose();
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        stdout.WriteLine($"pmip6 lma: stopping: handing the binding buckets off, flushing the journal (at most {settings.Shutdown.Timeout.TotalSeconds:0.#} s)");
        stdout.Flush();
        if (http is not null)
            await http.DisposeAsync();
        var terminated = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).ContinueWith(_ => system.WhenTerminated).Unwrap();
        if (await Task.WhenAny(terminated, Task.Delay(settings.Shutdown.Timeout)) != terminated)
        {
            stdout.WriteLine($"pmip6 lma: WARNING not stopped within shutdown.timeout ({settings.Shutdown.Timeout.TotalSeconds:0.#} s): exiting; events still being written may be lost");
            stdout.Flush();
            return CommandLine.ExitFailure;
        }
        resources.Dispose();
        stdout.WriteLine($"pmip6 lma: stopped in {stopping.Elapsed.TotalSeconds:F1} s: actor system terminated, journal flushed");
        stdout.Flush();
        return CommandLine.ExitOk;
    }

    /// <summary>
    /// Move on loss (flow-mobility.loss-devices): a FlowLossMonitor over the egress qdisc counters of each MAG's device,
    /// read through a netlink socket of its own (returned, so the daemon closes it); null when it is not configured.
    /// </summary>
    private static RouteNetlink? StartMoveOnLoss(ActorSystem system, LmaDaemonSettings settings, UserspaceTunnel? tunnel, IActorRef index,
        IActorRef lma, Counters counters, TextWriter stdout)
    {
        var flows = settings.FlowMobility;
        if (!flows.MovesOnLoss)
            return null;
        if (tunnel?.Forwarder.Flows is not { } table)
        {
            stdout.WriteLine("pmip6 lma: flow-mobility.loss-devices ignored: moves on loss need the userspace tunnel's flow table (tunnel.mode = \"userspace\")");
            return null;
        }
        if (!RouteNetlink.TryOpen(out var netlink, out var error))
            throw new StartupFailure($"pmip6 lma: move on loss: cannot open rtnetlink to read qdisc counters: {error}");
        var source = QdiscTunnelLossSource.Open(flows.LossDevices, netlink);
        system.ActorOf(FlowLossMonitor.Props(new FlowLossSettings(flows.LossThreshold, flows.LossInterval), source,
            () => table.Snapshot(System.Diagnostics.Stopwatch.GetTimestamp()), index, lma, counters), "flow-loss-monitor");
        stdout.WriteLine($"pmip6 lma: move on loss at {flows.LossThreshold:P0} over {flows.LossInterval.TotalMilliseconds:0} ms windows, measured on " +
                         string.Join(", ", flows.LossDevices.Select(d => $"{d.Device} ({d.Mag})")));
        return netlink;
    }

    /// <summary>
    /// This node's place in the cluster: its member address, the binding buckets it runs now, and whether it is the oldest lma member
    /// (which runs sharding's coordinator singleton: when it dies, the coordinator moves too, which the other nodes wait for).
    /// </summary>
    private static async Task<object> ClusterStatus(IActorRef region, Akka.Cluster.Cluster cluster, LmaDaemonSettings settings)
    {
        var oldest = cluster.State.Members.Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole("lma"))
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering).FirstOrDefault();
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        var buckets = state.Shards.SelectMany(s => s.EntityIds).Select(int.Parse).Order().ToArray();
        return new
        {
            node = $"{settings.Cluster.Options.Hostname}:{settings.Cluster.Port}",
            seedNodes = settings.Cluster.Options.SeedNodes.ToArray(),
            shards = state.Shards.Count,
            coordinator = oldest is not null && oldest.Address == cluster.SelfAddress,
            buckets = buckets.Length,
            bucketIds = buckets,
        };
    }

    private static async Task<HttpReply> Serve(HttpListenerRequest request, IActorRef lma, IActorRef index, IActorRef region, Akka.Cluster.Cluster cluster, Counters counters,
        LmaDaemonSettings settings, uint restartCounter, LinuxDataplaneResources resources)
    {
        var (tunnel, buffering) = (resources.Tunnel, resources.Buffering);
        var path = request.Url?.AbsolutePath ?? "/";
        switch (request.HttpMethod, path)
        {
            case ("GET", "/status"):
            {
                var limit = int.TryParse(request.QueryString["limit"], out var l) ? Math.Clamp(l, 0, 100_000) : 1000;
                var view = await index.Ask<BindingIndexView>(new GetBindingIndex(limit), TimeSpan.FromSeconds(10));
                var status = new
                {
                    role = "lma",
                    address = settings.Address.ToString(),
                    restartCounter,
                    cluster = await ClusterStatus(region, cluster, settings),
                    mobileNodes = view.MobileNodes,
                    sessions = view.Sessions,
                    bindings = view.Bindings.SelectMany(b => b.Sessions.Select(s => new
                    {
                        mnId = b.MobileNodeId,
                        sessionId = s.SessionId,
                        hnps = s.Prefixes.Select(p => p.ToString()).ToArray(),
                        proxyCoa = s.ProxyCoa.ToString(),
                        state = s.State == SessionState.Active ? "registered" : "awaiting-new-mag",
                        accessTechnology = s.AccessTechnology.ToString(),
                        lifetimeSeconds = Math.Max(0, (int)(s.ExpiresAt - DateTimeOffset.UtcNow).TotalSeconds),
                    })).ToArray(),
                    counters = counters.Snapshot().Counters.Select(c => new { name = c.Name, label = c.Label, value = c.LabelValue, count = c.Value }).ToArray(),
                    tunnel = TunnelStatus.Of(tunnel),
                    buffering = BufferingStatus.Of(buffering),
                };
                return HttpReply.Json(JsonSerializer.Serialize(status, DaemonRuntime.Json));
            }
            case ("GET", "/metrics"):
            {
                var view = await index.Ask<BindingIndexView>(new GetBindingIndex(0), TimeSpan.FromSeconds(10));
                return HttpReply.Text(Prometheus.Render(counters.Snapshot(), "pmip6_lma_", TunnelStatus.Gauges(tunnel).Concat(BufferingStatus.Gauges(buffering)).Concat(
                [
                    ("bindings", "mobility sessions in the binding cache", view.Sessions),
                    ("mobile_nodes", "mobile nodes with at least one binding", view.MobileNodes),
                    ("restart_counter", "RFC 5847 restart counter of the LMA (the cluster's, kept in its journal)", restartCounter),
                    ("resident_memory_bytes", "resident memory of the LMA process", Environment.WorkingSet),
                    ("gc_heap_bytes", "managed heap at the last garbage collection (live objects and fragmentation, without garbage since)", GC.GetGCMemoryInfo().HeapSizeBytes),
                    ("mh_receive_queue_depth", "received messages waiting in the signalling guard's and protocol handler's mailboxes", resources.ReceiveQueue?.Depth ?? 0),
                ]), Prometheus.RuntimeCounters()));
            }
            case ("POST", "/revoke"):
            {
                var mn = request.QueryString["mn-id"];
                if (string.IsNullOrEmpty(mn))
                    return HttpReply.Json("""{"error":"missing query parameter mn-id"}""", 400);
                var started = await lma.Ask<RevocationStarted>(new RevokeBinding(mn), TimeSpan.FromSeconds(10));
                return HttpReply.Json(JsonSerializer.Serialize(new { mnId = started.MobileNodeId, sessions = started.Sessions }, DaemonRuntime.Json),
                    started.Sessions == 0 ? 404 : 200);
            }
            case ("GET", "/flows"):
                return FlowEndpoints.List(tunnel?.Forwarder.Flows, await index.Ask<BindingIndexView>(new GetBindingIndex(int.MaxValue), TimeSpan.FromSeconds(10)));
            case ("POST", "/flows/move"):
                return await FlowEndpoints.Move(request.QueryString["mn-id"], request.QueryString["flow-id"], request.QueryString["to"],
                    tunnel?.Forwarder.Flows, move => lma.Ask<FlowRouteAnswer>(move, TimeSpan.FromSeconds(10)));
            default:
                return HttpReply.Json("""{"error":"not found: GET /status, GET /metrics, GET /flows, POST /revoke?mn-id=, POST /flows/move?mn-id=&flow-id=&to="}""", 404);
        }
    }
}
