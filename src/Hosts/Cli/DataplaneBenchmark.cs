// `pmip6 bench dataplane [--duration S] [--sizes 64,512,1400] [--pings N] [--json]`: the userspace
// IPv6-in-IPv6 tunnel (UserspaceTunnel: TUN + raw next-header-41 socket + TunnelForwarder) against the
// kernel routing the same traffic. Four namespaces chained by veths, addresses from 2001:db8::/32 only:
//
//   pmip-bench-cn ---- pmip-bench-lma ==== pmip-bench-mag ---- pmip-bench-mn
//   cc::2       cc::1         ff::1   ff::2      a000:1::1      a000:1::100 (the MN)
//
// (a) kernel: static routes cn -> lma -> mag -> mn and back, no TUN;
// (b) tunnel: at the LMA the MN prefix is routed into a TUN served by an Anchor UserspaceTunnel (socket
//     bound to ff::1, entry a000:1::/64 -> ff::2); at the MAG a Gateway UserspaceTunnel (entry ->
//     ff::1) decapsulates onto the MN link, and `from a000:1::/64 table 5213` + `default dev tun table
//     5213` sends the uplink into its TUN. The tunnel threads run in this process.
// Throughput: a UDP sender in cn floods the MN for --duration seconds per packet size; a receiver in
// mn counts. Latency: --pings UDP ping-pongs cn <-> mn, one outstanding. Everything runs on this
// machine's cores, shared by the sender, the receiver and (b)'s forwarding threads; the report says so.
// The namespaces are created here, refused if they exist, and removed on exit, failure and SIGINT/SIGTERM.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Daemons;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

public static class DataplaneBenchmark
{
    public const string NamespacePrefix = "pmip-bench-";
    private const string Cn = NamespacePrefix + "cn", Lma = NamespacePrefix + "lma", Mag = NamespacePrefix + "mag", Mn = NamespacePrefix + "mn";
    private static readonly string[] Namespaces = [Cn, Lma, Mag, Mn];

    private static readonly Ipv6Address CnAddress = Ipv6Address.Parse("2001:db8:cc::2");
    private static readonly Ipv6Address LmaCnSide = Ipv6Address.Parse("2001:db8:cc::1");
    private static readonly Ipv6Address LmaTunnelEnd = Ipv6Address.Parse("2001:db8:ff::1");
    private static readonly Ipv6Address MagTunnelEnd = Ipv6Address.Parse("2001:db8:ff::2");
    private static readonly Ipv6Address MagMnSide = Ipv6Address.Parse("2001:db8:a000:1::1");
    private static readonly Ipv6Address MnAddress = Ipv6Address.Parse("2001:db8:a000:1::100");
    private static readonly Ipv6Prefix MnPrefix = Ipv6Prefix.Parse("2001:db8:a000:1::/64");
    private const string TunName = "pmipbench0";
    private const int TunMtu = 1460;
    private const int SourceTable = 5213;
    private const int FloodPort = 9000, EchoPort = 9007, PingPort = 9008;

    /// <summary>IPv6 header + UDP header: the packet sizes asked for are whole IPv6 packets.</summary>
    private const int Overhead = Ipv6Packet.HeaderLength + 8;
    /// <summary>The payload carries a run number and a sequence number.</summary>
    public const int MinPacket = Overhead + 16;
    public const int MaxPacket = TunMtu;

    private const double TargetRateRatio = 0.25;
    private const double TargetAddedLatencyMicroseconds = 50;

    public static int Run(Arguments args, TextWriter stdout)
    {
        var json = args.Flag("json");
        var duration = (int)args.Integer("duration", 3, 1, 600);
        var sizes = ParseSizes(args.String("sizes"));
        var pings = (int)args.Integer("pings", 2000, 1, 10_000_000);
        // Like a daemon with tunnel.cpu-latency-limit (PM QoS): without it, an idle machine's CPU wake-up latency
        // dominates the userspace hops (measured 50 µs added per direction against 21 µs with a 0 µs limit).
        var latencyText = args.String("cpu-latency-limit-us") ?? "0";
        TimeSpan? latencyLimit = latencyText == "off" ? null
            : int.TryParse(latencyText, out var us) && us is >= 0 and <= 1_000_000 ? TimeSpan.FromMicroseconds(us)
            : throw new UsageException($"--cpu-latency-limit-us must be 0..1000000 or off, got '{latencyText}'");
        args.EnsureAllUsed();

        if (geteuid() != 0)
            throw new CommandFailure(CommandLine.ExitFailure, "pmip6 bench dataplane: needs root (it creates network namespaces, veths and TUN devices)");
        if (Namespaces.FirstOrDefault(BenchEnvironment.NamespaceExists) is { } existing)
            throw new CommandFailure(CommandLine.ExitFailure,
                $"pmip6 bench dataplane: network namespace {existing} already exists (another bench running, or a killed one: ip netns del {existing})");

        CpuLatencyRequest? latency = null;
        if (latencyLimit is { } limit && !CpuLatencyRequest.TryOpen(limit, out latency, out var latencyError))
            throw new CommandFailure(CommandLine.ExitFailure, $"pmip6 bench dataplane: cannot limit CPU wake-up latency: {latencyError.Message} (or --cpu-latency-limit-us off)");
        using var latencyRequest = latency;
        if (!json)
            stdout.WriteLine(latencyLimit is { } l
                ? $"PM QoS: CPU wake-up latency limited to {l.TotalMicroseconds:F0} µs while measuring (as a daemon with tunnel.cpu-latency-limit; --cpu-latency-limit-us off to measure without)"
                : "PM QoS: no CPU wake-up latency limit (idle-state exits add to every userspace hop)");
        using var environment = new BenchEnvironment();
        using var cancel = new CancellationTokenSource();
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        })).ToList();
        try
        {
            var report = RunBench(environment, new Settings(duration, sizes, pings), cancel.Token);
            if (json)
                stdout.WriteLine(JsonSerializer.Serialize(report.ToJson(), DaemonRuntime.Json));
            else
                report.Print(stdout);
            return CommandLine.ExitOk;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("pmip6 bench dataplane: interrupted; cleaned up");
            return 130;
        }
        catch (BenchFailure e)
        {
            Console.Error.WriteLine($"pmip6 bench dataplane: {e.Message}");
            return CommandLine.ExitFailure;
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
            environment.Dispose();
        }
    }

    private static int[] ParseSizes(string? text)
    {
        if (text is null)
            return [64, 512, 1400];
        var sizes = new List<int>();
        foreach (var item in text.Split(','))
        {
            if (!int.TryParse(item.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < MinPacket || size > MaxPacket)
                throw new UsageException($"--sizes takes IPv6 packet sizes from {MinPacket} to {MaxPacket} octets, comma-separated; unknown size '{item}'");
            if (!sizes.Contains(size))
                sizes.Add(size);
        }
        return [.. sizes];
    }

    private sealed record Settings(int Duration, int[] Sizes, int Pings);

    private static Report RunBench(BenchEnvironment env, Settings s, CancellationToken cancel)
    {
        BuildNetwork(env);
        cancel.ThrowIfCancellationRequested();
        using var traffic = Traffic.Open(env);

        traffic.AwaitPath("kernel routing", cancel);
        var kernelRuns = s.Sizes.Select(size => traffic.Flood(size, s.Duration, cancel)).ToArray();
        var kernelPing = traffic.PingPong(s.Pings, cancel);

        var (anchor, gateway) = StartTunnels(env);
        traffic.AwaitPath("the userspace tunnel", cancel);
        var before = (anchor.Forwarder.Counters.Encapsulated, gateway.Forwarder.Counters.Decapsulated);
        var tunnelRuns = s.Sizes.Select(size => traffic.Flood(size, s.Duration, cancel)).ToArray();
        var tunnelPing = traffic.PingPong(s.Pings, cancel);
        var tunnelled = (anchor.Forwarder.Counters.Encapsulated - before.Encapsulated, gateway.Forwarder.Counters.Decapsulated - before.Decapsulated);
        var received = tunnelRuns.Sum(r => r.Received) + tunnelPing.Replies;
        if (tunnelled.Item2 < received)
            throw new BenchFailure($"the tunnel forwarded {tunnelled.Item2} packets to the MN but it received {received}: traffic bypassed the tunnel");
        return new Report(s, kernelRuns, tunnelRuns, kernelPing, tunnelPing, tunnelled.Item1, tunnelled.Item2,
            DropSummary(anchor.Forwarder.Counters), DropSummary(gateway.Forwarder.Counters));
    }

    private static string DropSummary(ForwardingCounters c) =>
        $"send errors {c.SendErrors}, write errors {c.WriteErrors}, no-binding {c.EncapsulateDrops(ForwardingVerdict.NoBinding) + c.DecapsulateDrops(ForwardingVerdict.NoBinding)}";

    // ---- the network ----------------------------------------------------------------------------

    private static void BuildNetwork(BenchEnvironment env)
    {
        foreach (var ns in Namespaces)
            env.CreateNamespace(ns);
        BenchEnvironment.Ip(null, "link", "add", "cn0", "netns", Cn, "type", "veth", "peer", "name", "lma-cn", "netns", Lma);
        BenchEnvironment.Ip(null, "link", "add", "lma-mag", "netns", Lma, "type", "veth", "peer", "name", "mag-lma", "netns", Mag);
        BenchEnvironment.Ip(null, "link", "add", "mag-mn", "netns", Mag, "type", "veth", "peer", "name", "mn0", "netns", Mn);
        foreach (var router in new[] { Lma, Mag })
        {
            BenchEnvironment.Sysctl(router, "net.ipv6.conf.all.forwarding", "1");
            BenchEnvironment.Sysctl(router, "net.ipv6.conf.default.forwarding", "1");
        }
        BenchEnvironment.IpBatch(Cn,
            $"addr add {CnAddress}/64 dev cn0 nodad",
            "link set cn0 up",
            $"route add default via {LmaCnSide} dev cn0");
        BenchEnvironment.IpBatch(Lma,
            $"addr add {LmaCnSide}/64 dev lma-cn nodad",
            $"addr add {LmaTunnelEnd}/64 dev lma-mag nodad",
            "link set lma-cn up",
            "link set lma-mag up",
            $"route add {MnPrefix} via {MagTunnelEnd} dev lma-mag");
        BenchEnvironment.IpBatch(Mag,
            $"addr add {MagTunnelEnd}/64 dev mag-lma nodad",
            $"addr add {MagMnSide}/64 dev mag-mn nodad",
            "link set mag-lma up",
            "link set mag-mn up",
            $"route add 2001:db8:cc::/64 via {LmaTunnelEnd} dev mag-lma");
        BenchEnvironment.IpBatch(Mn,
            $"addr add {MnAddress}/64 dev mn0 nodad",
            "link set mn0 up",
            $"route add default via {MagMnSide} dev mn0");
    }

    /// <summary>Opens both tunnel ends in their namespaces, starts them, then points the routes at them.</summary>
    private static (UserspaceTunnel Anchor, UserspaceTunnel Gateway) StartTunnels(BenchEnvironment env)
    {
        var anchor = env.Track(OpenTunnel(Lma, TunnelRole.Anchor, LmaTunnelEnd, MagTunnelEnd));
        var gateway = env.Track(OpenTunnel(Mag, TunnelRole.Gateway, MagTunnelEnd, LmaTunnelEnd));
        anchor.Start();
        gateway.Start();
        BenchEnvironment.IpBatch(Lma,
            $"link set {TunName} up mtu {TunMtu}",
            $"route replace {MnPrefix} dev {TunName}");
        BenchEnvironment.IpBatch(Mag,
            $"link set {TunName} up mtu {TunMtu}",
            $"rule add from {MnPrefix} table {SourceTable} pref 100",
            $"route add default dev {TunName} table {SourceTable}");
        return (anchor, gateway);
    }

    private static UserspaceTunnel OpenTunnel(string ns, TunnelRole role, Ipv6Address local, Ipv6Address remote) => BenchEnvironment.InNamespace(ns, () =>
    {
        if (!TunDevice.TryOpen(TunName, TimeSpan.FromMilliseconds(200), out var device, out var error))
            throw new BenchFailure($"in {ns}: {error.Message}");
        if (!TunnelSocket.TryOpen(new TunnelSocketOptions
            {
                LocalAddress = local,
                ReceiveTimeout = TimeSpan.FromMilliseconds(200),
                ReceiveBufferBytes = 4 << 20,
                SendBufferBytes = 4 << 20,
            }, out var socket, out error))
        {
            device.Dispose();
            throw new BenchFailure($"in {ns}: {error.Message}");
        }
        var table = new TunnelTable();
        table.Set(MnPrefix, remote);
        return new UserspaceTunnel(device, socket, new TunnelForwarder(role, table, new ForwardingCounters()));
    });

    // ---- the traffic ----------------------------------------------------------------------------

    private sealed record FloodResult(int Size, double Seconds, long Sent, long Received)
    {
        public double SentPerSecond => Sent / Seconds;
        public double PacketsPerSecond => Received / Seconds;
        public double Megabits => Received * (double)Size * 8 / Seconds / 1e6;
        public double LossPercent => Sent == 0 ? 0 : 100.0 * Math.Max(0, Sent - Received) / Sent;
    }

    private sealed record PingResult(int Sent, int Replies, double MedianMicroseconds, double P99Microseconds);

    /// <summary>The CN's sockets (flood sender, pinger) and the MN's (flood counter, echo), with their threads in the MN.</summary>
    private sealed class Traffic : IDisposable
    {
        private readonly Socket _sender, _pinger, _counter, _echo;
        private readonly Thread _countThread, _echoThread;
        private volatile bool _stopping;
        private int _run;
        private long _received;

        private Traffic(Socket sender, Socket pinger, Socket counter, Socket echo)
        {
            (_sender, _pinger, _counter, _echo) = (sender, pinger, counter, echo);
            _countThread = new Thread(Count) { IsBackground = true, Name = "bench-mn-count" };
            _echoThread = new Thread(Echo) { IsBackground = true, Name = "bench-mn-echo" };
            _countThread.Start();
            _echoThread.Start();
        }

        public static Traffic Open(BenchEnvironment env)
        {
            var cn = new IPEndPoint(CnAddress.ToIPAddress(), 0);
            var mn = MnAddress.ToIPAddress();
            var (sender, pinger) = BenchEnvironment.InNamespace(Cn, () =>
            {
                var flood = env.Track(Udp());
                flood.Bind(cn);
                flood.Connect(mn, FloodPort);
                var ping = env.Track(Udp());
                ping.Bind(new IPEndPoint(cn.Address, PingPort));
                ping.Connect(mn, EchoPort);
                ping.ReceiveTimeout = 1000;
                return (flood, ping);
            });
            var (counter, echo) = BenchEnvironment.InNamespace(Mn, () =>
            {
                var count = env.Track(Udp());
                count.ReceiveBufferSize = 4 << 20;
                count.Bind(new IPEndPoint(mn, FloodPort));
                count.ReceiveTimeout = 100;
                var reply = env.Track(Udp());
                reply.Bind(new IPEndPoint(mn, EchoPort));
                reply.Connect(cn.Address, PingPort);
                reply.ReceiveTimeout = 100;
                return (count, reply);
            });
            return env.Track(new Traffic(sender, pinger, counter, echo));
        }

        private static Socket Udp() => new(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);

        /// <summary>Pings until one answer comes back (neighbour discovery done, routes in place); fails after 5 s.</summary>
        public void AwaitPath(string what, CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(5))
            {
                cancel.ThrowIfCancellationRequested();
                if (PingPong(1, cancel).Replies == 1)
                    return;
            }
            throw new BenchFailure($"no UDP echo from the MN through {what} within 5 s");
        }

        /// <summary>A short unmeasured flood (JIT, caches), then <paramref name="seconds"/> of flood at <paramref name="size"/>-octet packets.</summary>
        public FloodResult Flood(int size, int seconds, CancellationToken cancel)
        {
            Send(size, 0.3, cancel);
            Drain();
            Interlocked.Increment(ref _run);
            Volatile.Write(ref _received, 0);
            var (sent, elapsed) = Send(size, seconds, cancel);
            Drain();
            var received = Volatile.Read(ref _received);
            Interlocked.Increment(ref _run);
            return new FloodResult(size, elapsed, sent, received);
        }

        private (long Sent, double Seconds) Send(int size, double seconds, CancellationToken cancel)
        {
            var payload = new byte[size - Overhead];
            BitConverter.TryWriteBytes(payload, Volatile.Read(ref _run));
            var watch = Stopwatch.StartNew();
            var end = (long)(seconds * Stopwatch.Frequency);
            long sent = 0;
            while (true)
            {
                for (var i = 0; i < 64; i++)
                {
                    BitConverter.TryWriteBytes(payload.AsSpan(8), sent);
                    if (_sender.Send(payload, SocketFlags.None, out _) > 0)
                        sent++;
                }
                if (watch.ElapsedTicks >= end || cancel.IsCancellationRequested)
                    break;
            }
            cancel.ThrowIfCancellationRequested();
            return (sent, watch.Elapsed.TotalSeconds);
        }

        /// <summary>Waits until the receiver has seen nothing new for 100 ms (at most 2 s): what was in flight arrives.</summary>
        private void Drain()
        {
            var last = -1L;
            for (var i = 0; i < 20; i++)
            {
                var now = Volatile.Read(ref _received);
                if (now == last)
                    return;
                last = now;
                Thread.Sleep(100);
            }
        }

        private void Count()
        {
            var buffer = new byte[2048];
            while (!_stopping)
            {
                var n = _counter.Receive(buffer, SocketFlags.None, out var error);
                if (error != SocketError.Success || n < 4)
                    continue;
                if (BitConverter.ToInt32(buffer, 0) == Volatile.Read(ref _run))
                    Interlocked.Increment(ref _received);
            }
        }

        private void Echo()
        {
            var buffer = new byte[2048];
            while (!_stopping)
            {
                var n = _echo.Receive(buffer, SocketFlags.None, out var error);
                if (error == SocketError.Success && n > 0)
                    _echo.Send(buffer.AsSpan(0, n), SocketFlags.None, out _);
            }
        }

        /// <summary><paramref name="count"/> round trips, one outstanding, 64-octet packets; a reply lost for 1 s is not counted.</summary>
        public PingResult PingPong(int count, CancellationToken cancel)
        {
            var request = new byte[64 - Overhead];
            var reply = new byte[2048];
            var rtts = new List<double>(count);
            for (long sequence = 1; sequence <= count; sequence++)
            {
                cancel.ThrowIfCancellationRequested();
                BitConverter.TryWriteBytes(request.AsSpan(8), sequence);
                var start = Stopwatch.GetTimestamp();
                _pinger.Send(request, SocketFlags.None, out _);
                while (true)
                {
                    var n = _pinger.Receive(reply, SocketFlags.None, out var error);
                    if (error != SocketError.Success)
                        break;
                    if (n >= 16 && BitConverter.ToInt64(reply, 8) == sequence)
                    {
                        rtts.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        break;
                    }
                }
            }
            rtts.Sort();
            return new PingResult(count, rtts.Count, Percentile(rtts, 0.5), Percentile(rtts, 0.99));
        }

        private static double Percentile(List<double> sorted, double q) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

        public void Dispose()
        {
            _stopping = true;
            _countThread.Join(TimeSpan.FromSeconds(1));
            _echoThread.Join(TimeSpan.FromSeconds(1));
        }
    }

    // ---- the report -----------------------------------------------------------------------------

    private sealed record Report(Settings Settings, FloodResult[] Kernel, FloodResult[] Tunnel, PingResult KernelPing, PingResult TunnelPing,
        long Encapsulated, long Decapsulated, string AnchorErrors, string GatewayErrors)
    {
        private double Ratio(int i) => Kernel[i].PacketsPerSecond == 0 ? 0 : Tunnel[i].PacketsPerSecond / Kernel[i].PacketsPerSecond;
        private double WorstRatio => Enumerable.Range(0, Kernel.Length).Min(Ratio);
        private double AddedMicroseconds => (TunnelPing.MedianMicroseconds - KernelPing.MedianMicroseconds) / 2;
        private bool RatePass => WorstRatio >= TargetRateRatio;
        private bool LatencyPass => AddedMicroseconds < TargetAddedLatencyMicroseconds;

        public void Print(TextWriter o)
        {
            o.WriteLine($"dataplane benchmark: UDP CN -> MN through LMA and MAG, {Settings.Duration} s per size; userspace IPv6-in-IPv6 tunnel vs kernel routing");
            o.WriteLine($"machine: {Environment.ProcessorCount} cores, Linux {Environment.OSVersion.Version}; the CN sender, the MN receiver and the tunnel's");
            o.WriteLine("  forwarding threads (LMA encapsulate, MAG decapsulate) all share these cores, so the tunnel competes with its own load");
            o.WriteLine();
            o.WriteLine($"{"size",6} {"path",-7} {"sent pkt/s",11} {"recv pkt/s",11} {"Mbit/s",9} {"loss %",7} {"ratio",7}");
            for (var i = 0; i < Kernel.Length; i++)
            {
                Row(o, Kernel[i], "kernel", "");
                Row(o, Tunnel[i], "tunnel", Ratio(i).ToString("P1", CultureInfo.InvariantCulture));
            }
            o.WriteLine("(sizes are whole inner IPv6 packets; Mbit/s counts them at the MN; ratio = tunnel recv pkt/s / kernel recv pkt/s)");
            o.WriteLine();
            o.WriteLine($"latency: {Settings.Pings} UDP ping-pongs CN <-> MN, 64-octet packets, one outstanding");
            o.WriteLine($"{"path",-7} {"median RTT µs",14} {"p99 RTT µs",11} {"replies",8}");
            Ping(o, "kernel", KernelPing);
            Ping(o, "tunnel", TunnelPing);
            o.WriteLine($"added per packet and direction (median RTT tunnel - kernel) / 2: {AddedMicroseconds:F1} µs");
            o.WriteLine();
            o.WriteLine($"target packet rate >= {TargetRateRatio:P0} of the kernel's at every size: {(RatePass ? "PASS" : "FAIL")} (worst {WorstRatio:P1})");
            o.WriteLine($"target added latency < {TargetAddedLatencyMicroseconds} µs at the median: {(LatencyPass ? "PASS" : "FAIL")} ({AddedMicroseconds:F1} µs)");
            o.WriteLine($"tunnel counters during the tunnel runs: LMA encapsulated {Encapsulated:N0}, MAG decapsulated {Decapsulated:N0}; LMA {AnchorErrors}; MAG {GatewayErrors}");
        }

        private static void Row(TextWriter o, FloodResult r, string path, string ratio) =>
            o.WriteLine($"{r.Size,6} {path,-7} {r.SentPerSecond,11:N0} {r.PacketsPerSecond,11:N0} {r.Megabits,9:F1} {r.LossPercent,7:F1} {ratio,7}");

        private static void Ping(TextWriter o, string path, PingResult p) =>
            o.WriteLine($"{path,-7} {p.MedianMicroseconds,14:F1} {p.P99Microseconds,11:F1} {p.Replies,8}");

        public object ToJson() => new
        {
            cores = Environment.ProcessorCount,
            coresSharedWithForwarding = true,
            durationSeconds = Settings.Duration,
            throughput = Enumerable.Range(0, Kernel.Length).Select(i => new
            {
                size = Kernel[i].Size,
                kernel = Flood(Kernel[i]),
                tunnel = Flood(Tunnel[i]),
                ratio = Math.Round(Ratio(i), 4),
            }).ToArray(),
            latency = new
            {
                pings = Settings.Pings,
                kernel = Ping(KernelPing),
                tunnel = Ping(TunnelPing),
                addedMicroseconds = Math.Round(AddedMicroseconds, 2),
            },
            targets = new
            {
                packetRateRatio = new { target = TargetRateRatio, worst = Math.Round(WorstRatio, 4), pass = RatePass },
                addedLatencyMicroseconds = new { target = TargetAddedLatencyMicroseconds, measured = Math.Round(AddedMicroseconds, 2), pass = LatencyPass },
            },
            tunnelCounters = new { lmaEncapsulated = Encapsulated, magDecapsulated = Decapsulated, lma = AnchorErrors, mag = GatewayErrors },
        };

        private static object Flood(FloodResult r) => new
        {
            sentPerSecond = Math.Round(r.SentPerSecond),
            packetsPerSecond = Math.Round(r.PacketsPerSecond),
            megabitsPerSecond = Math.Round(r.Megabits, 2),
            lossPercent = Math.Round(r.LossPercent, 2),
        };

        private static object Ping(PingResult p) => new
        {
            replies = p.Replies,
            medianMicroseconds = Math.Round(p.MedianMicroseconds, 2),
            p99Microseconds = Math.Round(p.P99Microseconds, 2),
        };
    }
}
