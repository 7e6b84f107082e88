// Real daemons in real network namespaces: an LMA namespace and a MAG namespace joined by a veth
// pair, each running the built `pmip6` command, configured from a temporary folder. Everything it
// creates (namespaces, processes, files) is removed on Dispose, whatever happened.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Pmip6Akka.Dataplane.Tests.Linux;

namespace Pmip6Akka.EndToEnd.Tests;

public sealed class DaemonDomain : IDisposable
{
    public const string LmaAddress = "2001:db8:100::1";
    public const string MagAddress = "2001:db8:1::2";
    public const int LmaHttp = 9180;
    public const int MagHttp = 9181;

    private readonly NetworkNamespaces _namespaces = new();
    private readonly List<Process> _processes = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-e2e-").FullName;
    public string LmaNamespace { get; }
    public string MagNamespace { get; }
    public string LmaLog => Path.Combine(_dir, "lma.log");
    public string LmaStore => Path.Combine(_dir, "lma.db");
    public string LmaConfig => Path.Combine(_dir, "lma.conf");
    public string MagLog => Path.Combine(_dir, "mag.log");
    private Process? _lma;

    public DaemonDomain()
    {
        LmaNamespace = _namespaces.Create('l');
        MagNamespace = _namespaces.Create('m');
        _namespaces.Veth(LmaNamespace, "vl", MagNamespace, "vm");
        _namespaces.AddAddress(LmaNamespace, "vl", LmaAddress + "/64");
        _namespaces.AddAddress(MagNamespace, "vm", "2001:db8:100::2/64");
        _namespaces.AddAddress(MagNamespace, "vm", MagAddress + "/128");
        _namespaces.AddRoute(LmaNamespace, MagAddress + "/128", "vl");
        // Both run the userspace tunnel (the default), which routes and so needs forwarding on.
        foreach (var ns in new[] { LmaNamespace, MagNamespace })
            NetworkNamespaces.Ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        File.WriteAllText(Path.Combine(_dir, "policies.conf"), """
            pmip6.policies {
              profiles = [
                { mn-id = "mn1@pmip6.example", hnp-count = 1 }
                { mn-id-suffix = "@load.pmip6.example", hnp-count = 1 }
              ]
            }
            """);
        // The MAG's profiles also name an MN the LMA does not serve (to see the LMA refuse it with 153).
        File.WriteAllText(Path.Combine(_dir, "mag-policies.conf"), """
            pmip6.policies {
              profiles = [
                { mn-id = "mn1@pmip6.example" }
                { mn-id = "stranger@elsewhere.example" }
                { mn-id-suffix = "@load.pmip6.example" }
              ]
            }
            """);
        File.WriteAllText(Path.Combine(_dir, "lma.conf"), $$"""
            pmip6.lma {
              address = "{{LmaAddress}}"
              authorized-mags = ["{{MagAddress}}"]
              prefix-pool = "2001:db8:a000::/40"
              prefix-length = 64
              policy-file = "policies.conf"
              heartbeat-interval = 1s
              store = "lma.db"
              http = "127.0.0.1:{{LmaHttp}}"
            }
            """);
        File.WriteAllText(Path.Combine(_dir, "mag.conf"), MagConfig(MagAddress, LmaAddress, "mag-policies.conf", "32s", MagHttp));
    }

    /// <summary>A MAG daemon's configuration for a spec: fast first retransmission, heartbeats every second.</summary>
    internal static string MagConfig(string address, string lma, string policyFile, string maxBindackTimeout, int http) => $$"""
        pmip6.mag {
          address = "{{address}}"
          lma = "{{lma}}"
          policy-file = "{{policyFile}}"
          heartbeat-interval = 1s
          initial-bindack-timeout-first-reg = 500ms
          max-bindack-timeout = {{maxBindackTimeout}}
          state-directory = "mag-state"
          http = "127.0.0.1:{{http}}"
        }
        """;

    public void StartLma()
    {
        _lma = Start(LmaNamespace, "lma", LmaLog);
    }

    public void StartMag() => Start(MagNamespace, "mag", MagLog);

    /// <summary>SIGKILL: no shutdown hook runs, the journal is left as the crash leaves it.</summary>
    public void KillLma()
    {
        _lma!.Kill(entireProcessTree: true);
        _lma.WaitForExit(10_000);
    }

    private Process Start(string ns, string role, string log)
    {
        var process = StartDaemon(ns, role, Path.Combine(_dir, role + ".conf"), log, _dir);
        _processes.Add(process);
        return process;
    }

    /// <summary>
    /// Starts `pmip6 ROLE --config FILE` in namespace <paramref name="ns"/>, its output appended to <paramref name="log"/>,
    /// and waits until it says it is serving (fails with the log otherwise). The caller kills it.
    /// </summary>
    internal static Process StartDaemon(string ns, string role, string config, string log, string workingDirectory, TimeSpan? patience = null)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var arg in new[] { "netns", "exec", ns, "dotnet", Pmip6Dll, role, "--config", config })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var serving = new TaskCompletionSource();
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        void Line(string? line)
        {
            if (line is null) return;
            lock (writer) writer.WriteLine(line);
            if (line.Contains($"pmip6 {role}: serving on")) serving.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!serving.Task.Wait(patience ?? TimeSpan.FromSeconds(60)) || process.HasExited)
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"pmip6 {role} in {ns} did not start:\n{File.ReadAllText(log)}");
        }
        return process;
    }

    /// <summary>The repository's root folder (the one holding Pmip6Akka.sln).</summary>
    internal static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pmip6Akka.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException($"no Pmip6Akka.sln above {AppContext.BaseDirectory}");
        }
    }

    internal static string Pmip6Dll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
            var dll = Path.Combine(RepositoryRoot, "src", "Hosts", "bin", configuration, "net10.0", "pmip6.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the solution first: {dll} is missing");
        }
    }

    /// <summary>Sends raw Mobility Header octets from the MAG's address to the LMA (the kernel fills the checksum).</summary>
    public void SendRawToLma(params byte[][] messages) => _namespaces.Run(MagNamespace, () =>
    {
        using var socket = Pmip6Akka.Dataplane.Linux.MobilityHeaderSocket.Open(new Pmip6Akka.Dataplane.Linux.MobilityHeaderSocketOptions
        {
            LocalAddress = Pmip6Akka.Dataplane.Wire.Ipv6Address.Parse(MagAddress),
        });
        foreach (var message in messages)
            Assert.True(socket.TrySend(message, Pmip6Akka.Dataplane.Wire.Ipv6Address.Parse(LmaAddress), null, out var errno), $"send failed: errno {errno}");
    });

    /// <summary>Runs the `pmip6` command inside a namespace (as an operator would on that host).</summary>
    public (int ExitCode, string Out, string Err) Cli(string ns, params string[] args)
        => RunTool("ip", ["netns", "exec", ns, "dotnet", Pmip6Dll, .. args], TimeSpan.FromSeconds(60));

    /// <summary>Runs a program to its end (killed after <paramref name="patience"/>); its exit code and what it printed.</summary>
    internal static (int ExitCode, string Out, string Err) RunTool(string file, string[] args, TimeSpan patience)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit((int)patience.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        return (process.ExitCode, output, err.Result);
    }

    /// <summary>An HTTP request to a daemon's loopback endpoint, made from inside its namespace.</summary>
    public (int Status, string Body) Http(string ns, int port, string method, string pathAndQuery) => Http(_namespaces, ns, port, method, pathAndQuery);

    internal static (int Status, string Body) Http(NetworkNamespaces namespaces, string ns, int port, string method, string pathAndQuery) => namespaces.Run(ns, () =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = 15_000;
        socket.Connect("127.0.0.1", port);
        socket.Send(Encoding.ASCII.GetBytes($"{method} {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        var response = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
            response.Write(buffer, 0, n);
        var text = Encoding.UTF8.GetString(response.ToArray());
        var status = int.Parse(text.Split(' ')[1]);
        return (status, text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    });

    public JsonElement LmaStatus() => JsonDocument.Parse(Http(LmaNamespace, LmaHttp, "GET", "/status?limit=100000").Body).RootElement;

    public JsonElement MagStatus() => JsonDocument.Parse(Http(MagNamespace, MagHttp, "GET", "/status").Body).RootElement;

    public void Attach(string mn, int handoff = 1) =>
        Assert.Equal(202, Http(MagNamespace, MagHttp, "POST", $"/attach?mn-id={Uri.EscapeDataString(mn)}&handoff={handoff}").Status);

    /// <summary>MN-ID → prefix of every binding in the LMA's status.</summary>
    public Dictionary<string, string> LmaBindings() => LmaBindings(LmaStatus());

    internal static Dictionary<string, string> LmaBindings(JsonElement status) => status.GetProperty("bindings").EnumerateArray()
        .ToDictionary(b => b.GetProperty("mnId").GetString()!, b => b.GetProperty("hnps")[0].GetString()!);

    /// <summary>MN-ID → prefix of every session the MAG holds as registered (acknowledged by a PBA).</summary>
    public Dictionary<string, string> MagRegistered() => MagRegistered(MagStatus());

    internal static Dictionary<string, string> MagRegistered(JsonElement status) => status.GetProperty("bindingUpdateList").EnumerateArray()
        .Where(e => e.GetProperty("state").GetString() is "registered" or "refreshing")
        .ToDictionary(e => e.GetProperty("mnId").GetString()!, e => e.GetProperty("hnps")[0].GetString()!);

    public static void Eventually(Action assertion, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>Kills each process (SIGKILL) that still runs and waits for it briefly; never throws.</summary>
    internal static void KillAll(IEnumerable<Process> processes)
    {
        foreach (var process in processes)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
                process.WaitForExit(5_000);
            }
            catch (Exception)
            {
                // already gone
            }
        }
    }

    public void Dispose()
    {
        KillAll(_processes);
        _namespaces.Dispose();
        if (Environment.GetEnvironmentVariable("PMIP6_E2E_KEEP") == "1")
            return; // keep the logs for a look
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
