// Network namespaces for tests (ip-netns(8), setns(2) with CLONE_NEWNET). Each instance creates its
// own uniquely named namespaces, "pmip-t" + 6 hex digits + a role letter (14 characters; the lab
// contract in docs/LAB.md reserves "pmip-", and "pmip-t" is the tests' corner of it), joins them with
// veth pairs, and removes every one of them on Dispose, whatever happened in between (and at process
// exit should a test forget to dispose). Setup and teardown shell out to iproute2's `ip`; code that
// must live in a namespace (e.g. opening a socket, which stays in the namespace it was created in)
// runs on a dedicated thread that setns()es into it and then ends, so no pooled thread ever changes
// namespace.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Pmip6Akka.Dataplane.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public sealed class NetworkNamespaces : IDisposable
{
    public const string Prefix = "pmip-t";
    /// <summary>Where `ip netns add` bind-mounts each namespace.</summary>
    public const string RunDirectory = "/var/run/netns";
    private const int IdHexDigits = 6;
    private const int MaxCreateAttempts = 5;

    private static readonly ConcurrentDictionary<string, byte> Live = new();

    static NetworkNamespaces()
    {
        // Last resort for a test run that ends without disposing (a crash inside a test still disposes).
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var name in Live.Keys)
                TryIp("netns", "del", name);
        };
    }

    private readonly List<string> _created = [];
    private readonly Lock _lock = new();
    private readonly string _id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdHexDigits / 2));
    private bool _disposed;

    /// <summary>The namespaces this instance created and has not yet removed.</summary>
    public IReadOnlyList<string> Names
    {
        get { lock (_lock) return [.. _created]; }
    }

    /// <summary>Creates a namespace named pmip-tXXXXXX-&lt;role&gt; with loopback up; returns its name.</summary>
    public string Create(char role)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!char.IsAsciiLetterLower(role) && !char.IsAsciiDigit(role))
            throw new ArgumentException("a namespace role is one lower-case letter or digit", nameof(role));
        var name = $"{Prefix}{_id}{role}";
        for (var attempt = 1; ; attempt++)
        {
            var (code, _, error) = RunIp("netns", "add", name);
            if (code == 0)
                break;
            if (attempt >= MaxCreateAttempts || !error.Contains("exists", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"ip netns add {name} failed ({code}): {error.Trim()}");
            name = $"{Prefix}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdHexDigits / 2))}{role}";
        }
        lock (_lock)
            _created.Add(name);
        Live[name] = 0;
        Ip("-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair: <paramref name="deviceA"/> in <paramref name="namespaceA"/>, <paramref name="deviceB"/> in <paramref name="namespaceB"/>, both up.</summary>
    public void Veth(string namespaceA, string deviceA, string namespaceB, string deviceB)
    {
        Ip("link", "add", "name", deviceA, "netns", namespaceA, "type", "veth", "peer", "name", deviceB, "netns", namespaceB);
        Ip("-n", namespaceA, "link", "set", deviceA, "up");
        Ip("-n", namespaceB, "link", "set", deviceB, "up");
    }

    /// <summary>
    /// Waits (at most <paramref name="patience"/>, default 3 s) until <paramref name="device"/> in
    /// <paramref name="ns"/> is operationally up. A freshly raised veth has carrier at once, but the
    /// kernel's linkwatch attaches its real qdisc (replacing noop_qdisc, which drops everything) only up
    /// to a second later; what is sent before then vanishes without an error.
    /// </summary>
    public void WaitUntilUp(string ns, string device, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(3));
        while (true)
        {
            var line = Ip("-n", ns, "-o", "link", "show", "dev", device);
            if (line.Contains(" state UP ", StringComparison.Ordinal))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{device} in {ns} did not come up: {line.Trim()}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Adds an address (CIDR) without duplicate address detection, so it is usable at once.</summary>
    public void AddAddress(string ns, string device, string cidr) =>
        Ip("-n", ns, "-6", "addr", "add", cidr, "dev", device, "nodad");

    /// <summary>An on-link route: <paramref name="prefix"/> is reached directly through <paramref name="device"/>.</summary>
    public void AddRoute(string ns, string prefix, string device) =>
        Ip("-n", ns, "-6", "route", "add", prefix, "dev", device);

    /// <summary>Runs <paramref name="action"/> on a fresh thread inside namespace <paramref name="ns"/>; rethrows what it throws.</summary>
    public T Run<T>(string ns, Func<T> action)
    {
        var path = Path.Combine(RunDirectory, ns);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(path);
                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {ns}",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public void Run(string ns, Action action) => Run(ns, () => { action(); return 0; });

    private static void Enter(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var fd = (int)handle.DangerousGetHandle();
        if (setns(fd, CLONE_NEWNET) < 0)
            throw new InvalidOperationException($"setns({path}, CLONE_NEWNET) failed: {Errno.Describe(errno)}");
    }

    /// <summary>The namespaces `ip netns list` shows (every one, not only ours).</summary>
    public static IReadOnlyList<string> List()
    {
        var (_, output, _) = RunIp("netns", "list");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0])
            .ToList();
    }

    /// <summary>Runs `ip ARGS`; throws with its stderr when it fails. Returns stdout.</summary>
    public static string Ip(params string[] args)
    {
        var (code, output, error) = RunIp(args);
        if (code != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({code}): {error.Trim()}");
        return output;
    }

    private static bool TryIp(params string[] args) => RunIp(args).Code == 0;

    private static (int Code, string Output, string Error) RunIp(params string[] args)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start ip");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>Removes every namespace this instance created (links inside go with them); never throws.</summary>
    public void Dispose()
    {
        string[] names;
        lock (_lock)
        {
            _disposed = true;
            names = [.. _created];
            _created.Clear();
        }
        foreach (var name in names)
        {
            TryIp("netns", "del", name);
            Live.TryRemove(name, out _);
        }
    }
}
