// Three `pmip6 lma` processes forming one cluster, in network namespaces of their own (pmipc-lma1..3), behind a
// core router running BIRD 2 (pmipc-core), with a MAG daemon (pmipc-mag) and PostgreSQL from scripts/postgres.sh:
//
//   pmipc-mag ---- pmipc-core ---- pmipc-lma1   (each LMA: the shared LMAA on its tunnel device, BIRD announcing
//    MAG          BIRD, ECMP  ---- pmipc-lma2    it and the node's prefix slices to the core over eBGP + BFD)
//                 to the LMAA ---- pmipc-lma3
//
// Cluster traffic between the LMA nodes runs over IPv4 through the core; the journal is reached over PostgreSQL's
// unix socket (the server listens on no network address). Leftovers of an earlier run (namespaces named pmipc-*,
// the processes in them, the run folder and its server) are removed first; everything is removed on Dispose.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Tests.Linux;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.EndToEnd.Tests;

/// <summary>The cluster specs share the pmipc-* namespaces and PostgreSQL's run folder: one at a time, never beside the lab's.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LmaClusterCollection
{
    public const string Name = "lma cluster";
}

public sealed class LmaClusterDomain : IDisposable
{
    public const string NamespacePrefix = "pmipc-";
    public const string Core = "pmipc-core";
    public const string Mag = "pmipc-mag";
    /// <summary>MAGs `pmip6 bench signaling --mags` emulates from pmipc-mag (2001:db8:1::100 + i), authorised at every node.</summary>
    public const int BenchMags = 4;
    public static readonly Ipv6Address SharedAddress = Ipv6Address.Parse(Hosts.Lab.LabCluster.SharedAddress); // the lab's BIRD configurations announce it
    public static readonly Ipv6Address MagAddress = Ipv6Address.Parse("2001:db8:1::2");
    /// <summary>The core's address on the MAG's link: where uplink leaving the cluster is sent.</summary>
    public static readonly Ipv6Address CoreAddress = Ipv6Address.Parse("2001:db8:c0:ff::1");
    public static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:a000::/40");
    public const string MobileNodeSuffix = "@cluster.pmip6.example";
    private const int MagHttp = 9190;
    private const string RunDirectory = "/tmp/pmipc-cluster-e2e";

    public static string Lma(int node) => $"pmipc-lma{node}";
    public static int LmaHttp(int node) => 9180 + node;

    private readonly NetworkNamespaces _setns = new(); // only to run code inside a namespace
    private readonly List<Process> _processes = [];
    private readonly Dictionary<int, Process> _lmas = [];
    private readonly Action<string> _log;
    private readonly Stopwatch _since = Stopwatch.StartNew();

    /// <summary>LMA processes in the cluster (pmipc-lma1..N).</summary>
    public int Nodes { get; }

    /// <param name="nodes">LMA processes, 1-3 (a one-node cluster still runs in cluster mode: seed node, PostgreSQL, slices).</param>
    /// <param name="withMag">Start the MAG daemon in pmipc-mag (the bench emulates its own MAGs there instead).</param>
    public LmaClusterDomain(Action<string> log, int nodes = 3, bool withMag = true)
    {
        _log = log;
        Nodes = nodes is >= 1 and <= 3 ? nodes : throw new ArgumentOutOfRangeException(nameof(nodes), "1-3 LMA nodes");
        RemoveLeftovers();
        try
        {
            Directory.CreateDirectory(RunDirectory);
            BuildTopology();
            var journal = StartPostgres();
            StartBird();
            WriteConfigs(journal);
            Step("topology, PostgreSQL and BIRD ready");
            Parallel.For(1, Nodes + 1, node =>
            {
                var process = DaemonDomain.StartDaemon(Lma(node), "lma", Path.Combine(RunDirectory, $"lma{node}.conf"), LmaLog(node), RunDirectory, TimeSpan.FromSeconds(120));
                lock (_processes)
                {
                    _processes.Add(process);
                    _lmas[node] = process;
                }
            });
            Step($"{Nodes} LMA processes serving");
            // Serving is not yet reachable: a node announces the shared address over BGP once it serves, and BIRD's BGP
            // first connects only after its start delay (5 s by default). A one-node cluster serves in ~4.5 s, so a bench
            // started at once sent its first window into a core without the route (all lost, twice in CI); with 2-3 nodes
            // the race was hidden behind the slower cluster join. Ready means the core routes through every node.
            DaemonDomain.Eventually(() => Assert.Equal(Nodes, LmaaPaths()), TimeSpan.FromSeconds(30));
            Step($"the core routes the shared address over {Nodes} node(s)");
            // And every node hosts buckets: the first node up may have been allocated every shard while the others joined
            // (its start asks for all the buckets); the coordinator's rebalance (every 10 s) hands some over. With 256
            // buckets a node recovers them fast enough for that to happen at most starts (2 of 3 two-node runs, stop 23).
            DaemonDomain.Eventually(() => Assert.All(Enumerable.Range(1, Nodes), n => Assert.NotEmpty(Buckets(n))), TimeSpan.FromSeconds(90));
            Step($"every node hosts binding buckets");
            if (withMag)
            {
                _processes.Add(DaemonDomain.StartDaemon(Mag, "mag", Path.Combine(RunDirectory, "mag.conf"), Path.Combine(RunDirectory, "mag.log"), RunDirectory));
                Step("MAG serving");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static IEnumerable<Ipv6Address> BenchMagAddresses =>
        Enumerable.Range(0, BenchMags).Select(i => new Ipv6Address(Ipv6Address.Parse("2001:db8:1::100").Value + (UInt128)i));

    public static string LmaLog(int node) => Path.Combine(RunDirectory, $"lma{node}.log");

    private void Step(string what) => _log($"[{_since.Elapsed.TotalSeconds,5:F1} s] {what}");

    // ---- set-up ----

    private static void RemoveLeftovers()
    {
        foreach (var ns in NetworkNamespaces.List().Where(n => n.StartsWith(NamespacePrefix, StringComparison.Ordinal)))
        {
            // Processes an earlier run left in our namespaces (only ours: the names are this spec's).
            foreach (var pid in NetworkNamespaces.Ip("netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                try
                {
                    Process.GetProcessById(int.Parse(pid)).Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
                {
                }
            NetworkNamespaces.Ip("netns", "del", ns);
        }
        if (Directory.Exists(RunDirectory))
        {
            Hosts.Lab.LabCluster.StopPostgres(RunDirectory);
            Directory.Delete(RunDirectory, recursive: true);
        }
    }

    private void BuildTopology()
    {
        foreach (var ns in new[] { Core, Mag }.Concat(Enumerable.Range(1, Nodes).Select(Lma)))
        {
            NetworkNamespaces.Ip("netns", "add", ns);
            NetworkNamespaces.Ip("-n", ns, "link", "set", "lo", "up");
            Sysctl(ns, "net.ipv6.conf.all.forwarding=1");
        }
        Sysctl(Core, "net.ipv4.ip_forward=1");
        for (var node = 1; node <= Nodes; node++)
        {
            var ns = Lma(node);
            Link(Core, $"lma{node}", ns, "core");
            Address(Core, $"lma{node}", $"2001:db8:c0:{node}::1/64", $"10.9.{node}.1/24");
            Address(ns, "core", $"2001:db8:c0:{node}::2/64", $"10.9.{node}.2/24");
            NetworkNamespaces.Ip("-n", ns, "-6", "route", "add", "default", "via", $"2001:db8:c0:{node}::1");
            NetworkNamespaces.Ip("-n", ns, "-4", "route", "add", "default", "via", $"10.9.{node}.1");
        }
        Link(Core, "mag", Mag, "core");
        Address(Core, "mag", $"{CoreAddress}/64");
        Address(Mag, "core", "2001:db8:c0:ff::2/64", $"{MagAddress}/128");
        NetworkNamespaces.Ip("-n", Mag, "-6", "route", "add", "default", "via", CoreAddress.ToString());
        // The MAG daemon's address and the bench's emulated MAGs (2001:db8:1::100 + i) live in pmipc-mag.
        NetworkNamespaces.Ip("-n", Core, "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:c0:ff::2");
        foreach (var (ns, device) in new[] { (Core, "mag"), (Mag, "core") }.Concat(Enumerable.Range(1, Nodes).SelectMany(n => new[] { (Core, $"lma{n}"), (Lma(n), "core") })))
            _setns.WaitUntilUp(ns, device);
    }

    private static void Link(string a, string deviceA, string b, string deviceB)
    {
        NetworkNamespaces.Ip("link", "add", "name", deviceA, "netns", a, "type", "veth", "peer", "name", deviceB, "netns", b);
        NetworkNamespaces.Ip("-n", a, "link", "set", deviceA, "up");
        NetworkNamespaces.Ip("-n", b, "link", "set", deviceB, "up");
    }

    private static void Address(string ns, string device, params string[] cidrs)
    {
        foreach (var cidr in cidrs)
            if (cidr.Contains(':'))
                NetworkNamespaces.Ip("-n", ns, "-6", "addr", "add", cidr, "dev", device, "nodad");
            else
                NetworkNamespaces.Ip("-n", ns, "-4", "addr", "add", cidr, "dev", device);
    }

    private static void Sysctl(string ns, string setting) => Run("ip", "netns", "exec", ns, "sysctl", "-qw", setting);

    /// <summary>PostgreSQL of scripts/postgres.sh in the run folder, reached over its unix socket (the lab's own start).</summary>
    private static string StartPostgres() => Hosts.Lab.LabCluster.StartPostgres(RunDirectory);

    /// <summary>BIRD in the core and each node, configured as the cluster lab's (the same addresses, ASNs and interfaces).</summary>
    private void StartBird()
    {
        Script("bird.sh", "install");
        Bird(Core, "core", Hosts.Lab.LabCluster.CoreBirdConfig(Nodes));
        for (var node = 1; node <= Nodes; node++)
            Bird(Lma(node), $"lma{node}", Hosts.Lab.LabCluster.NodeBirdConfig(node));
    }

    private void Bird(string ns, string name, string config)
    {
        var file = Path.Combine(RunDirectory, $"bird-{name}.conf");
        File.WriteAllText(file, config);
        Script("bird.sh", "check", file);
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "netns", "exec", ns, "bird", "-f", "-c", file, "-s", Path.Combine(RunDirectory, $"bird-{name}.ctl") })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        _processes.Add(process);
        var log = new StreamWriter(Path.Combine(RunDirectory, $"bird-{name}.log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (log) log.WriteLine(l); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (log) log.WriteLine(l); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void WriteConfigs(string journal)
    {
        var policies = $$"""
            pmip6.policies {
              profiles = [
                { mn-id-suffix = "{{MobileNodeSuffix}}", hnp-count = 1 }
                { mn-id-suffix = "{{Pmip6Akka.Hosts.Cli.SignalingBenchmark.MobileNodeSuffix}}", hnp-count = 1 }
              ]
            }
            """;
        File.WriteAllText(Path.Combine(RunDirectory, "policies.conf"), policies);
        var seeds = string.Join(", ", Enumerable.Range(1, Nodes).Select(n => $"\"10.9.{n}.2:2552\""));
        // One file for every node; each node's own address is in its lma.conf.
        File.WriteAllText(Path.Combine(RunDirectory, "cluster.conf"), $$"""
            pmip6.cluster {
              seed-nodes = [{{seeds}}]
              min-members = {{Nodes}}
              roles = ["lma"]
              split-brain-resolver { strategy = "keep-majority", stable-after = 2s, down-all-when-unstable = on }
              failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
              sharding { shards = 30, remember-entities-store = "eventsourced" }
              journal { provider = "postgresql", postgresql.connection-string = "{{journal}}" }
            }
            """);
        for (var node = 1; node <= Nodes; node++)
            File.WriteAllText(Path.Combine(RunDirectory, $"lma{node}.conf"), $$"""
                pmip6.lma {
                  address = "{{SharedAddress}}"
                  authorized-mags = [{{string.Join(", ", BenchMagAddresses.Prepend(MagAddress).Select(a => $"\"{a}\""))}}]
                  prefix-pool = "{{Pool}}"
                  prefix-length = 64
                  policy-file = "policies.conf"
                  store = "lma{{node}}.db"
                  http = "127.0.0.1:{{LmaHttp(node)}}"
                  cluster-file = "cluster.conf"
                  cluster-hostname = "10.9.{{node}}.2"
                  cluster-port = 2552
                  buffering.enabled = off
                }
                """);
        File.WriteAllText(Path.Combine(RunDirectory, "mag.conf"), DaemonDomain.MagConfig(MagAddress.ToString(), SharedAddress.ToString(), "policies.conf", "2s", MagHttp));
    }

    // ---- what the spec looks at and does ----

    public JsonElement LmaStatus(int node) =>
        JsonDocument.Parse(DaemonDomain.Http(_setns, Lma(node), LmaHttp(node), "GET", "/status?limit=100000").Body).RootElement;

    /// <summary>(sum in seconds, count) of a histogram in a node's /metrics (pmip6_lma_NAME_sum / _count).</summary>
    public (double Sum, long Count) LmaHistogram(int node, string name)
    {
        var metrics = DaemonDomain.Http(_setns, Lma(node), LmaHttp(node), "GET", "/metrics").Body.Split('\n');
        string Value(string suffix) => metrics.FirstOrDefault(l => l.StartsWith($"pmip6_lma_{name}_{suffix} ", StringComparison.Ordinal))?.Split(' ')[1] ?? "0";
        return (double.Parse(Value("sum"), System.Globalization.CultureInfo.InvariantCulture), long.Parse(Value("count")));
    }

    public JsonElement MagStatus() => JsonDocument.Parse(DaemonDomain.Http(_setns, Mag, MagHttp, "GET", "/status").Body).RootElement;

    public void Attach(string mn) => Assert.Equal(202, DaemonDomain.Http(_setns, Mag, MagHttp, "POST", $"/attach?mn-id={Uri.EscapeDataString(mn)}").Status);

    /// <summary>MN-ID → prefix of every session the MAG holds as registered.</summary>
    public Dictionary<string, string> MagRegistered() => DaemonDomain.MagRegistered(MagStatus());

    /// <summary>MN-ID → prefix of every binding a node's read model holds.</summary>
    public Dictionary<string, string> LmaBindings(int node) => DaemonDomain.LmaBindings(LmaStatus(node));

    public int[] Buckets(int node) => [.. LmaStatus(node).GetProperty("cluster").GetProperty("bucketIds").EnumerateArray().Select(b => b.GetInt32())];

    public bool IsAlive(int node) => _lmas.TryGetValue(node, out var p) && !p.HasExited;

    /// <summary>CPU time (user + system) an LMA process has used so far, from /proc/PID/stat.</summary>
    public TimeSpan LmaCpu(int node) => _lmas[node].TotalProcessorTime;

    /// <summary>`pmip6 bench signaling ARGS --json` run in pmipc-mag against the shared LMA address; its JSON report.</summary>
    public JsonElement Bench(params string[] args)
    {
        var (code, output, error) = DaemonDomain.RunTool("ip", ["netns", "exec", Mag, "dotnet", DaemonDomain.Pmip6Dll, "bench", "signaling",
            "--lma", SharedAddress.ToString(), "--mags", BenchMags.ToString(), .. args, "--json"], TimeSpan.FromMinutes(5));
        if (code != 0)
            throw new InvalidOperationException($"pmip6 bench signaling exited {code}: {error.Trim()}\n{output.Trim()}");
        return JsonDocument.Parse(output).RootElement;
    }

    /// <summary>SIGKILL: no shutdown hook, no hand-off; the node's buckets must come back from the journal elsewhere.</summary>
    public void Kill(int node)
    {
        _lmas[node].Kill(entireProcessTree: true);
        _lmas[node].WaitForExit(10_000);
    }

    /// <summary>The routes `ip -6 route` shows in <paramref name="ns"/> (protocol <paramref name="protocol"/> when given).</summary>
    public static string[] Routes(string ns, string? protocol = null) =>
        NetworkNamespaces.Ip(protocol is null ? ["-n", ns, "-6", "route", "show"] : ["-n", ns, "-6", "route", "show", "proto", protocol])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The prefix-slice routes a node's buckets added (protocol 99), without the shared address's, which the node adds once it serves.</summary>
    public static string[] SliceRoutes(string ns) => [.. Routes(ns, "99").Where(r => !r.StartsWith($"{SharedAddress} ", StringComparison.Ordinal))];

    /// <summary>The next hops of the core's route to the shared LMA address (one per live node announcing it).</summary>
    public static int LmaaPaths() => Hosts.Lab.LabCluster.SharedAddressPaths(Core);

    /// <summary>A tunnel counter of a daemon's /status (summed over reasons).</summary>
    public static long TunnelCounter(JsonElement status, string name) => status.GetProperty("tunnel").GetProperty("counters").EnumerateArray()
        .Where(c => c.GetProperty("name").GetString() == name).Sum(c => c.GetProperty("count").GetInt64());

    /// <summary>A counter of a daemon's /status (summed over labels).</summary>
    public static long Counter(JsonElement status, string name) => status.GetProperty("counters").EnumerateArray()
        .Where(c => c.GetProperty("name").GetString() == name).Sum(c => c.GetProperty("count").GetInt64());

    /// <summary>
    /// Downlink from the core to an address in an MN's prefix (UDP, discard port); returns the packets the core could route
    /// (none while no node announces the prefix's slice: the core has no default route).
    /// </summary>
    public int SendDownlink(Ipv6Address destination, int packets) => _setns.Run(Core, () =>
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(IPAddress.Parse(destination.ToString()), 9);
        var sent = 0;
        for (var i = 0; i < packets; i++)
            try
            {
                socket.SendTo(new byte[64], to);
                sent++;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.HostUnreachable)
            {
            }
        return sent;
    });

    /// <summary>
    /// Uplink as the MAG tunnels it: for each source (an address in an MN's prefix) one IPv6-in-IPv6 packet from the
    /// MAG to the shared LMA address carrying UDP to the core; returns the sources whose packet reached the core.
    /// </summary>
    public HashSet<Ipv6Address> SendUplinkThroughTunnel(IReadOnlyList<Ipv6Address> sources, int port)
    {
        return _setns.Run(Core, () =>
        {
            using var listener = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            listener.Bind(new IPEndPoint(IPAddress.Parse(CoreAddress.ToString()), port));
            listener.ReceiveTimeout = 300;
            _setns.Run(Mag, () =>
            {
                if (!TunnelSocket.TryOpen(new TunnelSocketOptions { LocalAddress = MagAddress }, out var tunnel, out var error))
                    throw new InvalidOperationException($"cannot open the tunnel socket in {Mag}: {error.Message}");
                using (tunnel)
                    foreach (var source in sources)
                        Assert.True(tunnel.TrySend(UdpPacket(source, CoreAddress, port), SharedAddress, out var errno), $"send failed: errno {errno}");
            });
            var arrived = new HashSet<Ipv6Address>();
            var buffer = new byte[2048];
            var deadline = DateTime.UtcNow.AddSeconds(3);
            while (arrived.Count < sources.Count && DateTime.UtcNow < deadline)
            {
                EndPoint from = new IPEndPoint(IPAddress.IPv6Any, 0);
                try
                {
                    listener.ReceiveFrom(buffer, ref from);
                    arrived.Add(Ipv6Address.Parse(((IPEndPoint)from).Address.ToString()));
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
                {
                }
            }
            return arrived;
        });
    }

    private static byte[] UdpPacket(Ipv6Address source, Ipv6Address destination, int port)
    {
        const int payload = 16;
        var udp = new byte[8 + payload];
        udp[0] = 0x9c; udp[1] = 0x40; // source port 40000
        udp[2] = (byte)(port >> 8); udp[3] = (byte)port;
        udp[5] = (byte)udp.Length;
        var checksum = InternetChecksum.Compute(source, destination, 17, udp);
        udp[6] = (byte)(checksum >> 8); udp[7] = (byte)checksum;
        var packet = new byte[Ipv6Packet.HeaderLength + udp.Length];
        packet[0] = 0x60;
        packet[5] = (byte)udp.Length;
        packet[6] = 17;
        packet[7] = 64;
        source.Write(packet.AsSpan(8));
        destination.Write(packet.AsSpan(24));
        udp.CopyTo(packet, Ipv6Packet.HeaderLength);
        return packet;
    }

    // ---- tools ----

    private static string Script(string name, params string[] args) =>
        Run("bash", [Path.Combine(DaemonDomain.RepositoryRoot, "scripts", name), .. args]);

    private static string Run(string file, params string[] args)
    {
        var (code, output, error) = DaemonDomain.RunTool(file, args, TimeSpan.FromMinutes(3));
        return code == 0 ? output : throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {error.Trim()}");
    }

    public void Dispose()
    {
        DaemonDomain.KillAll(_processes);
        if (Hosts.Lab.LabCluster.StopPostgres(RunDirectory) is { } error)
            _log($"stopping PostgreSQL: {error}");
        foreach (var ns in NetworkNamespaces.List().Where(n => n.StartsWith(NamespacePrefix, StringComparison.Ordinal)))
            NetworkNamespaces.Ip("netns", "del", ns);
        _setns.Dispose();
        if (Environment.GetEnvironmentVariable("PMIP6_E2E_KEEP") != "1" && Directory.Exists(RunDirectory))
            Directory.Delete(RunDirectory, recursive: true);
    }
}
