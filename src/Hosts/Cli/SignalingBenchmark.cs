// `pmip6 bench signaling --lma ADDRESS --sessions N --mags M [--rate R] [--duration S] [--window W]
//  [--against-self] [--lma-http HOST:PORT] [--json]`: a PMIPv6 signalling load generator. It emulates M
// MAGs (one source address each, 2001:db8:1::100 + i, added by the bench and removed at the end) that
// register N mobile nodes (mn{i}@bench.pmip6.example, round-robin over the MAGs) with real PBUs over
// raw Mobility Header sockets, against any RFC 5213 LMA: PBAs are matched to PBUs by MN-ID and
// sequence number only. Phase 1 registers every session (HI 1, HNP ::/0) at --rate PBUs/s, or as
// fast as the LMA answers with at most --window PBUs outstanding; phase 2 (--duration) refreshes the
// registered sessions (HI 5, the assigned HNP) at --rate for S seconds. Nothing is retransmitted: a
// PBU unanswered after 5 s counts as lost. With --against-self the bench creates namespace
// pmip-bench (or --namespace NAME), starts our LMA there (temporary lma.conf/policies.conf/store), and afterwards stops it
// and removes the namespace and the temporary files, also on failure and Ctrl-C.
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Daemons;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

public static class SignalingBenchmark
{
    public const string Namespace = "pmip-bench";
    public const string MobileNodeSuffix = "@bench.pmip6.example";
    private static readonly Ipv6Address DefaultSelfLma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Address FirstMag = Ipv6Address.Parse("2001:db8:1::100");
    private static readonly TimeSpan LossTimeout = TimeSpan.FromSeconds(5);
    private const int MaxMags = 0xFE00;
    // 2,000 outstanding PBUs queue about 5 s of work in our LMA (~350 registrations/s on 2 shared cores), so
    // PBUs time out and meet the 300 ms timestamp window; 200 keeps it saturated with sub-second queues.
    private const int DefaultWindow = 200;

    public static int Run(Arguments args, TextWriter stdout)
    {
        var againstSelf = args.Flag("against-self");
        var json = args.Flag("json");
        var lmaText = args.String("lma");
        var sessions = args.Integer("sessions", -1, 1, 10_000_000);
        if (sessions < 0)
            throw new UsageException("missing option --sessions");
        var mags = args.Integer("mags", 1, 1, MaxMags);
        if (mags > sessions)
            throw new UsageException($"--mags ({mags}) cannot exceed --sessions ({sessions})");
        var rate = args.Integer("rate", 0, 1, 10_000_000);
        var duration = args.Integer("duration", 0, 1, 86_400);
        var window = args.Integer("window", DefaultWindow, 1, 1_000_000);
        var lmaHttp = args.String("lma-http");
        var ns = args.String("namespace") ?? Namespace;
        var lmaSettings = LmaTarget.ParseSettings(args.String("lma-settings"));
        args.EnsureAllUsed();
        if (lmaSettings.Count > 0 && !againstSelf)
            throw new UsageException("--lma-settings configures the LMA --against-self starts");

        Ipv6Address lma;
        if (lmaText is null)
            lma = againstSelf ? DefaultSelfLma : throw new UsageException("missing option --lma (or --against-self)");
        else if (!Ipv6Address.TryParse(lmaText, out lma) || lma == default)
            throw new UsageException($"--lma must be an IPv6 address, got '{lmaText}'");
        if (lmaHttp is not null && againstSelf)
            throw new UsageException("--lma-http is for an external LMA; --against-self reads our LMA's metrics itself");
        if (ns.Length is 0 or > 15 || !ns.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new UsageException($"--namespace must be 1-15 letters, digits, '-' or '_', got '{ns}'");
        if (!againstSelf && ns != Namespace)
            throw new UsageException("--namespace is where --against-self starts our LMA");
        if (lmaHttp is not null && !IPEndPoint.TryParse(lmaHttp, out _))
            throw new UsageException($"--lma-http must be HOST:PORT, got '{lmaHttp}'");
        var magAddresses = Enumerable.Range(0, (int)mags).Select(i => new Ipv6Address(FirstMag.Value + (UInt128)i)).ToArray();
        if (magAddresses.Contains(lma))
            throw new UsageException($"--lma {lma} collides with a MAG address (2001:db8:1::100 + i)");

        var settings = new BenchSettings(lma, (int)sessions, magAddresses, rate, duration, (int)window, againstSelf, lmaHttp, ns) { LmaSettings = lmaSettings };
        using var environment = new DaemonsUnderTest();
        using var cancel = new CancellationTokenSource();
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        })).ToList();
        try
        {
            var report = RunBench(settings, environment, cancel.Token);
            if (json)
                stdout.WriteLine(JsonSerializer.Serialize(report.ToJson(), DaemonRuntime.Json));
            else
                report.Print(stdout);
            if (cancel.IsCancellationRequested)
                return 130;
            return report.Registration.Accepted + report.Registration.Rejected > 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("pmip6 bench signaling: interrupted; cleaned up");
            return 130;
        }
        catch (BenchFailure e)
        {
            Console.Error.WriteLine($"pmip6 bench signaling: {e.Message}");
            return CommandLine.ExitFailure;
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
            environment.Dispose();
        }
    }

    /// <param name="LossAfter">How long a PBU may go unanswered before it counts as lost and its session may be sent again (default 5 s).</param>
    internal sealed record BenchSettings(Ipv6Address Lma, int Sessions, Ipv6Address[] Mags, long Rate, long Duration, int Window,
        bool AgainstSelf, string? LmaHttp, string Namespace = Namespace, TimeSpan LossAfter = default)
    {
        public TimeSpan LossTimeout => LossAfter > TimeSpan.Zero ? LossAfter : SignalingBenchmark.LossTimeout;
        /// <summary>--lma-settings: lines added to our LMA's `pmip6.lma { }` (e.g. snapshot-every=200 to compare).</summary>
        public IReadOnlyList<string> LmaSettings { get; init; } = [];
    }

    private static BenchReport RunBench(BenchSettings s, DaemonsUnderTest env, CancellationToken cancel)
    {
        string? ns = null;
        MemorySample? before = null;
        GcSample? gc0 = null;
        int? pid = null;
        var http = s.LmaHttp ?? $"127.0.0.1:{SelfLma.HttpPort}";
        if (s.AgainstSelf)
        {
            ns = env.CreateNamespace(s.Namespace);
            env.AddAddresses(ns, [s.Lma, .. s.Mags]);
            // The bench measures what the LMA sustains, not its flood limits (the node's default, 20,000/s, would cap the
            // figure at the target itself); the journal backlog bound stays as configured.
            pid = SelfLma.Start(env, ns, s.Lma, s.Mags, string.Join("\n", ["admission { per-peer-rate = 0, global-rate = 0 }", .. s.LmaSettings]), cancel);
            (before, gc0) = SampleLma(ns, http, pid);
        }
        else
        {
            env.AddAddresses(null, s.Mags);
            if (s.LmaHttp is not null)
                (before, gc0) = SampleLma(null, http, null);
        }

        var sockets = BenchEnvironment.InNamespace(ns, () => s.Mags.Select(mag =>
        {
            var socket = MobilityHeaderSocket.TryOpen(new MobilityHeaderSocketOptions { LocalAddress = mag, ReceiveTimeout = TimeSpan.FromMilliseconds(100) },
                out var opened, out var error) ? opened : throw new BenchFailure($"cannot open a Mobility Header socket on {mag}: {error.Message}");
            LargeReceiveBuffer(socket);
            return socket;
        }).ToArray());
        foreach (var socket in sockets)
            env.Track(socket);

        // Our own sending and receiving code compiled before the first PBU (tiered compilation is off: each method is compiled on
        // its first call), so the first PBAs are not timed late by the load generator itself.
        Daemons.Warmup.Compile([typeof(SignalingBenchmark)]);
        using var load = new LoadGenerator(s, sockets);
        load.StartReceivers();
        var observed = s.AgainstSelf || s.LmaHttp is not null;
        // The load generator's own collections too: a pause of ours delays the PBAs we time as much as one of the LMA's.
        var own = GcSample.OfThisProcess();
        var registration = load.RunPhase(refresh: false, cancel);
        var ownAfter = GcSample.OfThisProcess();
        registration = registration with { BenchGc = GcSample.During(own, ownAfter) };
        own = ownAfter;
        PhaseResult? refresh = null;
        if (s.Duration > 0 && !cancel.IsCancellationRequested)
        {
            var gc1 = observed ? GcSample.From(ScrapeLma(ns, http)) : null;
            registration = registration with { LmaGc = GcSample.During(gc0, gc1) };
            refresh = load.RunPhase(refresh: true, cancel);
            refresh = refresh with { BenchGc = GcSample.During(own, GcSample.OfThisProcess()) };
            gc0 = gc1;
        }
        load.StopReceivers();

        MemorySample? after = null;
        if (observed)
        {
            (after, var gc2) = SampleLma(ns, http, pid);
            if (refresh is null)
                registration = registration with { LmaGc = GcSample.During(gc0, gc2) };
            else
                refresh = refresh with { LmaGc = GcSample.During(gc0, gc2) };
        }
        return new BenchReport(s, registration, refresh, before, after, load.OtherMessages);
    }

    private static unsafe void LargeReceiveBuffer(MobilityHeaderSocket socket)
    {
        var size = 8 << 20;
        if (setsockopt(socket.FileDescriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)) < 0)
            setsockopt(socket.FileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));
    }

    // ---- the load -------------------------------------------------------------------------------

    /// <summary>Rewrites the PBU in <c>buffer[..length]</c> sent through MAG <c>magIndex</c> (e.g. adds authentication); its new length, or -1 to not send it.</summary>
    internal delegate int PbuTransform(int magIndex, Span<byte> buffer, int length);

    internal sealed unsafe class LoadGenerator : IDisposable
    {
        private const int RingBits = 21;
        internal static readonly ushort Lifetime = LifetimeUnit.FromTimeSpan(TimeSpan.FromHours(1));

        private readonly BenchSettings _s;
        private readonly MobilityHeaderSocket[] _sockets;
        private readonly int[] _pending;
        private readonly ushort[] _sequence;
        private readonly long[] _sentAt;
        private readonly Ipv6Prefix[] _prefix;
        private readonly bool[] _registered;
        private readonly long[] _ring = new long[1 << RingBits];
        private long _ringHead, _ringTail;
        private long _outstanding;
        private volatile Phase? _phase;
        private volatile bool _stopReceivers;
        private readonly List<Thread> _receivers = [];
        private long _other;

        private readonly PbuTransform? _transform;

        public LoadGenerator(BenchSettings s, MobilityHeaderSocket[] sockets, PbuTransform? transform = null)
        {
            _transform = transform;
            _s = s;
            _sockets = sockets;
            _pending = new int[s.Sessions];
            _sequence = new ushort[s.Sessions];
            _sentAt = new long[s.Sessions];
            _prefix = new Ipv6Prefix[s.Sessions];
            _registered = new bool[s.Sessions];
            _acceptedSinceMark = new long[s.Sessions];
            var random = new Random(s.Sessions);
            for (var i = 0; i < s.Sessions; i++)
                _sequence[i] = (ushort)random.Next(0, 0x8000);
        }

        public long OtherMessages => Interlocked.Read(ref _other);

        // Since Mark(): when each session was first accepted again, and answers that named another prefix than the first.
        private long _mark = long.MaxValue;
        private readonly long[] _acceptedSinceMark;
        private long _prefixChanges;

        /// <summary>From now on, records each session's first accepted PBA (e.g. the moment an LMA node was killed).</summary>
        public void Mark(long timestamp)
        {
            Array.Clear(_acceptedSinceMark);
            Volatile.Write(ref _mark, timestamp);
        }

        /// <summary>Stopwatch timestamp of session <paramref name="session"/>'s first accepted PBA since <see cref="Mark"/>; 0 while none.</summary>
        public long AcceptedSinceMark(int session) => Volatile.Read(ref _acceptedSinceMark[session]);

        /// <summary>Accepted refreshes whose home network prefix differs from the one the session registered with (a prefix handed out again).</summary>
        public long PrefixChanges => Interlocked.Read(ref _prefixChanges);

        /// <summary>The prefix session <paramref name="session"/> registered with; null when it is not registered.</summary>
        public Ipv6Prefix? RegisteredPrefix(int session) => _registered[session] ? _prefix[session] : null;

        public void StartReceivers()
        {
            var count = Math.Min(_sockets.Length, 2);
            for (var r = 0; r < count; r++)
            {
                var mine = _sockets.Where((_, i) => i % count == r).ToArray();
                var index = r;
                var thread = new Thread(() => ReceiveLoop(mine, index)) { IsBackground = true, Name = $"bench-pba-{r}" };
                _receivers.Add(thread);
                thread.Start();
            }
        }

        public void StopReceivers()
        {
            _stopReceivers = true;
            foreach (var thread in _receivers)
                thread.Join();
        }

        /// <summary>Registers every session, or (<paramref name="refresh"/>) refreshes the registered ones for <paramref name="duration"/> (default: the settings' duration).</summary>
        public PhaseResult RunPhase(bool refresh, CancellationToken cancel, TimeSpan? duration = null)
        {
            var phase = new Phase(_receivers.Count);
            _phase = phase;
            var buffer = new byte[512];
            var registeredList = refresh ? Enumerable.Range(0, _s.Sessions).Where(i => _registered[i]).ToArray() : [];
            if (refresh && registeredList.Length == 0)
                return phase.Finish(0, 0, 0, refresh);
            // Registration: every session not registered yet (all of them the first time; a second call retries the refused ones).
            var unregistered = refresh ? [] : Enumerable.Range(0, _s.Sessions).Where(i => !_registered[i]).ToArray();
            var clock = Stopwatch.StartNew();
            var deadline = refresh ? Stopwatch.GetTimestamp() + (long)((duration?.TotalSeconds ?? _s.Duration) * Stopwatch.Frequency) : long.MaxValue;
            long sent = 0, lost = 0, sendErrors = 0;
            var cursor = 0;
            var total = refresh ? long.MaxValue : unregistered.Length;
            while (sent < total && !cancel.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                    break;
                lost += Sweep(now);
                var allowed = _s.Rate > 0 ? (long)(_s.Rate * clock.Elapsed.TotalSeconds) + 1 - sent : long.MaxValue;
                if (allowed <= 0 || Interlocked.Read(ref _outstanding) >= _s.Window || _ringTail - _ringHead >= _ring.Length)
                {
                    Thread.Sleep(1);
                    continue;
                }
                var burst = Math.Min(allowed, 64);
                for (var b = 0; b < burst && sent < total; b++)
                {
                    if (Interlocked.Read(ref _outstanding) >= _s.Window || _ringTail - _ringHead >= _ring.Length)
                        break;
                    int i;
                    if (refresh)
                    {
                        var tries = 0;
                        do
                        {
                            i = registeredList[cursor];
                            cursor = cursor + 1 == registeredList.Length ? 0 : cursor + 1;
                        }
                        while (Volatile.Read(ref _pending[i]) != 0 && ++tries < registeredList.Length);
                        if (Volatile.Read(ref _pending[i]) != 0)
                            break;
                    }
                    else
                    {
                        i = unregistered[sent];
                    }
                    var seq = unchecked(++_sequence[i]);
                    var length = WritePbu(buffer, i, seq, refresh ? _prefix[i] : default, refresh);
                    if (_transform is not null)
                        length = _transform(i % _sockets.Length, buffer, length);
                    _sentAt[i] = Stopwatch.GetTimestamp();
                    Volatile.Write(ref _pending[i], 1);
                    Interlocked.Increment(ref _outstanding);
                    _ring[_ringTail++ & (_ring.Length - 1)] = ((long)i << 16) | seq;
                    sent++;
                    if (length < 0 || !_sockets[i % _sockets.Length].TrySend(buffer.AsSpan(0, length), _s.Lma, null, out _))
                    {
                        sendErrors++;
                        if (Interlocked.CompareExchange(ref _pending[i], 0, 1) == 1)
                            Interlocked.Decrement(ref _outstanding);
                    }
                }
            }
            // Wait for the answers (or the loss timeout) of everything sent.
            while (Interlocked.Read(ref _outstanding) > 0 && !cancel.IsCancellationRequested)
            {
                lost += Sweep(Stopwatch.GetTimestamp());
                Thread.Sleep(1);
            }
            var elapsed = clock.Elapsed;
            _phase = null;
            return phase.Finish(sent, lost, sendErrors, refresh, elapsed);
        }

        /// <summary>Declares lost the oldest PBUs unanswered for longer than the loss timeout; pops answered ones.</summary>
        private long Sweep(long now)
        {
            long lost = 0;
            var timeout = (long)(_s.LossTimeout.TotalSeconds * Stopwatch.Frequency);
            while (_ringHead < _ringTail)
            {
                var entry = _ring[_ringHead & (_ring.Length - 1)];
                var i = (int)(entry >> 16);
                var seq = (ushort)entry;
                if (Volatile.Read(ref _pending[i]) == 0 || _sequence[i] != seq)
                {
                    _ringHead++;
                    continue;
                }
                if (now - _sentAt[i] < timeout)
                    break;
                if (Interlocked.CompareExchange(ref _pending[i], 0, 1) == 1)
                {
                    lost++;
                    Interlocked.Decrement(ref _outstanding);
                }
                _ringHead++;
            }
            return lost;
        }

        /// <summary>The PBU exactly as our MAG encodes it (ProxyBindingUpdate.TryWrite), timestamped now.</summary>
        internal static int WritePbu(Span<byte> buffer, int session, ushort sequence, Ipv6Prefix prefix, bool refresh) =>
            WritePbu(buffer, session, sequence, prefix, refresh ? HandoffIndicator.HandoffStateNotChanged : HandoffIndicator.AttachmentOverNewInterface, Lifetime);

        /// <summary>A PBU of session <paramref name="session"/> with handoff indicator <paramref name="handoff"/>; lifetime 0 de-registers.</summary>
        internal static int WritePbu(Span<byte> buffer, int session, ushort sequence, Ipv6Prefix prefix, HandoffIndicator handoff, ushort lifetime)
        {
            var w = MobilityHeaderWriter.BindingUpdate(buffer, sequence,
                BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, lifetime);
            Span<byte> id = stackalloc byte[64];
            w.MobileNodeIdentifier(id[..WriteMobileNodeId(id, session)]);
            w.HomeNetworkPrefix(prefix);
            w.HandoffIndicator(handoff);
            w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
            Span<byte> linkLayer = [0x02, 0x00, 0, 0, 0, 0];
            BinaryPrimitives.WriteInt32BigEndian(linkLayer[2..], session);
            w.MobileNodeLinkLayerIdentifier(linkLayer);
            w.Timestamp(Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow));
            return w.TryFinish(out var length) ? length : throw new InvalidOperationException("PBU does not fit");
        }

        public static int WriteMobileNodeId(Span<byte> destination, int session)
        {
            "mn"u8.CopyTo(destination);
            session.TryFormat(destination[2..], out var digits, provider: CultureInfo.InvariantCulture);
            MobileNodeSuffixUtf8.CopyTo(destination[(2 + digits)..]);
            return 2 + digits + MobileNodeSuffixUtf8.Length;
        }

        private static ReadOnlySpan<byte> MobileNodeSuffixUtf8 => "@bench.pmip6.example"u8;

        private void ReceiveLoop(MobilityHeaderSocket[] sockets, int receiver)
        {
            var fds = new pollfd[sockets.Length];
            for (var k = 0; k < sockets.Length; k++)
            {
                fds[k].fd = sockets[k].FileDescriptor;
                fds[k].events = POLLIN;
            }
            var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
            while (!_stopReceivers)
            {
                int ready;
                fixed (pollfd* p = fds)
                    ready = poll(p, (ulong_t)(ulong)fds.Length, 100);
                if (ready <= 0)
                    continue;
                for (var k = 0; k < fds.Length; k++)
                {
                    if ((fds[k].revents & POLLIN) == 0)
                        continue;
                    // Drain a little per round so every socket gets its turn.
                    for (var n = 0; n < 32; n++)
                    {
                        var length = ReceiveNow(sockets[k].FileDescriptor, buffer);
                        if (length < 0)
                            break;
                        Handle(buffer.AsSpan(0, length), receiver);
                    }
                }
            }
        }

        private static int ReceiveNow(int fd, byte[] buffer)
        {
            fixed (byte* b = buffer)
            {
                var n = recv(fd, b, (size_t)buffer.Length, MSG_DONTWAIT);
                return (int)n;
            }
        }

        private void Handle(ReadOnlySpan<byte> bytes, int receiver)
        {
            var now = Stopwatch.GetTimestamp();
            var phase = _phase;
            if (!MobilityHeader.TryDecode(bytes, out var mh, out _) || mh.Type != MobilityHeaderType.BindingAcknowledgement
                || !BindingAcknowledgement.TryDecode(mh, out var ba, out _))
            {
                Interlocked.Increment(ref _other);
                return;
            }
            if (phase is null || !ba.Options.TryGetMobileNodeIdentifier(out var mnId) || !TryParseSession(mnId.Identifier, out var i)
                || i >= _sequence.Length || Volatile.Read(ref _sequence[i]) != ba.Sequence)
            {
                if (phase is not null) phase.Stats[receiver].Unmatched++;
                else Interlocked.Increment(ref _other);
                return;
            }
            if (Interlocked.CompareExchange(ref _pending[i], 0, 1) != 1)
            {
                phase.Stats[receiver].Late++;
                return;
            }
            var stats = phase.Stats[receiver];
            stats.Latency.Record((now - _sentAt[i]) * 1_000_000 / Stopwatch.Frequency);
            stats.Status[(byte)ba.Status]++;
            if (ba.IsAccepted)
            {
                foreach (var option in ba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
                {
                    var prefix = HomeNetworkPrefixOption.Read(option.Data);
                    if (!_registered[i])
                        (_prefix[i], _registered[i]) = (prefix, true);
                    else if (prefix != _prefix[i])
                        Interlocked.Increment(ref _prefixChanges);
                    break;
                }
                if (now >= Volatile.Read(ref _mark))
                    Interlocked.CompareExchange(ref _acceptedSinceMark[i], now, 0);
            }
            Interlocked.Decrement(ref _outstanding);
        }

        private static bool TryParseSession(ReadOnlySpan<byte> id, out int session)
        {
            session = -1;
            if (!id.StartsWith("mn"u8) || !id.EndsWith(MobileNodeSuffixUtf8))
                return false;
            var digits = id[2..^MobileNodeSuffixUtf8.Length];
            return Utf8Parser.TryParse(digits, out session, out var consumed) && consumed == digits.Length && session >= 0;
        }

        public void Dispose()
        {
            _stopReceivers = true;
        }
    }

    internal sealed class Phase(int receivers)
    {
        public ReceiverStats[] Stats { get; } = Enumerable.Range(0, Math.Max(receivers, 1)).Select(_ => new ReceiverStats()).ToArray();

        public PhaseResult Finish(long sent, long lost, long sendErrors, bool refresh, TimeSpan elapsed = default)
        {
            var latency = new LatencyHistogram();
            var status = new long[256];
            long unmatched = 0, late = 0;
            foreach (var s in Stats)
            {
                latency.Add(s.Latency);
                for (var k = 0; k < 256; k++)
                    status[k] += s.Status[k];
                unmatched += s.Unmatched;
                late += s.Late;
            }
            return new PhaseResult(refresh ? "refresh" : "registration", sent, elapsed, status, lost, sendErrors, unmatched, late, latency);
        }
    }

    internal sealed class ReceiverStats
    {
        public readonly LatencyHistogram Latency = new();
        public readonly long[] Status = new long[256];
        public long Unmatched;
        public long Late;
    }

    /// <summary>Log-linear histogram of microseconds: exact below 256 µs, then 128 buckets per power of two (&lt; 0.8 % error).</summary>
    internal sealed class LatencyHistogram
    {
        private const int SubBits = 7;
        private const int Linear = 2 << SubBits; // 256
        private readonly long[] _counts = new long[Linear + 64 * (1 << SubBits)];

        public long Count { get; private set; }
        public long Max { get; private set; }

        public void Record(long micros)
        {
            if (micros < 0) micros = 0;
            _counts[Index(micros)]++;
            Count++;
            if (micros > Max) Max = micros;
        }

        public void Add(LatencyHistogram other)
        {
            for (var k = 0; k < _counts.Length; k++)
                _counts[k] += other._counts[k];
            Count += other.Count;
            Max = Math.Max(Max, other.Max);
        }

        private static int Index(long v)
        {
            if (v < Linear) return (int)v;
            var exponent = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)v); // >= 8
            var shift = exponent - SubBits;
            var mantissa = (int)(v >> shift); // [128, 256)
            return Linear + (shift - 1) * (1 << SubBits) + (mantissa - (1 << SubBits));
        }

        private static long Middle(int index)
        {
            if (index < Linear) return index;
            var shift = (index - Linear) / (1 << SubBits) + 1;
            var mantissa = (index - Linear) % (1 << SubBits) + (1 << SubBits);
            return ((long)mantissa << shift) + (1L << (shift - 1));
        }

        /// <summary>The value below which <paramref name="quantile"/> of the samples lie, in µs; 0 when empty.</summary>
        public long Percentile(double quantile)
        {
            if (Count == 0) return 0;
            var rank = (long)Math.Ceiling(quantile * Count);
            long seen = 0;
            for (var k = 0; k < _counts.Length; k++)
            {
                seen += _counts[k];
                if (seen >= rank)
                    return Math.Min(Middle(k), Max);
            }
            return Max;
        }
    }

    internal sealed record PhaseResult(string Name, long Sent, TimeSpan Elapsed, long[] Status, long Lost, long SendErrors, long Unmatched,
        long Late, LatencyHistogram Latency)
    {
        /// <summary>Our LMA's garbage collections during the phase (null against another LMA).</summary>
        public GcDuring? LmaGc { get; init; }

        /// <summary>The load generator's own garbage collections during the phase.</summary>
        public GcDuring? BenchGc { get; init; }

        public long Accepted => Status.Take(128).Sum();
        public long Rejected => Status.Skip(128).Sum();
        public double PerSecond => Elapsed.TotalSeconds > 0 ? Accepted / Elapsed.TotalSeconds : 0;

        public string StatusText => Accepted + Rejected == 0 ? "none"
            : string.Join(", ", Enumerable.Range(0, 256).Where(k => Status[k] > 0).Select(k => $"{k}: {Status[k]}"));

        public object ToJson() => new
        {
            sent = Sent,
            seconds = Math.Round(Elapsed.TotalSeconds, 3),
            accepted = Accepted,
            rejected = Rejected,
            perSecond = Math.Round(PerSecond, 1),
            latencyMs = new { p50 = Ms(Latency.Percentile(0.50)), p99 = Ms(Latency.Percentile(0.99)), p999 = Ms(Latency.Percentile(0.999)), max = Ms(Latency.Max) },
            statuses = Enumerable.Range(0, 256).Where(k => Status[k] > 0).ToDictionary(k => k.ToString(CultureInfo.InvariantCulture), k => Status[k]),
            lost = Lost,
            sendErrors = SendErrors,
            unmatched = Unmatched,
            late = Late,
            lmaGc = LmaGc is null ? null : new
            {
                pausedMs = Math.Round(LmaGc.PausedSeconds * 1000, 1),
                gen0 = LmaGc.Gen0,
                gen1 = LmaGc.Gen1,
                gen2 = LmaGc.Gen2,
            },
        };

        public static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
    }

    private sealed record MemorySample(long? Bindings, long? ResidentBytes, long? VmRssBytes);

    /// <summary>The LMA's garbage collector as its /metrics tells it (our daemon's runtime counters); null where it cannot be read.</summary>
    internal sealed record GcSample(double PausedSeconds, long Gen0, long Gen1, long Gen2)
    {
        public static GcSample OfThisProcess() =>
            new(GC.GetTotalPauseDuration().TotalSeconds, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

        /// <summary>From one scrape of the LMA's /metrics; null when it has no such counters (another LMA, or an older build of ours).</summary>
        public static GcSample? From(MetricsScrape m) =>
            m.Has("pmip6_lma_gc_collections_gen0_total")
                ? new GcSample(m.Get("pmip6_lma_gc_paused_seconds_total"), (long)m.Get("pmip6_lma_gc_collections_gen0_total"),
                    (long)m.Get("pmip6_lma_gc_collections_gen1_total"), (long)m.Get("pmip6_lma_gc_collections_gen2_total"))
                : null;

        /// <summary>What happened between two samples (collections counted per the generation they reached).</summary>
        public static GcDuring? During(GcSample? before, GcSample? after) =>
            before is null || after is null ? null
                : new GcDuring(after.PausedSeconds - before.PausedSeconds, after.Gen0 - before.Gen0 - (after.Gen1 - before.Gen1),
                    after.Gen1 - before.Gen1 - (after.Gen2 - before.Gen2), after.Gen2 - before.Gen2);
    }

    /// <summary>Collections during a phase by the generation they reached, and the time the LMA was paused for them.</summary>
    internal sealed record GcDuring(double PausedSeconds, long Gen0, long Gen1, long Gen2)
    {
        public string Text(TimeSpan phase, string who = "LMA") =>
            $"{who} garbage collections {Gen0} gen0, {Gen1} gen1, {Gen2} gen2; paused {PausedSeconds * 1000:0.0} ms " +
            $"({(phase.TotalSeconds > 0 ? 100 * PausedSeconds / phase.TotalSeconds : 0):0.00} % of the phase" +
            (Gen0 + Gen1 + Gen2 > 0 ? $", {PausedSeconds * 1000 / (Gen0 + Gen1 + Gen2):0.00} ms per collection on average)" : ")");
    }

    private sealed record BenchReport(BenchSettings Settings, PhaseResult Registration, PhaseResult? Refresh, MemorySample? Before,
        MemorySample? After, long OtherMessages)
    {
        private string Target => Settings.AgainstSelf ? $"our LMA {Settings.Lma} in namespace {Settings.Namespace}" : $"LMA {Settings.Lma}";

        private string Pace => Settings.Rate > 0 ? $"{Settings.Rate} PBUs/s" : "as fast as the LMA answers";

        private long? Rss => After?.VmRssBytes ?? After?.ResidentBytes;

        private long? BytesPerBinding => After?.Bindings is > 0 && Rss is { } rss ? rss / After.Bindings : null;

        private long? GrowthPerBinding =>
            After?.Bindings is > 0 && Rss is { } rss && (Before?.VmRssBytes ?? Before?.ResidentBytes) is { } start
                ? (rss - start) / Math.Max(1, After.Bindings.Value - (Before?.Bindings ?? 0))
                : null;

        public void Print(TextWriter o)
        {
            o.WriteLine($"pmip6 bench signaling: {Settings.Sessions} sessions over {Settings.Mags.Length} MAGs against {Target}; " +
                        $"{Pace}, at most {Settings.Window} PBUs outstanding, lost after {Settings.LossTimeout.TotalSeconds:0} s without PBA");
            o.WriteLine($"note: {Environment.ProcessorCount} cores shared by the LMA and the load generator" +
                        (Settings.AgainstSelf ? " (both on this machine)" : ""));
            PrintPhase(o, Registration);
            if (Refresh is not null)
                PrintPhase(o, Refresh);
            if (OtherMessages > 0)
                o.WriteLine($"other messages received (not PBAs of ours): {OtherMessages}");
            if (After is not null)
            {
                var line = $"LMA memory: {After.Bindings?.ToString(CultureInfo.InvariantCulture) ?? "?"} bindings, resident {Mib(Rss)}";
                if (Before is not null)
                    line += $" (before the load {Mib(Before.VmRssBytes ?? Before.ResidentBytes)} with {Before.Bindings ?? 0} bindings)";
                if (BytesPerBinding is { } per)
                    line += $"; {per} bytes resident per binding";
                if (GrowthPerBinding is { } growth)
                    line += $", {growth} bytes per binding added by the load";
                o.WriteLine(line);
            }
        }

        private static void PrintPhase(TextWriter o, PhaseResult p)
        {
            o.WriteLine($"{p.Name}: {p.Sent} PBUs in {p.Elapsed.TotalSeconds:0.000} s: {p.PerSecond:0} accepted/s; " +
                        $"latency p50 {Ms(p.Latency.Percentile(0.5))} ms, p99 {Ms(p.Latency.Percentile(0.99))} ms, " +
                        $"p99.9 {Ms(p.Latency.Percentile(0.999))} ms, max {Ms(p.Latency.Max)} ms");
            o.WriteLine($"{p.Name}: status {p.StatusText}; lost {p.Lost}" +
                        (p.SendErrors > 0 ? $"; send errors {p.SendErrors}" : "") +
                        (p.Unmatched > 0 ? $"; unmatched PBAs {p.Unmatched}" : "") +
                        (p.Late > 0 ? $"; late PBAs {p.Late}" : ""));
            if (p.LmaGc is not null)
                o.WriteLine($"{p.Name}: {p.LmaGc.Text(p.Elapsed)}");
            if (p.BenchGc is { Gen0: > 0 } or { Gen1: > 0 } or { Gen2: > 0 })
                o.WriteLine($"{p.Name}: {p.BenchGc.Text(p.Elapsed, "load generator's own")}");
        }

        private static string Ms(long micros) => PhaseResult.Ms(micros).ToString("0.000", CultureInfo.InvariantCulture);

        private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:0.0} MiB" : "?";

        public object ToJson() => new
        {
            lma = Settings.Lma.ToString(),
            againstSelf = Settings.AgainstSelf,
            sessions = Settings.Sessions,
            mags = Settings.Mags.Length,
            rate = Settings.Rate > 0 ? Settings.Rate : (long?)null,
            durationSeconds = Settings.Duration > 0 ? Settings.Duration : (long?)null,
            window = Settings.Window,
            cores = Environment.ProcessorCount,
            note = $"{Environment.ProcessorCount} cores shared by the LMA and the load generator",
            registration = Registration.ToJson(),
            refresh = Refresh?.ToJson(),
            otherMessages = OtherMessages,
            lmaMemory = After is null ? null : new
            {
                bindings = After.Bindings,
                residentBytes = Rss,
                residentBytesBefore = Before?.VmRssBytes ?? Before?.ResidentBytes,
                bytesPerBinding = BytesPerBinding,
                growthBytesPerBinding = GrowthPerBinding,
            },
        };
    }

    // ---- our LMA's memory and collector ---------------------------------------------------------------------------

    private static MetricsScrape ScrapeLma(string? ns, string endpoint)
    {
        var ep = IPEndPoint.Parse(endpoint);
        return MetricsScrape.Parse(DaemonsUnderTest.Http(ns, ep.Port, "GET", "/metrics", TimeSpan.FromSeconds(30), ep.Address));
    }

    /// <summary>The LMA's memory and its collector from one scrape of its /metrics.</summary>
    private static (MemorySample Memory, GcSample? Gc) SampleLma(string? ns, string endpoint, int? pid)
    {
        var metrics = ScrapeLma(ns, endpoint);
        return (new MemorySample((long)metrics.Get("pmip6_lma_bindings"), (long)metrics.Get("pmip6_lma_resident_memory_bytes"),
            pid is { } id ? ProcessSample.Read(id).ResidentBytes : null), GcSample.From(metrics));
    }
}
