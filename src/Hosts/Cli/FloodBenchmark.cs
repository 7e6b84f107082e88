// `pmip6 bench flood (--lma ADDRESS [--pid PID] [--lma-http HOST:PORT] | --against-self) --rate R
//  [--valid-share P] [--duration S] [--mags M] [--sessions N] [--spoof-legitimate]` (issue 10): legitimate
// MAGs keep refreshing their mobile nodes while bogus Mobility Header messages arrive at the LMA, R
// messages/s in all, P % of them legitimate (default 2 %). The bogus share, in equal parts: valid-looking
// PBUs from unauthorised sources, mutated packets (the fuzzer's mutations of every message kind) from
// those sources, and, from two decoy MAGs the LMA does authorise, PBUs with a forged authenticator, with
// an SPI the LMA does not know, and replays of one message. With --spoof-legitimate the decoys' share
// comes from the legitimate MAGs' own addresses instead (their per-peer buckets are then shared with the
// flood: a separate case, reported as such). With --against-self the bench starts our LMA in namespace
// pmipf-flood with signalling authenticated (a keys file with one key per MAG, decoys included).
//
// Phases: register --sessions MNs; refresh them for 10 s without flood (baseline); refresh them for
// --duration s under the flood; wait 10 s. Printed: the legitimate MAGs' success rate and PBU->PBA p50/p99
// in both phases, what the LMA refused by reason (its /metrics), its resident memory before, at the peak
// of and after the flood, and its CPU time per refused message (CPU above the baseline's rate divided by
// the refusals). Verdict against the issue's target: >= 99 % success, p99 < 50 ms, memory back within 5 % of
// what it was when the flood started (after the baseline: the legitimate load alone grows the heap to its working size).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;

namespace Pmip6Akka.Hosts.Cli;

/// <summary>The bench's options, checked; rates in messages per second.</summary>
public sealed record FloodOptions(Ipv6Address Lma, bool AgainstSelf, long Rate, double ValidShare, int DurationSeconds, int Mags, int Sessions,
    bool SpoofLegitimate, int? Pid, string? LmaHttp)
{
    /// <summary>--lma-settings: HOCON lines added to our LMA's `pmip6.lma { }` (e.g. admission limits to compare).</summary>
    public IReadOnlyList<string> LmaSettings { get; init; } = [];

    /// <summary>--kinds: which bogus kinds make up the flood (default all, in equal parts).</summary>
    public IReadOnlyList<string> Kinds { get; init; } = AllKinds;

    public static readonly string[] AllKinds = ["unauthorised", "mutated", "forged-mac", "unknown-spi", "replayed"];

    public const string Usage = "pmip6 bench flood (--lma ADDRESS [--pid PID] [--lma-http HOST:PORT] | --against-self) --rate R " +
                                "[--valid-share P (percent, default 2)] [--duration S (default 30)] [--mags M (default 4)] [--sessions N (default 1000)] [--spoof-legitimate] [--kinds unauthorised,mutated,forged-mac,unknown-spi,replayed (default all)] [--lma-settings KEY=VALUE[,KEY=VALUE...] (with --against-self)]";

    public long ValidRate => (long)Math.Round(Rate * ValidShare / 100);

    public long BogusRate => Rate - ValidRate;

    public static FloodOptions Parse(Arguments args)
    {
        var target = LmaTarget.Parse(args);
        var rate = args.Integer("rate", -1, 2, 10_000_000);
        if (rate < 0)
            throw new UsageException("missing option --rate");
        var shareText = args.String("valid-share") ?? "2";
        if (!double.TryParse(shareText.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var share) || !(share > 0 && share < 100))
            throw new UsageException($"--valid-share must be a percentage above 0 and below 100, got '{shareText}'");
        var duration = (int)args.Integer("duration", 30, 1, 86_400);
        var mags = (int)args.Integer("mags", 4, 1, 250);
        var sessions = (int)args.Integer("sessions", 1000, 1, 1_000_000);
        if (mags > sessions)
            throw new UsageException($"--mags ({mags}) cannot exceed --sessions ({sessions})");
        var spoof = args.Flag("spoof-legitimate");
        var lmaSettings = LmaTarget.ParseSettings(args.String("lma-settings"));
        if (lmaSettings.Count > 0 && !target.AgainstSelf)
            throw new UsageException("--lma-settings configures the LMA --against-self starts");
        var kindsText = args.String("kinds");
        var kinds = kindsText is null ? AllKinds : kindsText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (kinds.Length == 0 || kinds.Any(k => !AllKinds.Contains(k)))
            throw new UsageException($"--kinds takes a comma-separated list of {string.Join(", ", AllKinds)}, got '{kindsText}'");
        var options = new FloodOptions(target.Lma, target.AgainstSelf, rate, share, duration, mags, sessions, spoof, target.Pid, target.LmaHttp)
        {
            LmaSettings = lmaSettings,
            Kinds = kinds.Distinct().ToArray(),
        };
        if (options.ValidRate < 1)
            throw new UsageException($"--valid-share {shareText} of --rate {rate} is less than one legitimate PBU per second");
        return options;
    }
}

/// <summary>The issue's target for a flood, judged on measured figures (pure: the bench prints what it returns).</summary>
public static class FloodVerdict
{
    public const double MinSuccessPercent = 99;
    public const double MaxP99Milliseconds = 50;
    public const double MaxMemoryGrowthPercent = 5;

    /// <summary>Every target missed, one line each; empty when all were met. A figure that could not be measured is a miss.</summary>
    public static IReadOnlyList<string> Misses(long sent, long accepted, double p99Milliseconds, long? residentBefore, long? residentAfter)
    {
        var misses = new List<string>();
        var success = sent > 0 ? 100.0 * accepted / sent : 0;
        if (sent == 0)
            misses.Add("no legitimate PBU was sent");
        else if (success < MinSuccessPercent)
            misses.Add($"legitimate success {success:0.00} % < {MinSuccessPercent} %");
        if (p99Milliseconds >= MaxP99Milliseconds)
            misses.Add($"legitimate p99 {p99Milliseconds:0.0} ms >= {MaxP99Milliseconds} ms");
        if (residentBefore is not { } before || residentAfter is not { } after)
            misses.Add("resident memory not measured (give --pid, or use --against-self)");
        else if (after > before * (1 + MaxMemoryGrowthPercent / 100))
            misses.Add($"resident memory after the flood {after / 1048576.0:0.0} MiB is {100.0 * (after - before) / before:0.0} % above the start ({before / 1048576.0:0.0} MiB) > {MaxMemoryGrowthPercent} %");
        return misses;
    }
}

public static class FloodBenchmark
{
    public const string Namespace = "pmipf-flood";
    private static readonly Ipv6Address FirstMag = Ipv6Address.Parse("2001:db8:1::100");
    private static readonly Ipv6Address FirstDecoy = Ipv6Address.Parse("2001:db8:77::1");
    private static readonly Ipv6Address FirstStranger = Ipv6Address.Parse("2001:db8:66::1");
    private const int Decoys = 2;
    private const int Strangers = 16;
    private const uint FirstSpi = 4096;
    private const uint UnknownSpi = 0xDEAD00;
    private static readonly TimeSpan Baseline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    private enum Kind { UnauthorisedPbu, Mutated, ForgedMac, UnknownSpi, Replayed }

    public static int Run(Arguments args, TextWriter stdout)
    {
        var o = FloodOptions.Parse(args);
        args.EnsureAllUsed();
        var env = new DaemonsUnderTest();
        return BenchEnvironment.RunGuarded("bench flood", env, cancel => RunBench(o, env, stdout, cancel));
    }

    private static Ipv6Address[] Range(Ipv6Address first, int count) =>
        Enumerable.Range(0, count).Select(i => new Ipv6Address(first.Value + (UInt128)i)).ToArray();

    private static int RunBench(FloodOptions o, DaemonsUnderTest env, TextWriter stdout, CancellationToken cancel)
    {
        var mags = Range(FirstMag, o.Mags);
        var decoys = Range(FirstDecoy, Decoys);
        var strangers = Range(FirstStranger, Strangers);
        // One key per authorised peer, the LMA's end and ours (null: not authenticated, an external LMA).
        Dictionary<Ipv6Address, (uint Spi, byte[] Secret)>? keys = null;
        string? ns = null;
        int? pid = o.Pid;
        var http = o.LmaHttp ?? (o.AgainstSelf ? $"127.0.0.1:{SelfLma.HttpPort}" : null);
        if (o.AgainstSelf)
        {
            keys = mags.Concat(decoys).Select((peer, i) => (peer, (FirstSpi + (uint)i, RandomNumberGenerator.GetBytes(32))))
                .ToDictionary(k => k.peer, k => k.Item2);
            var keysFile = env.WriteFile("keys.conf", "pmip6.keys = [\n" + string.Concat(keys.Select(k =>
                $"  {{ spi = {k.Value.Spi}, peer = \"{k.Key}\", algorithm = \"hmac-sha256\", secret = \"hex:{Convert.ToHexString(k.Value.Secret)}\" }}\n")) + "]\n", ownerOnly: true);
            ns = env.CreateNamespace(Namespace);
            env.AddAddresses(ns, [o.Lma, .. mags, .. decoys, .. strangers]);
            pid = SelfLma.Start(env, ns, o.Lma, [.. mags, .. decoys],
                string.Join("\n", [$"security {{ keys-file = \"{keysFile}\" }}", .. o.LmaSettings]), cancel);
        }
        else
        {
            env.AddAddresses(null, [.. mags, .. decoys, .. strangers]);
        }

        MobilityHeaderSocket Open(Ipv6Address address) => env.Track(BenchEnvironment.InNamespace(ns, () =>
            MobilityHeaderSocket.TryOpen(new MobilityHeaderSocketOptions { LocalAddress = address, ReceiveTimeout = TimeSpan.FromMilliseconds(100) },
                out var socket, out var error) ? socket : throw new BenchFailure($"cannot open a Mobility Header socket on {address}: {error.Message}")));
        var magSockets = mags.Select(Open).ToArray();
        var decoySockets = decoys.Select(Open).ToArray();
        var strangerSockets = strangers.Select(Open).ToArray();

        var signers = mags.Select(m => Signer(keys, m, o.Lma)).ToArray();
        var settings = new SignalingBenchmark.BenchSettings(o.Lma, o.Sessions, mags, o.ValidRate, o.DurationSeconds, Window: 1000, o.AgainstSelf, o.LmaHttp);
        using var load = new SignalingBenchmark.LoadGenerator(settings, magSockets,
            signers.All(s => s is null) ? null : (mag, buffer, length) => Sign(signers[mag], buffer, length, mags[mag], o.Lma));
        load.StartReceivers();

        stdout.WriteLine($"pmip6 bench flood: {o.Rate:N0} messages/s at {(o.AgainstSelf ? $"our LMA {o.Lma} in namespace {Namespace} (signalling authenticated)" : $"LMA {o.Lma}")}: " +
                         $"{o.ValidRate:N0}/s legitimate PBUs from {o.Mags} MAGs ({o.Sessions} MNs), {o.BogusRate:N0}/s bogus; " +
                         $"{Environment.ProcessorCount} cores shared by the LMA and the bench");
        var registration = load.RunPhase(refresh: false, cancel);
        if (registration.Accepted < o.Sessions)
            throw new BenchFailure($"only {registration.Accepted} of {o.Sessions} registrations accepted before the flood ({registration.StatusText}; lost {registration.Lost})");

        // Bogus pool built (and its replays' originals delivered once) before the start sample.
        var flood = new BogusFlood(o, keys, o.SpoofLegitimate ? mags : decoys, o.SpoofLegitimate ? magSockets : decoySockets, strangerSockets, o.Lma);
        Thread.Sleep(1500);

        var start = Sample(ns, http, pid, o.Lma);
        var baseline = load.RunPhase(refresh: true, cancel, Baseline);
        var beforeFlood = Sample(ns, http, pid, o.Lma);

        var peak = new PeakSampler(pid, ns, http, o.Lma);
        flood.Start();
        var underFlood = load.RunPhase(refresh: true, cancel, TimeSpan.FromSeconds(o.DurationSeconds));
        var floodSent = flood.Stop();
        var floodEnd = Sample(ns, http, pid, o.Lma);
        peak.Stop();
        load.StopReceivers();
        Thread.Sleep(Settle);
        var after = Sample(ns, http, pid, o.Lma);

        var report = new FloodReport(o, baseline, underFlood, floodSent, flood.SendErrors, start, beforeFlood, floodEnd, after, peak.MaxResident,
            peak.MaxQueue, peak.MaxSocketQueue, flood.Elapsed);
        report.Print(stdout);
        var misses = FloodVerdict.Misses(underFlood.Sent, underFlood.Accepted, SignalingBenchmark.PhaseResult.Ms(underFlood.Latency.Percentile(0.99)),
            beforeFlood.Process?.ResidentBytes, after.Process?.ResidentBytes);
        stdout.WriteLine(misses.Count == 0
            ? "verdict: target met (legitimate success >= 99 %, p99 < 50 ms, memory back within 5 %)"
            : "verdict: target NOT met: " + string.Join("; ", misses));
        return misses.Count == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
    }

    // ---- authentication as a MAG would add it -----------------------------------------------------

    private static SignallingAuthenticator? Signer(Dictionary<Ipv6Address, (uint Spi, byte[] Secret)>? keys, Ipv6Address mag, Ipv6Address lma, uint? spi = null) =>
        keys?.GetValueOrDefault(mag) is { Secret: not null } key
            ? new SignallingAuthenticator(new KeyRing([new SecurityAssociation(spi ?? key.Spi, lma, AuthenticationAlgorithm.HmacSha256, [.. key.Secret])]),
                AuthenticationSettings.Default)
            : null;

    internal static int Sign(SignallingAuthenticator? signer, Span<byte> buffer, int length, Ipv6Address source, Ipv6Address lma)
    {
        if (signer is null)
            return length;
        Span<byte> message = stackalloc byte[length];
        buffer[..length].CopyTo(message);
        return signer.Protect(message, source, lma, DateTimeOffset.UtcNow, buffer, out var written, out _) == ProtectOutcome.Protected ? written : -1;
    }

    // ---- the bogus share -----------------------------------------------------------------------------

    /// <summary>Pre-built bogus messages, each with the socket it leaves from, sent round-robin at the bogus rate by two threads.</summary>
    private sealed class BogusFlood
    {
        private const int PerKind = 256;
        private readonly FloodOptions _o;
        private readonly List<(Kind Kind, byte[] Message, MobilityHeaderSocket Socket)> _pool = [];
        private readonly long[] _sent = new long[Enum.GetValues<Kind>().Length];
        private readonly List<Thread> _threads = [];
        private volatile bool _stop;
        private long _sendErrors;
        private readonly Stopwatch _clock = new();

        public BogusFlood(FloodOptions o, Dictionary<Ipv6Address, (uint Spi, byte[] Secret)>? keys, Ipv6Address[] keyed, MobilityHeaderSocket[] keyedSockets,
            MobilityHeaderSocket[] strangers, Ipv6Address lma)
        {
            _o = o;
            var buffer = new byte[PacketMutator.MaxPacketLength];
            var corpus = WireSamples.All().Select(s => s.Packet).Where(p => p.Length > Ipv6Packet.HeaderLength && p[6] == 135)
                .Select(p => p[Ipv6Packet.HeaderLength..]).ToList();
            var mutator = new PacketMutator(corpus, seed: 5213);
            for (var k = 0; k < PerKind; k++)
            {
                var session = 10_000_000 + k;
                var stranger = strangers[k % strangers.Length];
                var n = SignalingBenchmark.LoadGenerator.WritePbu(buffer, session, (ushort)k, default, refresh: false);
                _pool.Add((Kind.UnauthorisedPbu, buffer[..n], stranger));
                n = mutator.Next(buffer, out _);
                _pool.Add((Kind.Mutated, buffer[..n], stranger));

                var d = k % keyed.Length;
                var source = keyed[d];
                n = SignalingBenchmark.LoadGenerator.WritePbu(buffer, 20_000_000 + k, (ushort)k, default, refresh: false);
                var forged = Sign(Signer(keys, source, lma), buffer, n, source, lma);
                if (forged > 0)
                    buffer[forged - 1 - k % 32] ^= 0x5A; // the authenticator is the message's last 32 octets
                _pool.Add((Kind.ForgedMac, buffer[..(forged > 0 ? forged : n)], keyedSockets[d]));

                n = SignalingBenchmark.LoadGenerator.WritePbu(buffer, 30_000_000 + k, (ushort)k, default, refresh: false);
                var unknown = Sign(Signer(keys, source, lma, UnknownSpi), buffer, n, source, lma);
                _pool.Add((Kind.UnknownSpi, buffer[..(unknown > 0 ? unknown : n)], keyedSockets[d]));

                // A replay: a copy of a message the LMA has already seen (delivered once now, before the start sample).
                n = SignalingBenchmark.LoadGenerator.WritePbu(buffer, 40_000_000 + k, (ushort)k, default, refresh: false);
                var original = Sign(Signer(keys, source, lma), buffer, n, source, lma);
                var replay = buffer[..(original > 0 ? original : n)];
                keyedSockets[d].TrySend(replay, lma, null, out _);
                _pool.Add((Kind.Replayed, replay, keyedSockets[d]));
            }
            _pool.RemoveAll(p => !o.Kinds.Contains(FloodOptions.AllKinds[(int)p.Kind]));
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        public long SendErrors => Interlocked.Read(ref _sendErrors);

        public void Start()
        {
            _clock.Start();
            const int threads = 2;
            for (var t = 0; t < threads; t++)
            {
                var offset = t;
                var thread = new Thread(() => Send(offset, threads)) { IsBackground = true, Name = $"flood-{t}" };
                _threads.Add(thread);
                thread.Start();
            }
        }

        /// <summary>Stops sending; what was sent, by kind.</summary>
        public IReadOnlyDictionary<string, long> Stop()
        {
            _stop = true;
            foreach (var thread in _threads)
                thread.Join();
            _clock.Stop();
            return Enum.GetValues<Kind>().ToDictionary(KindName, k => Interlocked.Read(ref _sent[(int)k]));
        }

        private void Send(int offset, int threads)
        {
            var rate = (double)_o.BogusRate / threads;
            var clock = Stopwatch.StartNew();
            long sent = 0;
            var cursor = offset;
            while (!_stop)
            {
                var allowed = (long)(rate * clock.Elapsed.TotalSeconds) - sent;
                if (allowed <= 0)
                {
                    Thread.Sleep(1);
                    continue;
                }
                for (var b = 0; b < Math.Min(allowed, 256); b++)
                {
                    var (kind, message, socket) = _pool[cursor];
                    cursor = (cursor + threads) % _pool.Count;
                    if (socket.TrySend(message, _o.Lma, null, out _))
                        Interlocked.Increment(ref _sent[(int)kind]);
                    else
                        Interlocked.Increment(ref _sendErrors);
                    sent++;
                }
            }
        }
    }

    private static string KindName(Kind kind) => kind switch
    {
        Kind.UnauthorisedPbu => "unauthorised-source PBU",
        Kind.Mutated => "mutated",
        Kind.ForgedMac => "forged MAC",
        Kind.UnknownSpi => "unknown SPI",
        _ => "replayed",
    };

    // ---- the LMA's side ------------------------------------------------------------------------------

    private sealed record LmaSample(MetricsScrape Metrics, ProcessSample? Process, DateTimeOffset At)
    {
        public double? ReceiveThreadCpu { get; init; }
        public long? SocketDrops { get; init; }
    }

    private static double ReceiveCpu(LmaSample s) => s.ReceiveThreadCpu ?? 0;

    private static long Drops(LmaSample s) => s.SocketDrops ?? 0;

    private static LmaSample Sample(string? ns, string? http, int? pid, Ipv6Address? lma = null)
    {
        var metrics = MetricsScrape.Empty;
        if (http is not null)
        {
            var ep = IPEndPoint.Parse(http);
            metrics = MetricsScrape.Parse(DaemonsUnderTest.Http(ns, ep.Port, "GET", "/metrics", TimeSpan.FromSeconds(30), ep.Address));
        }
        return new LmaSample(metrics, pid is { } id ? ProcessSample.Read(id) : null, DateTimeOffset.UtcNow)
        {
            ReceiveThreadCpu = pid is { } p ? ProcessSample.ThreadCpuSeconds(p, "mh-receive") : null,
            SocketDrops = pid is { } q && lma is { } address ? ProcessSample.RawSocket(q, address, 135)?.Drops : null,
        };
    }

    /// <summary>The LMA's resident memory every 200 ms while the flood runs; the highest seen.</summary>
    private sealed class PeakSampler
    {
        private readonly Thread? _thread;
        private volatile bool _stop;
        private long _max;

        private long _maxQueue;

        private long _maxSocketQueue;

        public PeakSampler(int? pid, string? ns, string? http, Ipv6Address lma)
        {
            if (pid is null && http is null)
                return;
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    if (pid is { } id && ProcessSample.Read(id).ResidentBytes is { } rss && rss > _max)
                        _max = rss;
                    if (pid is { } p && ProcessSample.RawSocket(p, lma, 135) is { } socket)
                        _maxSocketQueue = Math.Max(_maxSocketQueue, socket.QueuedBytes);
                    if (http is not null)
                        _maxQueue = Math.Max(_maxQueue, (long)Sample(ns, http, null).Metrics.Get("pmip6_lma_mh_receive_queue_depth"));
                    Thread.Sleep(200);
                }
            }) { IsBackground = true, Name = "flood-peaks" };
            _thread.Start();
        }

        /// <summary>Read after <see cref="Stop"/>.</summary>
        public long? MaxResident => _max > 0 ? _max : null;

        public long MaxQueue => _maxQueue;

        public long MaxSocketQueue => _maxSocketQueue;

        public void Stop()
        {
            _stop = true;
            _thread?.Join();
        }
    }

    private sealed record FloodReport(FloodOptions O, SignalingBenchmark.PhaseResult Baseline, SignalingBenchmark.PhaseResult UnderFlood,
        IReadOnlyDictionary<string, long> BogusSent, long BogusSendErrors, LmaSample Start, LmaSample BeforeFlood, LmaSample FloodEnd, LmaSample After,
        long? PeakResident, long PeakQueue, long PeakSocketQueue, TimeSpan FloodTime)
    {
        private static readonly string[] RefusalCounters =
        [
            "pmip6_lma_mh_rate_limited_total", "pmip6_lma_mh_receive_queue_dropped_total", "pmip6_lma_mh_auth_rejected_total",
            "pmip6_lma_mh_decode_errors_total", "pmip6_lma_mh_ignored_total",
        ];

        public void Print(TextWriter o)
        {
            Phase(o, "no flood", Baseline);
            Phase(o, "under flood", UnderFlood);
            var total = BogusSent.Values.Sum();
            o.WriteLine($"bogus sent: {total:N0} in {FloodTime.TotalSeconds:0.0} s ({total / Math.Max(FloodTime.TotalSeconds, 1e-9):N0}/s): " +
                        string.Join(", ", BogusSent.Select(k => $"{k.Key} {k.Value:N0}")) + (BogusSendErrors > 0 ? $"; send errors {BogusSendErrors:N0}" : "") +
                        (O.SpoofLegitimate ? " (keyed kinds from the legitimate MAGs' own addresses)" : ""));
            long refused = 0;
            foreach (var name in RefusalCounters)
            {
                var before = BeforeFlood.Metrics.ByLabel(name);
                var delta = After.Metrics.ByLabel(name).Select(s => (s.Key, Value: s.Value - before.GetValueOrDefault(s.Key))).Where(s => s.Value > 0).ToList();
                if (delta.Count == 0)
                    continue;
                refused += (long)delta.Sum(d => d.Value);
                o.WriteLine($"LMA {name["pmip6_lma_".Length..]}: " + string.Join(", ", delta.Select(d => $"{(d.Key.Length == 0 ? "" : d.Key + " ")}{d.Value:N0}")));
            }
            var answered = After.Metrics.Get("pmip6_lma_pba_sent_total", "status", "154") - BeforeFlood.Metrics.Get("pmip6_lma_pba_sent_total", "status", "154");
            if (answered > 0)
            {
                refused += (long)answered;
                o.WriteLine($"LMA answered {answered:N0} PBUs of unauthorised sources with 154 (MAG not authorised)");
            }
            o.WriteLine($"LMA receive queue (guard + protocol handler mailboxes): at most {PeakQueue:N0} messages waiting; its socket's receive queue: at most " +
                        $"{PeakSocketQueue / 1024.0:N0} KiB (sampled every 200 ms); kernel drops on its socket {Drops(After) - Drops(BeforeFlood):N0}");
            if (ReceiveCpu(FloodEnd) - ReceiveCpu(BeforeFlood) is var receive and > 0)
                o.WriteLine($"LMA receive thread: {receive / (FloodEnd.At - BeforeFlood.At).TotalSeconds:0.00} cores under the flood ({receive / (BogusSent.Values.Sum() + UnderFlood.Sent) * 1e6:0.00} µs per message received)");
            var received = After.Metrics.Get("pmip6_lma_mh_received_total") - BeforeFlood.Metrics.Get("pmip6_lma_mh_received_total");
            if (received > 0)
                o.WriteLine($"LMA received {received:N0} messages off its socket during the flood ({(total > 0 ? 100.0 * received / (total + UnderFlood.Sent) : 0):0.0} % of what was sent; the rest was dropped by the kernel)");
            if (Start.Process is { } start && After.Process is { } after)
            {
                o.WriteLine($"LMA resident memory: start {Mib(start.ResidentBytes)}, before the flood {Mib(BeforeFlood.Process?.ResidentBytes)}, " +
                            $"peak during {Mib(PeakResident)}, end of flood {Mib(FloodEnd.Process?.ResidentBytes)}, {Settle.TotalSeconds:0} s after {Mib(after.ResidentBytes)}" +
                            (BeforeFlood.Process?.ResidentBytes is { } s && after.ResidentBytes is { } a ? $" ({100.0 * (a - s) / s:+0.0;-0.0} % from before the flood)" : ""));
                if (Baseline.Elapsed.TotalSeconds > 0 && start.CpuSeconds is { } c0 && BeforeFlood.Process?.CpuSeconds is { } c1 && FloodEnd.Process?.CpuSeconds is { } c2)
                {
                    var baselineRate = (c1 - c0) / Baseline.Elapsed.TotalSeconds;
                    var floodSeconds = (FloodEnd.At - BeforeFlood.At).TotalSeconds;
                    var extra = (c2 - c1) - baselineRate * floodSeconds;
                    o.WriteLine($"LMA CPU: {baselineRate:0.00} cores without flood, {(c2 - c1) / floodSeconds:0.00} cores under it" +
                                (refused > 0 ? $"; {extra / refused * 1e6:0.0} µs per refused message ({extra:0.0} CPU s above the baseline / {refused:N0} refused)" : ""));
                }
            }
        }

        private static void Phase(TextWriter o, string name, SignalingBenchmark.PhaseResult p)
        {
            var success = p.Sent > 0 ? 100.0 * p.Accepted / p.Sent : 0;
            o.WriteLine($"legitimate, {name}: {p.Sent:N0} PBUs in {p.Elapsed.TotalSeconds:0.0} s, {success:0.00} % accepted; PBU->PBA p50 " +
                        $"{Ms(p.Latency.Percentile(0.5))} ms, p99 {Ms(p.Latency.Percentile(0.99))} ms, max {Ms(p.Latency.Max)} ms; status {p.StatusText}; lost {p.Lost}");
        }

        private static string Ms(long micros) => SignalingBenchmark.PhaseResult.Ms(micros).ToString("0.0", CultureInfo.InvariantCulture);

        private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:0.0} MiB" : "?";
    }
}
