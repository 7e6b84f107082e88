// Operations of a running daemon, run as a real process: SIGHUP reloads the policy profiles and the
// keys file (a broken file keeps the old one, named in one log line), SIGTERM stops it cleanly with
// exit 0, and `log { format = json }` makes every line of standard output a JSON object.
using System.Text.Json;
using Pmip6Akka.Hosts.Daemons;

namespace Pmip6Akka.Hosts.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OperationsSpec : IDisposable
{
    private const int SIGHUP = 1, SIGTERM = 15;
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-ops-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private void WritePolicies(params string[] profiles) =>
        File.WriteAllText(Path.Combine(_dir, "policies.conf"), $"pmip6.policies {{ profiles = [\n{string.Join("\n", profiles)}\n] }}\n");

    private void WriteKeys(params string[] entries)
    {
        var path = Path.Combine(_dir, "keys.conf");
        File.WriteAllText(path, $"pmip6.keys = [\n{string.Join(",\n", entries)}\n]\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private string MagConfig(int port, string revoke) => LoopbackMagConfig(_dir, port, $$"""
          # No LMA answers at ::1: an admitted node's PBUs (pbu_sent_total) stop after three.
          initial-bindack-timeout-first-reg = 10ms
          max-bindack-timeout = 40ms
          log { format = "json", level = "info" }
          shutdown { revoke-bindings = {{revoke}}, timeout = 10s }
        """);

    /// <summary>A MAG on ::1 whose LMA is at ::1, with policies.conf and keys.conf of <paramref name="dir"/>; <paramref name="extra"/>: more keys.</summary>
    internal static string LoopbackMagConfig(string dir, int port, string extra = "")
    {
        var path = Path.Combine(dir, "mag.conf");
        File.WriteAllText(path, $$"""
            pmip6.mag {
              address = "::1"
              lma = "::1"
              policy-file = "policies.conf"
              state-directory = "state"
              http = "127.0.0.1:{{port}}"
              tunnel { mode = "off" }
              security { keys-file = "keys.conf", reload-interval = 1h }
            {{extra}}
            }
            """);
        return path;
    }

    private string Metrics(int port) => _http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();

    private static long Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void WaitFor(Func<bool> condition, string what, DaemonProcess daemon, Func<string>? last = null)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            if (condition())
                return;
            Thread.Sleep(100);
        }
        throw new Xunit.Sdk.XunitException($"{what} within 15 s:\n{daemon.Transcript}\n{(last is null ? "" : last())}");
    }

    private void Attach(int port, string mn) =>
        Assert.Equal(202, (int)_http.PostAsync($"http://127.0.0.1:{port}/attach?mn-id={mn}", null).GetAwaiter().GetResult().StatusCode);

    private string Status(int port) => _http.GetStringAsync($"http://127.0.0.1:{port}/status").GetAwaiter().GetResult();

    private static bool IsJsonObject(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private const string PbusSent = "pmip6_mag_pbu_sent_total";

    private const string Refused = "pmip6_mag_attach_refused_total{reason=\"no-policy\"}";

    private static string Reloads(string what, string result) => $"pmip6_mag_config_reloads_total{{what=\"{what}\",result=\"{result}\"}}";

    [Fact]
    public void A_mag_reloads_its_profiles_and_keys_on_sighup_keeps_them_when_broken_logs_json_and_stops_with_exit_0_on_sigterm()
    {
        WritePolicies("""{ mn-id = "old@ops.example" }""");
        WriteKeys(KeysFileSpec.Entry(4096, "::1"));
        var port = DaemonProcess.FreePort();
        using var mag = new DaemonProcess("mag", "--config", MagConfig(port, "off"));
        mag.WaitForLine("pmip6 mag: serving on", Start);

        // Before the reload: a node without a profile is refused, no PBU sent.
        Attach(port, "new@ops.example");
        WaitFor(() => Sample(Metrics(port), Refused) == 1, "the node without a profile refused", mag);
        Assert.Equal(0, Sample(Metrics(port), PbusSent));

        // The new profile set, then SIGHUP: the new node is admitted, one still without a profile refused.
        WritePolicies("""{ mn-id = "old@ops.example" }""", """{ mn-id = "new2@ops.example" }""", """{ mn-id-suffix = "@fleet.ops.example" }""");
        WriteKeys(KeysFileSpec.Entry(4096, "::1"), KeysFileSpec.Entry(4097, "::1", KeysFileSpec.Secret2));
        mag.Signal(SIGHUP);
        WaitFor(() => Sample(Metrics(port), Reloads("policies", "loaded")) == 1 && Sample(Metrics(port), Reloads("keys", "loaded")) == 1, "policies and keys reloaded", mag);
        Attach(port, "new2@ops.example");
        Attach(port, "stranger@ops.example");
        WaitFor(() => Sample(Metrics(port), Refused) == 2, "the stranger refused", mag);
        WaitFor(() => Sample(Metrics(port), PbusSent) == 3, "the newly allowed node's three PBUs sent", mag, () => Status(port));

        // A broken policy file and a broken keys file: both reported by key and file, the old ones stay in use.
        WritePolicies("""{ mn-id = "old@ops.example", hnp-count = 99 }""");
        WriteKeys(KeysFileSpec.Entry(4096, "::1", "hex:0001"));
        mag.Signal(SIGHUP);
        WaitFor(() => Sample(Metrics(port), Reloads("policies", "failed")) == 1 && Sample(Metrics(port), Reloads("keys", "failed")) == 1, "both reloads failed", mag);
        var policyError = mag.WaitForLine("not reloaded, the previous 3 profiles stay in use", TimeSpan.FromSeconds(5));
        Assert.Contains("pmip6.policies.profiles[0].hnp-count", policyError);
        Assert.Contains(Path.Combine(_dir, "policies.conf"), policyError);
        var keysError = mag.WaitForLine("keys not reloaded", TimeSpan.FromSeconds(5));
        Assert.Contains("pmip6.keys[0].secret", keysError);
        Assert.Contains(Path.Combine(_dir, "keys.conf"), keysError);
        Attach(port, "car7@fleet.ops.example"); // the suffix profile of the set still in use
        WaitFor(() => Sample(Metrics(port), PbusSent) == 6, "the three PBUs of a node of the profiles still in use", mag, () => Status(port));
        Assert.Equal(2, Sample(Metrics(port), Refused));

        // SIGTERM with revoke-bindings = off: the sessions are left to age, exit 0 within the timeout.
        mag.Signal(SIGTERM);
        var (code, took) = mag.WaitForExit(TimeSpan.FromSeconds(15));
        Assert.True(code == 0, mag.Transcript);
        Assert.True(took < TimeSpan.FromSeconds(10), $"stopping took {took}");
        Assert.Contains(mag.Lines, l => l.Contains("sessions left to age at the LMA (shutdown.revoke-bindings = off)"));
        Assert.DoesNotContain(mag.Lines, l => l.Contains("global revocation"));
        Assert.Contains(mag.Lines, l => l.Contains("pmip6 mag: stopped in"));

        // Every line of standard output is a JSON object with time, level, source and message.
        Assert.True(mag.Lines.Count >= 8, mag.Transcript);
        foreach (var line in mag.Lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            Assert.True(DateTimeOffset.TryParse(root.GetProperty("time").GetString(), out _), line);
            Assert.Contains(root.GetProperty("level").GetString(), new[] { "debug", "info", "warning", "error" });
            Assert.False(string.IsNullOrEmpty(root.GetProperty("source").GetString()), line);
            Assert.False(string.IsNullOrEmpty(root.GetProperty("message").GetString()), line);
        }
        Assert.Contains(mag.Lines, l => l.Contains("\"source\":\"pmip6.mag\"") && l.Contains("serving on"));
        Assert.Contains(mag.Lines, l => l.Contains("\"source\":\"akka://pmip6-mag/user/mag\""));
    }

    private string LmaConfig(int port) => LoopbackLmaConfig(_dir, port);

    /// <summary>An LMA on ::1 authorising a MAG on ::1, with policies.conf and keys.conf of <paramref name="dir"/>; <paramref name="extra"/>: more keys.</summary>
    internal static string LoopbackLmaConfig(string dir, int port, string extra = "")
    {
        var path = Path.Combine(dir, "lma.conf");
        File.WriteAllText(path, $$"""
            pmip6.lma {
              address = "::1"
              authorized-mags = ["::1"]
              prefix-pool = "2001:db8:a000::/40"
              policy-file = "policies.conf"
              store = "lma.db"
              http = "127.0.0.1:{{port}}"
              tunnel { mode = "off" }
              buffering { enabled = off }
              security { keys-file = "keys.conf" }
              log { format = "json" }
              shutdown { timeout = 20s }
            {{extra}}
            }
            """);
        return path;
    }

    [Fact]
    public void An_lma_stopped_with_sigterm_exits_0_with_its_bindings_in_the_journal_and_recovers_them_at_the_next_start()
    {
        WritePolicies("""{ mn-id = "kept@ops.example" }""");
        WriteKeys(KeysFileSpec.Entry(4096, "::1"));
        var lmaPort = DaemonProcess.FreePort();
        var magPort = DaemonProcess.FreePort();
        var lmaConfig = LmaConfig(lmaPort);
        using (var lma = new DaemonProcess("lma", "--config", lmaConfig))
        {
            lma.WaitForLine("pmip6 lma: serving on", Start);
            Assert.Contains("0 mobile nodes with bindings", lma.WaitForLine("binding buckets recovered", TimeSpan.Zero));
            // A MAG on the same address registers a node (each daemon ignores the messages meant for the other).
            using var mag = new DaemonProcess("mag", "--config", MagConfig(magPort, "off"));
            mag.WaitForLine("pmip6 mag: serving on", Start);
            Attach(magPort, "kept@ops.example");
            WaitFor(() => _http.GetStringAsync($"http://127.0.0.1:{lmaPort}/status").GetAwaiter().GetResult().Contains("kept@ops.example"),
                "the binding at the LMA", lma);

            lma.Signal(SIGTERM);
            var (code, took) = lma.WaitForExit(TimeSpan.FromSeconds(30));
            Assert.True(code == 0, lma.Transcript);
            Assert.True(took < TimeSpan.FromSeconds(20), $"stopping took {took}");
            Assert.Contains(lma.Lines, l => l.Contains("pmip6 lma: stopped in") && l.Contains("journal flushed"));
            foreach (var line in lma.Lines)
                Assert.True(IsJsonObject(line), $"not a JSON line: {line}");
            mag.Signal(SIGTERM);
            Assert.Equal(0, mag.WaitForExit(TimeSpan.FromSeconds(15)).ExitCode);
        }
        // The registration was written before the LMA exited: the next start recovers it.
        using var again = new DaemonProcess("lma", "--config", lmaConfig);
        Assert.Contains("1 mobile nodes with bindings", again.WaitForLine("binding buckets recovered", Start));
        again.Signal(SIGTERM);
        Assert.Equal(0, again.WaitForExit(TimeSpan.FromSeconds(30)).ExitCode);
    }

    [Fact]
    public void An_lma_stopped_by_a_signal_while_it_starts_says_so_in_one_line_and_exits_1()
    {
        // Before its own handlers the runtime ends the process and stops the actor system, so what the start-up waits for
        // fails (an ask's timeout); that is reported as the stop it is, not as an unhandled exception or a journal refusal.
        WritePolicies("""{ mn-id = "kept@ops.example" }""");
        WriteKeys(KeysFileSpec.Entry(4096, "::1"));
        using var lma = new DaemonProcess("lma", "--config", LmaConfig(DaemonProcess.FreePort()));
        // The cluster of one is up; the buckets recover ~2 s later. (A signal before the actor system exists ends the process
        // with nothing to report.)
        lma.WaitForLine("Leader is moving node", Start);
        lma.Signal(SIGTERM);
        var (code, _) = lma.WaitForExit(TimeSpan.FromSeconds(30));

        Assert.True(code == 1, $"exit {code}\n{lma.Transcript}");
        Assert.Contains("pmip6 lma: stopped by a signal while starting, before serving", lma.Transcript);
        Assert.DoesNotContain("Unhandled exception", lma.Transcript);
        Assert.DoesNotContain("serving on", lma.Transcript);
    }
}
