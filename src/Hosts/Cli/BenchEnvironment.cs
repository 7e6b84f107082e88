// What the benches that build their own network share: network namespaces they create (and refuse to
// reuse), addresses they add, objects to dispose before the namespaces go, code run inside a
// namespace on a dedicated thread (setns), and `ip` run once per setup step with its exit code checked.
// Dispose undoes everything and never throws; it also runs on process exit, and the benches cancel on
// SIGINT/SIGTERM and dispose in a finally, so nothing outlives the bench. The benches are not daemons:
// shelling out to `ip` / `sysctl` here is setup, never a hot path.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.ExceptionServices;
using System.Text;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

/// <summary>A bench could not set up or run; its message is the one line for stderr (exit 1).</summary>
internal sealed class BenchFailure(string message) : Exception(message);

internal class BenchEnvironment : IDisposable
{
    public const string RunDirectory = "/var/run/netns";
    protected readonly Lock Sync = new();
    private readonly List<string> _namespaces = [];
    private readonly List<(string? Ns, Ipv6Address Address)> _addresses = [];
    private readonly List<IDisposable> _owned = [];
    private bool _disposed;

    public BenchEnvironment() => AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    /// <summary>
    /// Runs a bench with SIGINT/SIGTERM turned into cancellation: interrupted -> 130, a <see cref="BenchFailure"/> -> its
    /// one line on stderr and exit 1; <paramref name="environment"/> is disposed in every case.
    /// </summary>
    public static int RunGuarded(string verb, BenchEnvironment environment, Func<CancellationToken, int> body)
    {
        using var cancel = new CancellationTokenSource();
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        })).ToList();
        try
        {
            var code = body(cancel.Token);
            return cancel.IsCancellationRequested ? 130 : code;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"pmip6 {verb}: interrupted; cleaned up");
            return 130;
        }
        catch (BenchFailure e)
        {
            Console.Error.WriteLine($"pmip6 {verb}: {e.Message}");
            return CommandLine.ExitFailure;
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
            environment.Dispose();
        }
    }

    public static bool NamespaceExists(string name) => File.Exists(Path.Combine(RunDirectory, name));

    /// <summary>Creates namespace <paramref name="name"/> with lo up, removed on dispose; fails if it already exists.</summary>
    public string CreateNamespace(string name)
    {
        if (NamespaceExists(name))
            throw new BenchFailure($"network namespace {name} already exists (another bench running, or a killed one: ip netns del {name})");
        var (code, _, error) = RunIp(null, "netns", "add", name);
        if (code != 0)
            throw new BenchFailure($"ip netns add {name} failed: {error.Trim()}");
        lock (Sync) _namespaces.Add(name);
        Ip(null, "-n", name, "link", "set", "lo", "up");
        return name;
    }

    public void AddAddresses(string? ns, IReadOnlyList<Ipv6Address> addresses)
    {
        var batch = new StringBuilder();
        foreach (var address in addresses)
        {
            if (ns is null && AddressPresent(address))
                continue; // someone else's: use it, leave it
            batch.Append(CultureInfo.InvariantCulture, $"addr add {address}/128 dev lo nodad\n");
            lock (Sync) _addresses.Add((ns, address));
        }
        if (batch.Length == 0)
            return;
        var (code, _, error) = RunIp(batch.ToString(), ns is null ? ["-batch", "-"] : ["-n", ns, "-batch", "-"]);
        if (code != 0)
            throw new BenchFailure($"adding the bench addresses failed: {error.Trim()}");
    }

    private static bool AddressPresent(Ipv6Address address)
    {
        var (_, output, _) = RunIp(null, "-6", "-o", "addr", "show", "dev", "lo");
        return output.Contains($" {address}/", StringComparison.Ordinal);
    }

    /// <summary>Disposes <paramref name="owned"/> (in reverse order of tracking) before the namespaces are removed.</summary>
    public T Track<T>(T owned) where T : IDisposable
    {
        lock (Sync)
        {
            if (_disposed)
            {
                owned.Dispose();
                throw new OperationCanceledException();
            }
            _owned.Add(owned);
        }
        return owned;
    }

    /// <summary>Runs <paramref name="action"/> on a fresh thread inside <paramref name="ns"/> (sockets and devices it opens stay there); null: here.</summary>
    public static T InNamespace<T>(string? ns, Func<T> action)
    {
        if (ns is null)
            return action();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (var handle = File.OpenHandle(Path.Combine(RunDirectory, ns), FileMode.Open, FileAccess.Read))
                {
                    if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) < 0)
                        throw new BenchFailure($"setns({ns}) failed: {Errno.Describe(errno)}");
                }
                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }) { IsBackground = true, Name = $"netns {ns}" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Runs `ip <paramref name="args"/>` (stdin: <paramref name="input"/>); throws <see cref="BenchFailure"/> with its stderr on a non-zero exit.</summary>
    public static void Ip(string? input, params string[] args)
    {
        var (code, _, error) = RunIp(input, args);
        if (code != 0)
            throw new BenchFailure($"ip {string.Join(' ', args)} failed: {error.Trim()}");
    }

    /// <summary>`ip -6 -n <paramref name="ns"/> -batch -`: one process for many IPv6 setup lines.</summary>
    public static void IpBatch(string ns, params string[] lines)
    {
        var (code, _, error) = RunIp(string.Join('\n', lines) + "\n", "-6", "-n", ns, "-batch", "-");
        if (code != 0)
            throw new BenchFailure($"ip -n {ns} -batch failed: {error.Trim().Replace('\n', ' ')} (lines: {string.Join("; ", lines)})");
    }

    public static (int Code, string Output, string Error) RunIp(string? input, params string[] args) => Run("ip", input, args);

    /// <summary>Sets sysctl <paramref name="key"/> inside <paramref name="ns"/> (ip netns exec: /proc/sys/net follows the namespace).</summary>
    public static void Sysctl(string ns, string key, string value)
    {
        var (code, _, error) = Run("ip", null, "netns", "exec", ns, "sysctl", "-q", "-w", $"{key}={value}");
        if (code != 0)
            throw new BenchFailure($"sysctl -w {key}={value} in {ns} failed: {error.Trim()}");
    }

    private static (int Code, string Output, string Error) Run(string tool, string? input, params string[] args)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(start) ?? throw new BenchFailure($"could not start {tool}");
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchFailure($"cannot run {tool} (iproute2): {e.Message}");
        }
    }

    protected static void TryRunIp(string? input, params string[] args)
    {
        try { RunIp(input, args); }
        catch (BenchFailure) { }
    }

    /// <summary>A subclass's own cleanup (processes, files), run first; must not throw.</summary>
    protected virtual void CleanUp() { }

    /// <summary>Disposes what was tracked, removes the addresses and the namespaces; never throws.</summary>
    public void Dispose()
    {
        List<IDisposable> owned;
        List<string> namespaces;
        List<(string? Ns, Ipv6Address Address)> addresses;
        lock (Sync)
        {
            if (_disposed) return;
            _disposed = true;
            (owned, namespaces, addresses) = ([.. _owned], [.. _namespaces], [.. _addresses]);
            _owned.Clear(); _namespaces.Clear(); _addresses.Clear();
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        CleanUp();
        for (var i = owned.Count - 1; i >= 0; i--)
        {
            try { owned[i].Dispose(); }
            catch (Exception e) when (e is not OutOfMemoryException) { }
        }
        var here = addresses.Where(a => a.Ns is null).Select(a => $"addr del {a.Address}/128 dev lo\n").ToList();
        if (here.Count > 0)
            TryRunIp(string.Concat(here), "-force", "-batch", "-");
        for (var i = namespaces.Count - 1; i >= 0; i--)
            TryRunIp(null, "netns", "del", namespaces[i]);
    }
}
