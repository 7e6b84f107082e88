// Admission after authentication (issue 10): on an LMA that authenticates its signalling, bogus messages sent
// from an authorised MAG's own address — a forged MAC, no authentication option — are checked and dropped on
// the receive thread without spending that MAG's admission tokens, so the MAG is served right after them.
// A real LMA and MAG on ::1 (raw Mobility Header sockets), as in OperationsSpec; a key of its own (SPI 5213)
// so the daemons of other specs on ::1 cannot register here.
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Cli;
using Xunit;

namespace Pmip6Akka.Hosts.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AdmissionAfterAuthenticationSpec : IDisposable
{
    private const uint Spi = 5213;
    private const int Forged = 500, Unprotected = 500, PeerBurst = 50;
    private static readonly Ipv6Address Loopback = Ipv6Address.Parse("::1");
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-admission-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private long Sample(int port, string series)
    {
        var metrics = Get(port, "/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private string Get(int port, string path) => _http.GetStringAsync($"http://127.0.0.1:{port}{path}").GetAwaiter().GetResult();

    private int Attach(int port, string mn) => (int)_http.PostAsync($"http://127.0.0.1:{port}/attach?mn-id={mn}", null).GetAwaiter().GetResult().StatusCode;

    private static void Eventually(Func<bool> condition, string what, Func<string> state)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (condition())
                return;
            Thread.Sleep(100);
        }
        throw new Xunit.Sdk.XunitException($"{what} within 20 s:\n{state()}");
    }

    [Fact]
    public void Bogus_messages_from_a_mags_own_address_are_dropped_without_spending_its_tokens_and_the_mag_is_served()
    {
        Write("policies.conf", """pmip6.policies { profiles = [ { mn-id = "spoofed@admission.example" } ] }""");
        var keys = Write("keys.conf", "pmip6.keys = [\n" + KeysFileSpec.Entry(Spi, "::1") + "\n]\n");
        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var lmaPort = DaemonProcess.FreePort();
        var magPort = DaemonProcess.FreePort();
        // The MAG's bucket holds PeerBurst messages and refills at one a second: the bogus ones, were they charged to it,
        // would leave it empty.
        var lmaConfig = OperationsSpec.LoopbackLmaConfig(_dir, lmaPort, $"admission {{ per-peer-rate = 1, per-peer-burst = {PeerBurst} }}");
        var magConfig = OperationsSpec.LoopbackMagConfig(_dir, magPort);
        using var lma = new DaemonProcess("lma", "--config", lmaConfig);
        lma.WaitForLine("pmip6 lma: serving on", TimeSpan.FromSeconds(60));
        using var mag = new DaemonProcess("mag", "--config", magConfig);
        mag.WaitForLine("pmip6 mag: serving on", TimeSpan.FromSeconds(60));
        string State() => $"LMA:\n{lma.Transcript}\nLMA metrics:\n{Get(lmaPort, "/metrics")}";

        // From the MAG's address: PBUs signed with the MAG's SPI but a wrong secret, and PBUs without authentication.
        var wrongKey = new SignallingAuthenticator(new KeyRing([new SecurityAssociation(Spi, Loopback, AuthenticationAlgorithm.HmacSha256,
            [.. Enumerable.Range(100, 32).Select(b => (byte)b)])]), AuthenticationSettings.Default);
        using (var socket = MobilityHeaderSocket.Open(new MobilityHeaderSocketOptions { LocalAddress = Loopback }))
        {
            var pbu = new byte[256];
            var signed = new byte[256 + MessageAuthentication.MaxOverhead];
            for (var k = 0; k < Forged + Unprotected; k++)
            {
                var n = SignalingBenchmark.LoadGenerator.WritePbu(pbu, 7_000_000 + k, (ushort)k, default, refresh: false);
                if (k < Forged)
                {
                    Assert.Equal(ProtectOutcome.Protected, wrongKey.Protect(pbu.AsSpan(0, n), Loopback, Loopback, DateTimeOffset.UtcNow, signed, out var written, out _));
                    Assert.True(socket.TrySend(signed.AsSpan(0, written), Loopback, null, out _));
                }
                else
                    Assert.True(socket.TrySend(pbu.AsSpan(0, n), Loopback, null, out _));
                if (k % 100 == 99)
                    Thread.Sleep(5); // the kernel's queue for the LMA's socket is not what this spec is about
            }
        }

        // Every bogus message was checked — none stopped by the MAG's bucket — and dropped by reason.
        const string badMac = "pmip6_lma_mh_auth_rejected_total{reason=\"bad-mac\"}", missing = "pmip6_lma_mh_auth_rejected_total{reason=\"missing-option\"}";
        Eventually(() => Sample(lmaPort, badMac) == Forged && Sample(lmaPort, missing) == Unprotected, "every bogus message rejected by authentication", State);
        Assert.Equal(0, Sample(lmaPort, "pmip6_lma_mh_rate_limited_total{scope=\"peer\"}"));

        // The MAG's own, verified PBU right after: its bucket is still full.
        Assert.Equal(202, Attach(magPort, "spoofed@admission.example"));
        Eventually(() => Get(lmaPort, "/status").Contains("spoofed@admission.example"),
            "the MAG's node registered at the LMA", State);
        Assert.Equal(0, Sample(lmaPort, "pmip6_lma_mh_rate_limited_total{scope=\"peer\"}"));
    }
}
