// `pmip6 fuzz daemons [--duration S] [--rate R] [--mobile-nodes N] [--seed S]` (issue 10): the fuzzer's
// mutated packets (bit flips, truncations, length lies, spliced options of every message kind) sent over
// raw sockets to a running LMA and MAG — ours, started in namespace pmipf-fuzz with authenticated
// signalling — after the MAG registered N mobile nodes. To the LMA: unprotected from unauthorised sources,
// from the MAG's address with a broken authenticator, and mutated then correctly signed by a second
// authorised MAG (a decoy whose key the fuzzer holds), so mutations get past authentication into the
// decoders and the protocol handler. To the MAG: unprotected from unauthorised sources, from the LMA's
// address with a broken authenticator, and mutated PBAs, heartbeats and other non-revocation messages
// signed with the LMA's key (a revocation signed by the LMA may legitimately remove bindings: those are
// sent with a broken authenticator only). Afterwards both must answer a heartbeat, a new mobile node must
// register, and the bindings of the N nodes must be what they were (lifetimes aside) at both daemons.
// Prints what was sent and what each daemon refused, and a verdict; exit 1 on failure.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;

namespace Pmip6Akka.Hosts.Cli;

public sealed record DaemonFuzzOptions(TimeSpan Duration, long Rate, int MobileNodes, int Seed)
{
    public const string Usage = "pmip6 fuzz daemons [--duration S (600, 10m; default 10m)] [--rate R (packets/s, default 2000)] [--mobile-nodes N (default 5)] [--seed S]";

    public static DaemonFuzzOptions Parse(Arguments args) => new(
        LmaTarget.ParseDuration("duration", args.String("duration") ?? "10m", TimeSpan.FromDays(1)),
        args.Integer("rate", 2000, 1, 100_000),
        (int)args.Integer("mobile-nodes", 5, 1, 1000),
        (int)args.Integer("seed", Environment.TickCount & 0x7FFFFFFF, 0, int.MaxValue));
}

/// <summary>A binding as /status shows it, lifetimes left out: what must not change under the fuzz.</summary>
public sealed record BindingFacts(string MobileNodeId, string Prefixes, string ProxyCoa, string State)
{
    /// <summary>The bindings of an LMA's (`bindings`) or a MAG's (`bindingUpdateList`) /status JSON; empty for anything else.</summary>
    public static IReadOnlyList<BindingFacts> FromStatus(string? json)
    {
        if (json is null)
            return [];
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty("bindings", out var list) && !root.TryGetProperty("bindingUpdateList", out list))
            return [];
        return list.EnumerateArray().Select(b => new BindingFacts(
            b.GetProperty("mnId").GetString() ?? "",
            string.Join(",", b.GetProperty("hnps").EnumerateArray().Select(p => p.GetString())),
            b.TryGetProperty("proxyCoa", out var coa) ? coa.GetString() ?? "" : "",
            b.TryGetProperty("state", out var state) ? state.GetString() ?? "" : "")).OrderBy(f => f.MobileNodeId, StringComparer.Ordinal).ToList();
    }

    /// <summary>One line per binding of <paramref name="watched"/> that differs between the two lists (gone, or another prefix, MAG or state).</summary>
    public static IReadOnlyList<string> Changes(IReadOnlyList<BindingFacts> before, IReadOnlyList<BindingFacts> after, IEnumerable<string> watched)
    {
        var changes = new List<string>();
        foreach (var mn in watched)
        {
            var a = before.Where(b => b.MobileNodeId == mn).ToList();
            var b = after.Where(x => x.MobileNodeId == mn).ToList();
            if (!a.SequenceEqual(b))
                changes.Add($"{mn}: before [{string.Join("; ", a.Select(Show))}], after [{string.Join("; ", b.Select(Show))}]");
        }
        return changes;
    }

    private static string Show(BindingFacts f) => $"{f.Prefixes} via {f.ProxyCoa} {f.State}".Trim();
}

public static class DaemonFuzz
{
    public const string Namespace = "pmipf-fuzz";
    private const int MagHttpPort = 9181;
    private static readonly Ipv6Address Lma = LmaTarget.DefaultSelfLma;
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Decoy = Ipv6Address.Parse("2001:db8:1::3");
    private static readonly Ipv6Address[] Strangers = [Ipv6Address.Parse("2001:db8:66::1"), Ipv6Address.Parse("2001:db8:66::2")];
    private const uint MagSpi = 4096, DecoySpi = 4097;

    private enum Route { ToLmaUnprotected, ToLmaBadMac, ToLmaSignedByDecoy, ToMagUnprotected, ToMagBadMac, ToMagSignedAsLma }

    public static int Run(Arguments args, TextWriter stdout)
    {
        var o = DaemonFuzzOptions.Parse(args);
        args.EnsureAllUsed();
        var env = new DaemonsUnderTest();
        return BenchEnvironment.RunGuarded("fuzz daemons", env, cancel => RunFuzz(o, env, stdout, cancel));
    }

    private static string MobileNode(int i) => $"fuzz-mn{i}{SignalingBenchmark.MobileNodeSuffix}";

    private static int RunFuzz(DaemonFuzzOptions o, DaemonsUnderTest env, TextWriter stdout, CancellationToken cancel)
    {
        var magKey = RandomNumberGenerator.GetBytes(32);
        var decoyKey = RandomNumberGenerator.GetBytes(32);
        string Entry(uint spi, Ipv6Address peer, byte[] key) =>
            $"  {{ spi = {spi}, peer = \"{peer}\", algorithm = \"hmac-sha256\", secret = \"hex:{Convert.ToHexString(key)}\" }}\n";
        var lmaKeys = env.WriteFile("lma-keys.conf", "pmip6.keys = [\n" + Entry(MagSpi, Mag, magKey) + Entry(DecoySpi, Decoy, decoyKey) + "]\n", ownerOnly: true);
        var magKeys = env.WriteFile("mag-keys.conf", "pmip6.keys = [\n" + Entry(MagSpi, Lma, magKey) + "]\n", ownerOnly: true);

        var ns = env.CreateNamespace(Namespace);
        env.AddAddresses(ns, [Lma, Mag, Decoy, .. Strangers]);
        SelfLma.Start(env, ns, Lma, [Mag, Decoy], $"security {{ keys-file = \"{lmaKeys}\" }}", cancel);
        var magConfig = env.WriteFile("mag.conf", $$"""
            pmip6.mag {
              address = "{{Mag}}"
              device = ""
              lma = "{{Lma}}"
              policy-file = "policies.conf"
              heartbeat-interval = 1h
              state-directory = "{{Path.Combine(env.Directory, "mag-state")}}"
              http = "127.0.0.1:{{MagHttpPort}}"
              tunnel { mode = "off" }
              access { interfaces = [] }
              security { keys-file = "{{magKeys}}" }
              shutdown { revoke-bindings = off }
            }
            """);
        env.Start("mag", ns, magConfig, MagHttpPort, cancel);

        var watched = Enumerable.Range(0, o.MobileNodes).Select(MobileNode).ToList();
        foreach (var mn in watched)
            Attach(ns, mn);
        if (!WaitForBindings(ns, watched, TimeSpan.FromSeconds(30), cancel))
            throw new BenchFailure($"the {o.MobileNodes} mobile nodes did not all register before the fuzz; LMA: {string.Join(" | ", env.LastLines("lma").TakeLast(3))}");
        var lmaBefore = BindingFacts.FromStatus(Status(ns, SelfLma.HttpPort));
        var magBefore = BindingFacts.FromStatus(Status(ns, MagHttpPort));
        var lmaMetricsBefore = Metrics(ns, SelfLma.HttpPort);
        var magMetricsBefore = Metrics(ns, MagHttpPort);

        MobilityHeaderSocket Open(Ipv6Address address) => env.Track(BenchEnvironment.InNamespace(ns, () =>
            MobilityHeaderSocket.TryOpen(new MobilityHeaderSocketOptions { LocalAddress = address, ReceiveTimeout = TimeSpan.FromMilliseconds(500) },
                out var socket, out var error) ? socket : throw new BenchFailure($"cannot open a Mobility Header socket on {address}: {error.Message}")));
        var sockets = new Dictionary<Ipv6Address, MobilityHeaderSocket>
        {
            [Mag] = Open(Mag), [Decoy] = Open(Decoy), [Lma] = Open(Lma), [Strangers[0]] = Open(Strangers[0]), [Strangers[1]] = Open(Strangers[1]),
        };
        var asDecoy = Signer(decoyKey, DecoySpi, Lma);
        var asLma = Signer(magKey, MagSpi, Mag);
        var asMag = Signer(magKey, MagSpi, Lma);

        stdout.WriteLine($"pmip6 fuzz daemons: seed {o.Seed}; our LMA {Lma} and MAG {Mag} in namespace {Namespace} (signalling authenticated), " +
                         $"{o.MobileNodes} mobile nodes registered; {o.Rate:N0} mutated packets/s for {o.Duration.TotalSeconds:0} s");
        stdout.Flush();
        var (sent, sendErrors) = Fuzz(o, sockets, asDecoy, asLma, asMag, cancel);

        // Both must still answer, register a new node, and hold the bindings they held.
        Thread.Sleep(2000);
        var failures = new List<string>();
        foreach (var role in new[] { "lma", "mag" })
            if (!env.IsRunning(role))
                failures.Add($"the {role} is not running any more; its last lines:\n  " + string.Join("\n  ", env.LastLines(role)));
        if (failures.Count == 0)
        {
            if (!HeartbeatAnswered(sockets[Decoy], asDecoy, Decoy, Lma))
                failures.Add("the LMA did not answer a heartbeat");
            if (!HeartbeatAnswered(sockets[Lma], asLma, Lma, Mag))
                failures.Add("the MAG did not answer a heartbeat");
            var fresh = MobileNode(o.MobileNodes);
            Attach(ns, fresh);
            if (!WaitForBindings(ns, [fresh], TimeSpan.FromSeconds(15), cancel))
                failures.Add($"a new mobile node ({fresh}) did not register after the fuzz");
            var lmaAfter = BindingFacts.FromStatus(Status(ns, SelfLma.HttpPort));
            var magAfter = BindingFacts.FromStatus(Status(ns, MagHttpPort));
            failures.AddRange(BindingFacts.Changes(lmaBefore, lmaAfter, watched).Select(c => "LMA binding changed: " + c));
            failures.AddRange(BindingFacts.Changes(magBefore, magAfter, watched).Select(c => "MAG binding changed: " + c));
            var unexpected = lmaAfter.Select(b => b.MobileNodeId).Except(watched).Except([fresh]).Distinct().ToList();
            if (unexpected.Count > 0)
                stdout.WriteLine($"note: the LMA holds bindings the fuzz created through the decoy MAG (authenticated, so legitimate): {string.Join(", ", unexpected.Take(5))}");
        }

        stdout.WriteLine("sent: " + string.Join(", ", sent.Select(kv => $"{kv.Key} {kv.Value:N0}")) + (sendErrors > 0 ? $"; refused by the kernel at send {sendErrors:N0}" : ""));
        foreach (var (role, port, before) in new[] { ("lma", SelfLma.HttpPort, lmaMetricsBefore), ("mag", MagHttpPort, magMetricsBefore) })
        {
            var after = Metrics(ns, port);
            var prefix = $"pmip6_{role}_";
            var lines = new[] { "mh_received_total", "mh_rate_limited_total", "mh_receive_queue_dropped_total", "mh_auth_rejected_total", "mh_auth_accepted_total",
                    "mh_decode_errors_total", "mh_ignored_total", "pba_sent_total", "bri_received_total" }
                .Select(name => (name, delta: after.ByLabel(prefix + name).Select(s => (s.Key, s.Value - before.ByLabel(prefix + name).GetValueOrDefault(s.Key))).Where(d => d.Item2 > 0).ToList()))
                .Where(x => x.delta.Count > 0)
                .Select(x => $"{x.name} " + string.Join(" ", x.delta.Select(d => d.Key.Length == 0 ? $"{d.Item2:N0}" : $"{d.Key}={d.Item2:N0}")));
            stdout.WriteLine($"{role.ToUpperInvariant()}: " + string.Join("; ", lines));
        }
        foreach (var failure in failures)
            stdout.WriteLine("FAILED: " + failure);
        stdout.WriteLine(failures.Count == 0
            ? $"verdict: both daemons answer, a new mobile node registered, the {o.MobileNodes} bindings are unchanged at the LMA and the MAG"
            : $"verdict: FAILED ({failures.Count} problems)");
        return failures.Count == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
    }

    private static SignallingAuthenticator Signer(byte[] key, uint spi, Ipv6Address peer) =>
        new(new KeyRing([new SecurityAssociation(spi, peer, AuthenticationAlgorithm.HmacSha256, [.. key])]), AuthenticationSettings.Default);

    private static (IReadOnlyDictionary<string, long> Sent, long SendErrors) Fuzz(DaemonFuzzOptions o, Dictionary<Ipv6Address, MobilityHeaderSocket> sockets,
        SignallingAuthenticator asDecoy, SignallingAuthenticator asLma, SignallingAuthenticator asMag, CancellationToken cancel)
    {
        var samples = WireSamples.All().Where(s => s.Packet.Length > Ipv6Packet.HeaderLength && s.Packet[6] == 135).ToList();
        var corpus = samples.Select(s => s.Packet[Ipv6Packet.HeaderLength..]).ToList();
        // To the MAG, signed as its LMA: everything but revocations (a signed BRI may rightly remove bindings).
        var magCorpus = samples.Where(s => s.Packet[Ipv6Packet.HeaderLength + 2] != (byte)MobilityHeaderType.BindingRevocation)
            .Select(s => s.Packet[Ipv6Packet.HeaderLength..]).ToList();
        var mutator = new PacketMutator(corpus, o.Seed);
        var magMutator = new PacketMutator(magCorpus, o.Seed + 1);
        var random = new Random(o.Seed);
        var buffer = new byte[PacketMutator.MaxPacketLength + MessageAuthentication.MaxOverhead];
        var signed = new byte[buffer.Length];
        var sent = Enum.GetValues<Route>().ToDictionary(r => r, _ => 0L);
        long errors = 0;
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < o.Duration && !cancel.IsCancellationRequested)
        {
            if (count >= (long)(o.Rate * clock.Elapsed.TotalSeconds))
            {
                Thread.Sleep(1);
                continue;
            }
            var route = (Route)random.Next(6);
            var length = (route == Route.ToMagSignedAsLma ? magMutator : mutator).Next(buffer, out _);
            var message = buffer.AsSpan(0, length);
            var (from, to) = route switch
            {
                Route.ToLmaUnprotected => (Strangers[count & 1], Lma),
                Route.ToLmaBadMac => (Mag, Lma),
                Route.ToLmaSignedByDecoy => (Decoy, Lma),
                Route.ToMagUnprotected => (Strangers[count & 1], Mag),
                Route.ToMagBadMac => (Lma, Mag),
                _ => (Lma, Mag),
            };
            var signer = route switch
            {
                Route.ToLmaBadMac => asMag,
                Route.ToLmaSignedByDecoy => asDecoy,
                Route.ToMagBadMac or Route.ToMagSignedAsLma => asLma,
                _ => null,
            };
            if (signer is not null && signer.Protect(message, from, to, DateTimeOffset.UtcNow, signed, out var written, out _) == ProtectOutcome.Protected)
            {
                message = signed.AsSpan(0, written);
                if (route is Route.ToLmaBadMac or Route.ToMagBadMac)
                    signed[written - 1 - random.Next(32)] ^= (byte)(1 << random.Next(8));
            }
            if (sockets[from].TrySend(message, to, null, out _))
                sent[route]++;
            else
                errors++;
            count++;
        }
        return (sent.ToDictionary(kv => RouteName(kv.Key), kv => kv.Value), errors);
    }

    private static string RouteName(Route route) => route switch
    {
        Route.ToLmaUnprotected => "to the LMA unprotected",
        Route.ToLmaBadMac => "to the LMA from the MAG's address with a broken MAC",
        Route.ToLmaSignedByDecoy => "to the LMA signed by an authorised decoy",
        Route.ToMagUnprotected => "to the MAG unprotected",
        Route.ToMagBadMac => "to the MAG from the LMA's address with a broken MAC",
        _ => "to the MAG signed as its LMA",
    };

    /// <summary>A signed heartbeat request from <paramref name="from"/> (whose socket it is) answered by <paramref name="to"/> within 2 s, 3 tries.</summary>
    private static bool HeartbeatAnswered(MobilityHeaderSocket socket, SignallingAuthenticator signer, Ipv6Address from, Ipv6Address to)
    {
        var buffer = new byte[512];
        var signed = new byte[512];
        var answer = new byte[MobilityHeaderSocket.MaxMessageLength];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var sequence = (uint)(0xF0000000 + attempt);
            var w = MobilityHeaderWriter.Heartbeat(buffer, response: false, sequence);
            if (!w.TryFinish(out var length)
                || signer.Protect(buffer.AsSpan(0, length), from, to, DateTimeOffset.UtcNow, signed, out var written, out _) != ProtectOutcome.Protected
                || !socket.TrySend(signed.AsSpan(0, written), to, null, out _))
                return false;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(2))
            {
                var n = socket.Receive(answer, out var source, out _, out _, out _);
                if (n > 0 && source == to && MobilityHeader.TryDecode(answer.AsSpan(0, n), out var mh, out _) && mh.Type == MobilityHeaderType.Heartbeat
                    && Heartbeat.TryDecode(mh, out var heartbeat, out _) && heartbeat.IsResponse && heartbeat.Sequence == sequence)
                    return true;
            }
        }
        return false;
    }

    private static void Attach(string ns, string mn)
    {
        if (DaemonsUnderTest.Http(ns, MagHttpPort, "POST", $"/attach?mn-id={Uri.EscapeDataString(mn)}", TimeSpan.FromSeconds(10)) is null)
            throw new BenchFailure($"the MAG refused POST /attach for {mn}");
    }

    private static bool WaitForBindings(string ns, IReadOnlyList<string> mobileNodes, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            cancel.ThrowIfCancellationRequested();
            var registered = BindingFacts.FromStatus(Status(ns, SelfLma.HttpPort)).Where(b => b.State == "registered").Select(b => b.MobileNodeId).ToHashSet();
            if (mobileNodes.All(registered.Contains))
                return true;
            Thread.Sleep(200);
        }
        return false;
    }

    private static string? Status(string ns, int port) => DaemonsUnderTest.Http(ns, port, "GET", "/status", TimeSpan.FromSeconds(10));

    private static MetricsScrape Metrics(string ns, int port) => MetricsScrape.Parse(DaemonsUnderTest.Http(ns, port, "GET", "/metrics", TimeSpan.FromSeconds(10)));
}
