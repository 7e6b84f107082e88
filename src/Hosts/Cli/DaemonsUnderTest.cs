// Our own daemons started by a bench inside its namespace (`bench signaling|flood|soak --against-self`,
// `fuzz daemons`): the temporary directory holding their configuration, keys and store; each process
// started through `ip netns exec` (which execs, so the process id is the daemon's and /proc/<pid>
// describes it); a blocking HTTP/1.1 client that runs inside the namespace (the daemons' admin endpoints
// listen on its loopback); and, on dispose, SIGTERM (SIGKILL after 5 s) to every daemon and the removal
// of the directory, before the namespace goes. Setup code, never a hot path.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

internal sealed class DaemonsUnderTest : BenchEnvironment
{
    private sealed record Daemon(string Role, Process Process, ConcurrentQueue<string> Log);

    private readonly List<Daemon> _daemons = [];
    private string? _directory;

    /// <summary>The temporary directory (created on first use, removed on dispose).</summary>
    public string Directory
    {
        get
        {
            lock (Sync)
                return _directory ??= System.IO.Directory.CreateTempSubdirectory("pmip6-bench-").FullName;
        }
    }

    /// <summary>Writes <paramref name="name"/> in <see cref="Directory"/>; <paramref name="ownerOnly"/>: mode 0600 (a keys file).</summary>
    public string WriteFile(string name, string text, bool ownerOnly = false)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        if (ownerOnly && !OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>
    /// Starts `pmip6 <paramref name="role"/> --config <paramref name="config"/>` in <paramref name="ns"/> and waits until it
    /// answers GET /status on 127.0.0.1:<paramref name="httpPort"/> there; its process id.
    /// </summary>
    public int Start(string role, string ns, string config, int httpPort, CancellationToken cancel)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "netns", "exec", ns, DotnetHost(), typeof(DaemonsUnderTest).Assembly.Location, role, "--config", config })
            start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new BenchFailure($"could not start the {role}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchFailure($"could not start the {role}: {e.Message}");
        }
        var daemon = new Daemon(role, process, new ConcurrentQueue<string>());
        lock (Sync) _daemons.Add(daemon);
        process.OutputDataReceived += (_, e) => Log(daemon, e.Data);
        process.ErrorDataReceived += (_, e) => Log(daemon, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new BenchFailure($"the {role} exited with {process.ExitCode} before answering /status; its last lines:\n  " + string.Join("\n  ", daemon.Log));
            }
            if (Http(ns, httpPort, "GET", "/status?limit=0", TimeSpan.FromSeconds(2)) is not null)
                return process.Id;
            if (deadline.Elapsed > TimeSpan.FromSeconds(90))
                throw new BenchFailure($"the {role} did not answer /status within 90 s; its last lines:\n  " + string.Join("\n  ", daemon.Log));
            Thread.Sleep(200);
        }
    }

    /// <summary>Whether the daemon started as <paramref name="role"/> is still running.</summary>
    public bool IsRunning(string role)
    {
        lock (Sync)
            return _daemons.FirstOrDefault(d => d.Role == role) is { } d && !d.Process.HasExited;
    }

    /// <summary>The last lines the daemon started as <paramref name="role"/> printed.</summary>
    public IReadOnlyList<string> LastLines(string role)
    {
        lock (Sync)
            return _daemons.FirstOrDefault(d => d.Role == role)?.Log.ToArray() ?? [];
    }

    private static void Log(Daemon daemon, string? line)
    {
        if (line is null) return;
        daemon.Log.Enqueue(line);
        while (daemon.Log.Count > 20 && daemon.Log.TryDequeue(out _)) { }
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
            return self;
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>A blocking HTTP/1.1 request from inside <paramref name="ns"/>; the body, or null on any failure or a non-2xx answer.</summary>
    public static string? Http(string? ns, int port, string method, string path, TimeSpan timeout, IPAddress? host = null) => InNamespace(ns, () =>
    {
        try
        {
            var address = host ?? IPAddress.Loopback;
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            {
                ReceiveTimeout = (int)timeout.TotalMilliseconds,
                SendTimeout = (int)timeout.TotalMilliseconds,
            };
            socket.Connect(address, port);
            socket.Send(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {address}:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
            using var stream = new NetworkStream(socket);
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var response = Encoding.UTF8.GetString(memory.ToArray());
            var headerEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (!response.StartsWith("HTTP/1.1 2", StringComparison.Ordinal) || headerEnd < 0)
                return null;
            var body = response[(headerEnd + 4)..];
            return response[..headerEnd].Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Unchunk(body) : body;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    });

    private static string Unchunk(string body)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0) break;
            var size = int.Parse(body[position..lineEnd].Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0) break;
            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }

    /// <summary>Stops every daemon (SIGTERM, SIGKILL after 5 s) and removes the temporary directory; never throws.</summary>
    protected override void CleanUp()
    {
        List<Daemon> daemons;
        string? dir;
        lock (Sync)
        {
            (daemons, dir) = ([.. _daemons], _directory);
            _daemons.Clear();
            _directory = null;
        }
        foreach (var daemon in Enumerable.Reverse(daemons))
        {
            try
            {
                if (!daemon.Process.HasExited)
                {
                    kill(daemon.Process.Id, SIGTERM);
                    if (!daemon.Process.WaitForExit(5_000))
                    {
                        daemon.Process.Kill(entireProcessTree: true);
                        daemon.Process.WaitForExit(5_000);
                    }
                }
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            daemon.Process.Dispose();
        }
        if (dir is not null)
        {
            try { System.IO.Directory.Delete(dir, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}

/// <summary>A scrape of a daemon's /metrics (Prometheus text format): every series by its full name with labels.</summary>
public sealed class MetricsScrape
{
    public static readonly MetricsScrape Empty = new(new Dictionary<string, double>());

    private readonly IReadOnlyDictionary<string, double> _series;

    private MetricsScrape(IReadOnlyDictionary<string, double> series) => _series = series;

    public static MetricsScrape Parse(string? text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in (text ?? "").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                series[line[..space]] = value;
        }
        return new MetricsScrape(series);
    }

    /// <summary>The series <paramref name="name"/> without labels, or with exactly <paramref name="label"/>="<paramref name="value"/>"; 0 when absent.</summary>
    public double Get(string name, string? label = null, string? value = null) =>
        _series.GetValueOrDefault(label is null ? name : $"{name}{{{label}=\"{value}\"}}");

    /// <summary>Whether the scrape has the series <paramref name="name"/> (without labels).</summary>
    public bool Has(string name) => _series.ContainsKey(name);

    /// <summary>The sum of every series called <paramref name="name"/>, whatever its labels.</summary>
    public double Sum(string name) =>
        _series.Where(s => s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal)).Sum(s => s.Value);

    /// <summary>Each series called <paramref name="name"/> by the value of its one label (the empty string for none).</summary>
    public IReadOnlyDictionary<string, double> ByLabel(string name) => _series
        .Where(s => s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal))
        .ToDictionary(s => s.Key == name ? "" : s.Key[(s.Key.IndexOf('"') + 1)..s.Key.LastIndexOf('"')], s => s.Value);
}

/// <summary>What /proc says about a process: resident memory, CPU time, open descriptors. Null where it cannot be read.</summary>
public sealed record ProcessSample(long? ResidentBytes, double? CpuSeconds, int? OpenFiles)
{
    /// <summary>USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every Linux architecture we run on.</summary>
    public const double ClockTicksPerSecond = 100;

    public static ProcessSample Read(int pid)
    {
        string? status = null, stat = null;
        int? files = null;
        try { status = File.ReadAllText($"/proc/{pid}/status"); } catch (IOException) { }
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); } catch (IOException) { }
        try { files = System.IO.Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new ProcessSample(status is null ? null : ResidentBytesOf(status), stat is null ? null : CpuSecondsOf(stat), files);
    }

    /// <summary>CPU seconds of the process's threads called <paramref name="name"/> (/proc/<pid>/task/*/comm), null when none.</summary>
    public static double? ThreadCpuSeconds(int pid, string name)
    {
        double? total = null;
        try
        {
            foreach (var task in System.IO.Directory.GetDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == name && CpuSecondsOf(File.ReadAllText(Path.Combine(task, "stat"))) is { } cpu)
                        total = (total ?? 0) + cpu;
                }
                catch (IOException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return total;
    }

    /// <summary>
    /// The receive queue (bytes) and drop count of the raw socket of protocol <paramref name="protocol"/> bound to
    /// <paramref name="local"/>, from /proc/<pid>/net/raw6 (the process's network namespace); null when not found.
    /// </summary>
    public static (long QueuedBytes, long Drops)? RawSocket(int pid, Pmip6Akka.Dataplane.Wire.Ipv6Address local, int protocol)
    {
        try
        {
            return RawSocketOf(File.ReadAllText($"/proc/{pid}/net/raw6"), local, protocol);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Parses /proc/net/raw6: "sl local:proto remote:port st tx_queue:rx_queue ... drops", addresses as four host-order 32-bit words.</summary>
    public static (long QueuedBytes, long Drops)? RawSocketOf(string raw6, Pmip6Akka.Dataplane.Wire.Ipv6Address local, int protocol)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, local.Value);
        var address = new StringBuilder();
        for (var word = 0; word < 4; word++)
            for (var b = 3; b >= 0; b--)
                address.Append(bytes[word * 4 + b].ToString("X2", CultureInfo.InvariantCulture));
        var wanted = $"{address}:{protocol:X4}";
        foreach (var line in raw6.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 13 || fields[1] != wanted)
                continue;
            var queues = fields[4].Split(':');
            if (queues.Length == 2 && long.TryParse(queues[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rx)
                && long.TryParse(fields[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var drops))
                return (rx, drops);
        }
        return null;
    }

    /// <summary>VmRSS from /proc/<pid>/status, in bytes.</summary>
    public static long? ResidentBytesOf(string status)
    {
        foreach (var line in status.Split('\n'))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)
                && long.TryParse(line[6..].Trim().Split(' ')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kib))
                return kib * 1024;
        return null;
    }

    /// <summary>utime + stime (fields 14 and 15) from /proc/<pid>/stat; the command name in parentheses may hold spaces.</summary>
    public static double? CpuSecondsOf(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0)
            return null;
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        if (fields.Length < 13 || !long.TryParse(fields[11], out var user) || !long.TryParse(fields[12], out var system))
            return null;
        return (user + system) / ClockTicksPerSecond;
    }
}

/// <summary>Our LMA for a bench: signalling only (no tunnel), SQLite store in the bench's directory, /status on 127.0.0.1:9180 in its namespace.</summary>
internal static class SelfLma
{
    public const int HttpPort = 9180;
    public const string StoreFile = "lma.db";

    /// <summary>Starts it with <paramref name="mags"/> authorised; <paramref name="extra"/>: more keys inside `pmip6.lma { }`. Its process id.</summary>
    public static int Start(DaemonsUnderTest env, string ns, Pmip6Akka.Dataplane.Wire.Ipv6Address lma,
        IEnumerable<Pmip6Akka.Dataplane.Wire.Ipv6Address> mags, string extra, CancellationToken cancel)
    {
        env.WriteFile("policies.conf", $$"""
            pmip6.policies {
              profiles = [
                { mn-id-suffix = "{{SignalingBenchmark.MobileNodeSuffix}}", hnp-count = 1, max-lifetime = 1h }
              ]
            }
            """);
        var config = env.WriteFile("lma.conf", $$"""
            pmip6.lma {
              address = "{{lma}}"
              device = ""
              authorized-mags = [{{string.Join(", ", mags.Select(m => $"\"{m}\""))}}]
              prefix-pool = "2001:db8:a000::/36"
              prefix-length = 64
              policy-file = "policies.conf"
              max-lifetime = 1h
              heartbeat-interval = 1h
              store = "{{Path.Combine(env.Directory, StoreFile)}}"
              http = "127.0.0.1:{{HttpPort}}"
              cluster-port = 0
              # Signalling only: the benchmark's MAGs carry no traffic (bench dataplane measures the tunnel).
              tunnel { mode = "off" }
            {{extra}}
            }
            """);
        return env.Start("lma", ns, config, HttpPort, cancel);
    }
}
