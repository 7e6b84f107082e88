// `pmip6 bench soak (--against-self [--lma-settings K=V,...] | --lma ADDRESS --pid PID [--lma-http HOST:PORT]
//  [--store FILE]) [--duration D (default 1h)] [--rate R (default 2500)] [--population N] [--interval S]`
// (issue 10): a steady mix against an LMA for a long time — a fixed population of mobile nodes over two
// emulated MAGs, each node in turn registered, refreshed (70 %), handed over to the other MAG (20 %; HI 3,
// the previous MAG answers the LMA's revocation) or de-registered (10 %) and later registered again — at
// R PBUs/s (default half of the ~5,000/s this machine sustains). Every --interval seconds it prints the
// LMA's resident memory, open descriptors, journal size (SQLite file and its -wal) and bindings, and at
// the end a verdict comparing the second quarter (the first is the warm-up) and the last: memory, descriptors and bindings may not
// grow; the journal may grow but must level off (the buckets snapshot and delete what is below).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

public sealed record SoakOptions(LmaTarget Target, TimeSpan Duration, long Rate, int Population, TimeSpan Interval, string? Store)
{
    public const string Usage = "pmip6 bench soak (--against-self [--lma-settings KEY=VALUE,...] | --lma ADDRESS --pid PID [--lma-http HOST:PORT] [--store FILE]) " +
                                "[--duration D (600, 10m, 1h; default 1h)] [--rate R (default 2500)] [--population N (default 20000)] [--interval S (default 30)]";

    public IReadOnlyList<string> LmaSettings { get; init; } = [];

    public static SoakOptions Parse(Arguments args)
    {
        var target = LmaTarget.Parse(args);
        var duration = LmaTarget.ParseDuration("duration", args.String("duration") ?? "1h", TimeSpan.FromDays(7));
        var rate = args.Integer("rate", 2500, 1, 1_000_000);
        var population = (int)args.Integer("population", 20_000, 2, 5_000_000);
        var interval = LmaTarget.ParseDuration("interval", args.String("interval") ?? "30", TimeSpan.FromHours(1));
        if (interval * 4 > duration)
            throw new UsageException($"--interval ({interval.TotalSeconds:0} s) must leave at least four samples under load in --duration ({duration.TotalSeconds:0} s)");
        var store = args.String("store");
        if (store is not null && target.AgainstSelf)
            throw new UsageException("--store is for an external LMA; --against-self knows its store");
        if (!target.AgainstSelf && target.Pid is null)
            throw new UsageException("--pid is required with --lma: the soak watches the LMA's process (memory, descriptors)");
        var settings = LmaTarget.ParseSettings(args.String("lma-settings"));
        if (settings.Count > 0 && !target.AgainstSelf)
            throw new UsageException("--lma-settings configures the LMA --against-self starts");
        return new SoakOptions(target, duration, rate, population, interval, store) { LmaSettings = settings };
    }
}

/// <summary>One line of the soak: the LMA's state at <see cref="Elapsed"/>.</summary>
public sealed record SoakSample(TimeSpan Elapsed, long? ResidentBytes, int? OpenFiles, long? StoreBytes, long? WalBytes, long? Bindings, long Operations)
{
    /// <summary>The LMA's managed heap at its last GC (our LMA's /metrics gc_heap_bytes): RSS less the garbage the GC has not collected yet.</summary>
    public long? HeapBytes { get; init; }
}

/// <summary>First quarter against last quarter of the samples (pure: the bench prints what it returns).</summary>
public static class SoakVerdict
{
    /// <summary>
    /// Resident memory may rise this much from the second quarter's mean to the last's (GC heap sizing, caches). The first quarter
    /// is the warm-up — the heap growing to its working size, the journal's pages, thread pools — and is shown, not judged: a 1 h soak
    /// (2026-11-26) rose 158 → ~300 MiB in its first quarter and then stayed at 311-322 MiB for 40 minutes, which a first-to-last
    /// comparison called growth. A leak keeps rising after the warm-up and still fails.
    /// </summary>
    public const double MaxResidentGrowthPercent = 10;
    public const int MaxOpenFilesGrowth = 2;
    public const double MaxBindingsGrowthPercent = 5;

    /// <summary>One line per figure, and whether nothing grew that may not.</summary>
    public static (bool Passed, IReadOnlyList<string> Lines) Judge(IReadOnlyList<SoakSample> all)
    {
        // The sample taken before the load started says nothing about growth under it.
        var samples = all.Where(s => s.Operations > 0).ToList();
        if (samples.Count < 4)
            return (false, [$"only {samples.Count} samples: at least four are needed to compare quarters"]);
        var quarter = samples.Count / 4;
        var warmup = samples.Take(quarter).ToList();
        var baseline = samples.Skip(quarter).Take(quarter).ToList(); // the second quarter, after the warm-up
        var last = samples.Skip(samples.Count - quarter).ToList();
        var lines = new List<string>();
        var passed = true;

        void Bounded(string name, Func<SoakSample, double?> figure, Func<double, double, bool> grew, Func<double, string> show, bool floor = false)
        {
            var a = baseline.Select(figure).Where(v => v is not null).Select(v => v!.Value).ToList();
            var b = last.Select(figure).Where(v => v is not null).Select(v => v!.Value).ToList();
            if (a.Count == 0 || b.Count == 0)
            {
                lines.Add($"{name}: not measured");
                passed = false;
                return;
            }
            var (before, after) = floor ? (a.Min(), b.Min()) : (a.Average(), b.Average());
            var bad = grew(before, after);
            passed &= !bad;
            var w = warmup.Select(figure).Where(v => v is not null).Select(v => v!.Value).ToList();
            var shownWarmup = w.Count == 0 ? "" : $" (warm-up quarter {(floor ? "at least " : "")}{show(floor ? w.Min() : w.Average())})";
            lines.Add($"{name}: second quarter {(floor ? "at least " : "")}{show(before)}, last quarter {(floor ? "at least " : "")}{show(after)}{shownWarmup}: " +
                      (bad ? "GREW" : "bounded"));
        }

        Bounded("resident memory", s => s.ResidentBytes, (a, b) => b > a * (1 + MaxResidentGrowthPercent / 100), v => $"{v / 1048576:0.0} MiB");
        if (samples.Any(s => s.HeapBytes is not null))
            lines.Add($"managed heap at the last GC (not judged; RSS follows the GC's cycles): second quarter {baseline.Average(s => s.HeapBytes ?? 0) / 1048576:0.0} MiB, " +
                      $"last quarter {last.Average(s => s.HeapBytes ?? 0) / 1048576:0.0} MiB");
        // Descriptors by each quarter's lowest count: a leak raises the floor, a scrape's or a journal write's transient socket does not.
        Bounded("open descriptors", s => s.OpenFiles, (a, b) => b > a + MaxOpenFilesGrowth, v => $"{v:0.#}", floor: true);
        Bounded("bindings", s => s.Bindings, (a, b) => b > a * (1 + MaxBindingsGrowthPercent / 100), v => $"{v:N0}");

        // The journal may grow, but must level off: its growth over the last quarter, per operation, well below the first's.
        var journal = samples.Select(s => s.StoreBytes is { } db ? db + (s.WalBytes ?? 0) : (long?)null).ToList();
        if (journal.Any(j => j is null))
        {
            lines.Add("journal: not measured (give --store)");
            return (passed, lines);
        }
        double PerOperation(int from, int to) =>
            samples[to].Operations > samples[from].Operations ? (double)(journal[to]!.Value - journal[from]!.Value) / (samples[to].Operations - samples[from].Operations) : 0;
        var early = PerOperation(0, quarter);
        var late = PerOperation(samples.Count - 1 - quarter, samples.Count - 1);
        var levelled = late <= Math.Max(early / 2, 1.0);
        passed &= levelled;
        lines.Add($"journal (SQLite file + WAL): {journal[0]!.Value / 1048576.0:0.0} MiB -> {journal[^1]!.Value / 1048576.0:0.0} MiB; " +
                  $"{early:0.0} bytes per operation in the first quarter, {late:0.0} in the last: {(levelled ? "levelling off" : "STILL GROWING")}" +
                  $" (WAL {samples[^1].WalBytes / 1048576.0:0.0} MiB)");
        return (passed, lines);
    }
}

public static unsafe class SoakBenchmark
{
    public const string Namespace = "pmipf-soak";
    private static readonly Ipv6Address[] Mags = [Ipv6Address.Parse("2001:db8:1::100"), Ipv6Address.Parse("2001:db8:1::101")];
    private static readonly TimeSpan LossTimeout = TimeSpan.FromSeconds(5);

    public static int Run(Arguments args, TextWriter stdout)
    {
        var o = SoakOptions.Parse(args);
        args.EnsureAllUsed();
        var env = new DaemonsUnderTest();
        return BenchEnvironment.RunGuarded("bench soak", env, cancel => RunSoak(o, env, stdout, cancel));
    }

    private static int RunSoak(SoakOptions o, DaemonsUnderTest env, TextWriter stdout, CancellationToken cancel)
    {
        string? ns = null;
        var pid = o.Target.Pid;
        var store = o.Store;
        var http = o.Target.LmaHttp;
        if (o.Target.AgainstSelf)
        {
            ns = env.CreateNamespace(Namespace);
            env.AddAddresses(ns, [o.Target.Lma, .. Mags]);
            pid = SelfLma.Start(env, ns, o.Target.Lma, Mags, string.Join("\n", o.LmaSettings), cancel);
            store = Path.Combine(env.Directory, SelfLma.StoreFile);
            http = $"127.0.0.1:{SelfLma.HttpPort}";
        }
        else
        {
            env.AddAddresses(null, Mags);
        }
        var sockets = Mags.Select(mag => env.Track(BenchEnvironment.InNamespace(ns, () =>
            MobilityHeaderSocket.TryOpen(new MobilityHeaderSocketOptions { LocalAddress = mag, ReceiveTimeout = TimeSpan.FromMilliseconds(100) },
                out var socket, out var error) ? socket : throw new BenchFailure($"cannot open a Mobility Header socket on {mag}: {error.Message}")))).ToArray();

        stdout.WriteLine($"pmip6 bench soak: {o.Rate:N0} PBUs/s for {o.Duration.TotalMinutes:0.#} min against {(o.Target.AgainstSelf ? $"our LMA {o.Target.Lma} in namespace {Namespace}" : $"LMA {o.Target.Lma} (pid {pid})")}: " +
                         $"{o.Population:N0} mobile nodes over 2 MAGs, registered, refreshed (70 %), handed over (20 %), de-registered (10 %)" +
                         (o.LmaSettings.Count > 0 ? $"; LMA settings: {string.Join(", ", o.LmaSettings)}" : ""));
        stdout.WriteLine($"{"time",8} {"resident",10} {"heap",10} {"fds",5} {"journal",10} {"wal",9} {"bindings",9} {"PBUs/s",7} {"accepted",9} {"rejected",9} {"lost",6}");
        stdout.Flush();

        var driver = new Driver(o, sockets);
        driver.Start();
        var samples = new List<SoakSample>();
        var clock = Stopwatch.StartNew();
        long previousOps = 0;
        var previousAt = TimeSpan.Zero;
        while (!cancel.IsCancellationRequested)
        {
            var sample = Sample(ns, http, pid, store, clock.Elapsed, driver.Sent);
            samples.Add(sample);
            var rate = (sample.Operations - previousOps) / Math.Max((sample.Elapsed - previousAt).TotalSeconds, 1e-9);
            (previousOps, previousAt) = (sample.Operations, sample.Elapsed);
            stdout.WriteLine($"{sample.Elapsed.TotalSeconds,7:0}s {Mib(sample.ResidentBytes),10} {Mib(sample.HeapBytes),10} {sample.OpenFiles,5} {Mib(sample.StoreBytes),10} {Mib(sample.WalBytes),9} " +
                             $"{sample.Bindings,9:N0} {rate,7:0} {driver.Accepted,9:N0} {driver.Rejected,9:N0} {driver.Lost,6:N0}");
            stdout.Flush();
            if (clock.Elapsed >= o.Duration)
                break;
            var next = TimeSpan.FromTicks(o.Interval.Ticks * samples.Count);
            while (clock.Elapsed < next && clock.Elapsed < o.Duration && !cancel.IsCancellationRequested)
                Thread.Sleep(100);
            if (pid is { } id && !File.Exists($"/proc/{id}/status"))
                throw new BenchFailure($"the LMA (pid {id}) is gone after {clock.Elapsed.TotalSeconds:0} s; its last lines:\n  " + string.Join("\n  ", env.LastLines("lma")));
        }
        driver.Stop();
        stdout.WriteLine($"operations: {driver.Sent:N0} PBUs sent ({string.Join(", ", driver.ByOperation.Select(kv => $"{kv.Key} {kv.Value:N0}"))}); " +
                         $"accepted {driver.Accepted:N0}, rejected {driver.Rejected:N0} ({driver.StatusText}), lost {driver.Lost:N0}; BRIs answered {driver.Revocations:N0}");
        var (passed, lines) = SoakVerdict.Judge(samples);
        foreach (var line in lines)
            stdout.WriteLine(line);
        stdout.WriteLine($"verdict: {(passed ? "nothing grew that may not" : "FAILED: something grew that may not (above)")}");
        return passed ? CommandLine.ExitOk : CommandLine.ExitFailure;
    }

    private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:0.0} MiB" : "?";

    private static SoakSample Sample(string? ns, string? http, int? pid, string? store, TimeSpan elapsed, long operations)
    {
        long? bindings = null, heap = null;
        if (http is not null)
        {
            var ep = IPEndPoint.Parse(http);
            var text = DaemonsUnderTest.Http(ns, ep.Port, "GET", "/metrics", TimeSpan.FromSeconds(30), ep.Address);
            if (text is not null)
            {
                var metrics = MetricsScrape.Parse(text);
                bindings = (long)metrics.Get("pmip6_lma_bindings");
                heap = metrics.Get("pmip6_lma_gc_heap_bytes") is > 0 and var h ? (long)h : null;
            }
        }
        var process = pid is { } id ? ProcessSample.Read(id) : null;
        return new SoakSample(elapsed, process?.ResidentBytes, process?.OpenFiles, FileSize(store), FileSize(store is null ? null : store + "-wal"), bindings, operations)
        {
            HeapBytes = heap,
        };
    }

    private static long? FileSize(string? path) => path is not null && File.Exists(path) ? new FileInfo(path).Length : null;

    // ---- the load ----------------------------------------------------------------------------------

    private enum Op : byte { None, Register, Refresh, Handover, Deregister }

    /// <summary>One sender at the rate, one receiver for both MAGs; each MN has at most one PBU outstanding.</summary>
    private sealed class Driver(SoakOptions o, MobilityHeaderSocket[] sockets)
    {
        private readonly sbyte[] _at = Enumerable.Repeat((sbyte)-1, o.Population).ToArray();
        private readonly Ipv6Prefix[] _prefix = new Ipv6Prefix[o.Population];
        private readonly ushort[] _sequence = new ushort[o.Population];
        private readonly long[] _sentAt = new long[o.Population];
        private readonly int[] _pending = new int[o.Population]; // (op << 8) | mag, 0: none
        private readonly long[] _byOp = new long[5];
        private readonly long[] _status = new long[256];
        private readonly Random _random = new(5213);
        private readonly List<Thread> _threads = [];
        private volatile bool _stop;
        private long _sent, _lost, _revocations;

        public long Sent => Interlocked.Read(ref _sent);
        public long Accepted => Enumerable.Range(0, 128).Sum(k => Interlocked.Read(ref _status[k]));
        public long Rejected => Enumerable.Range(128, 128).Sum(k => Interlocked.Read(ref _status[k]));
        public long Lost => Interlocked.Read(ref _lost);
        public long Revocations => Interlocked.Read(ref _revocations);

        public IEnumerable<KeyValuePair<string, long>> ByOperation =>
            new[] { Op.Register, Op.Refresh, Op.Handover, Op.Deregister }.Select(op => KeyValuePair.Create(op.ToString().ToLowerInvariant(), _byOp[(int)op]));

        public string StatusText => string.Join(", ", Enumerable.Range(0, 256).Where(k => _status[k] > 0).Select(k => $"{k}: {_status[k]:N0}"));

        public void Start()
        {
            foreach (var (name, body) in new (string, ThreadStart)[] { ("soak-send", SendLoop), ("soak-receive", ReceiveLoop) })
            {
                var thread = new Thread(body) { IsBackground = true, Name = name };
                _threads.Add(thread);
                thread.Start();
            }
        }

        public void Stop()
        {
            _stop = true;
            foreach (var thread in _threads)
                thread.Join();
        }

        private void SendLoop()
        {
            var buffer = new byte[512];
            var clock = Stopwatch.StartNew();
            var cursor = 0;
            var timeout = (long)(LossTimeout.TotalSeconds * Stopwatch.Frequency);
            while (!_stop)
            {
                var allowed = (long)(o.Rate * clock.Elapsed.TotalSeconds) - Sent;
                if (allowed <= 0)
                {
                    Thread.Sleep(1);
                    continue;
                }
                var now = Stopwatch.GetTimestamp();
                for (var tries = 0; allowed > 0 && tries < o.Population; tries++)
                {
                    var i = cursor;
                    cursor = cursor + 1 == o.Population ? 0 : cursor + 1;
                    if (Volatile.Read(ref _pending[i]) != 0)
                    {
                        if (now - _sentAt[i] > timeout && Interlocked.Exchange(ref _pending[i], 0) != 0)
                            Interlocked.Increment(ref _lost);
                        continue;
                    }
                    var at = Volatile.Read(ref _at[i]);
                    var roll = _random.Next(100);
                    var (op, mag) = at < 0 ? (Op.Register, i % 2)
                        : roll < 70 ? (Op.Refresh, at)
                        : roll < 90 ? (Op.Handover, 1 - at)
                        : (Op.Deregister, at);
                    var seq = unchecked(++_sequence[i]);
                    var length = WritePbu(buffer, i, seq, op, op == Op.Register ? default : _prefix[i]);
                    _sentAt[i] = Stopwatch.GetTimestamp();
                    Volatile.Write(ref _pending[i], ((int)op << 8) | mag);
                    _byOp[(int)op]++;
                    if (!sockets[mag].TrySend(buffer.AsSpan(0, length), o.Target.Lma, null, out _))
                        Volatile.Write(ref _pending[i], 0);
                    Interlocked.Increment(ref _sent);
                    allowed--;
                }
            }
        }

        private static int WritePbu(Span<byte> buffer, int session, ushort sequence, Op op, Ipv6Prefix prefix) =>
            SignalingBenchmark.LoadGenerator.WritePbu(buffer, session, sequence, prefix, op switch
            {
                Op.Register => HandoffIndicator.AttachmentOverNewInterface,
                Op.Handover => HandoffIndicator.HandoffBetweenMagsForSameInterface,
                _ => HandoffIndicator.HandoffStateNotChanged,
            }, op == Op.Deregister ? (ushort)0 : SignalingBenchmark.LoadGenerator.Lifetime);

        private void ReceiveLoop()
        {
            var fds = sockets.Select(s => new pollfd { fd = s.FileDescriptor, events = POLLIN }).ToArray();
            var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
            var reply = new byte[512];
            while (!_stop)
            {
                int ready;
                fixed (pollfd* p = fds)
                    ready = poll(p, (ulong_t)(ulong)fds.Length, 100);
                if (ready <= 0)
                    continue;
                for (var m = 0; m < fds.Length; m++)
                {
                    if ((fds[m].revents & POLLIN) == 0)
                        continue;
                    for (var n = 0; n < 64; n++)
                    {
                        var length = sockets[m].Receive(buffer, out var source, out _, out _, out var errno);
                        if (length < 0)
                            break;
                        Handle(buffer.AsSpan(0, length), m, source, reply);
                    }
                }
            }
        }

        private void Handle(ReadOnlySpan<byte> bytes, int mag, Ipv6Address source, byte[] reply)
        {
            if (!MobilityHeader.TryDecode(bytes, out var mh, out _))
                return;
            if (mh.Type == MobilityHeaderType.BindingRevocation && BindingRevocation.TryDecode(mh, out var bri, out _) && bri.IsIndication
                && bri.Options.TryGetMobileNodeIdentifier(out var revoked))
            {
                // The previous MAG of a handover: acknowledge the LMA's revocation (RFC 5846 §6.1), as our MAG does.
                var w = MobilityHeaderWriter.BindingRevocationAcknowledgement(reply, BindingRevocationStatus.Success, bri.Sequence, BindingRevocation.ProxyFlag);
                w.MobileNodeIdentifier(revoked.Identifier);
                if (w.TryFinish(out var n) && sockets[mag].TrySend(reply.AsSpan(0, n), source, null, out _))
                    Interlocked.Increment(ref _revocations);
                return;
            }
            if (mh.Type != MobilityHeaderType.BindingAcknowledgement || !BindingAcknowledgement.TryDecode(mh, out var ba, out _)
                || !ba.Options.TryGetMobileNodeIdentifier(out var mnId) || !TryParseSession(mnId.Identifier, out var i) || i >= o.Population
                || Volatile.Read(ref _sequence[i]) != ba.Sequence)
                return;
            var pending = Interlocked.Exchange(ref _pending[i], 0);
            if (pending == 0)
                return;
            Interlocked.Increment(ref _status[(byte)ba.Status]);
            if (!ba.IsAccepted)
                return;
            var op = (Op)(pending >> 8);
            if (op == Op.Deregister)
            {
                Volatile.Write(ref _at[i], (sbyte)-1);
                return;
            }
            foreach (var option in ba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            {
                _prefix[i] = HomeNetworkPrefixOption.Read(option.Data);
                break;
            }
            Volatile.Write(ref _at[i], (sbyte)(pending & 0xFF));
        }

        private static bool TryParseSession(ReadOnlySpan<byte> id, out int session)
        {
            session = -1;
            var suffix = System.Text.Encoding.ASCII.GetBytes(SignalingBenchmark.MobileNodeSuffix);
            if (!id.StartsWith("mn"u8) || !id.EndsWith(suffix))
                return false;
            return System.Buffers.Text.Utf8Parser.TryParse(id[2..^suffix.Length], out session, out var consumed) && consumed == id.Length - 2 - suffix.Length;
        }
    }
}
