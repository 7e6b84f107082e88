// Runs code inside a network namespace without starting a process: a dedicated new thread
// setns()es into /var/run/netns/NAME (CLONE_NEWNET) and runs the code; sockets it creates stay in
// that namespace for their whole life, so the thread may end and the socket be used from anywhere.
// A pooled thread never changes namespace (it would carry the namespace into unrelated work). The
// same trick reads and writes the namespace's /proc/sys/net (sysctl is per network namespace and
// resolved from the calling thread).
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Lab;

public static class NetnsRunner
{
    public const string RunDirectory = "/var/run/netns";

    public static bool Exists(string ns) => File.Exists(Path.Combine(RunDirectory, ns));

    /// <summary>Runs <paramref name="action"/> on a fresh thread inside <paramref name="ns"/>; rethrows what it throws.</summary>
    public static T Run<T>(string ns, Func<T> action)
    {
        var path = Path.Combine(RunDirectory, ns);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(path, ns);
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

    public static void Run(string ns, Action action) => Run(ns, () => { action(); return 0; });

    /// <summary>A socket that lives in <paramref name="ns"/>.</summary>
    public static Socket Socket(string ns, AddressFamily family, SocketType type, ProtocolType protocol) =>
        Run(ns, () => new Socket(family, type, protocol));

    /// <summary>Sets sysctls (e.g. "net.ipv6.conf.all.forwarding" → "1") inside <paramref name="ns"/>.</summary>
    public static void Sysctl(string ns, params (string Key, string Value)[] settings) => Run(ns, () =>
    {
        foreach (var (key, value) in settings)
        {
            var file = "/proc/sys/" + key.Replace('.', '/');
            try
            {
                File.WriteAllText(file, value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new LabFailure($"sysctl {key}={value} in {ns} failed: {e.Message}");
            }
        }
    });

    /// <summary>An HttpClient whose connections are made from inside <paramref name="ns"/> (e.g. to a daemon's 127.0.0.1 endpoint).</summary>
    public static HttpClient HttpClient(string ns, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = Socket(ns, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.NoDelay = true;
                try
                {
                    var endpoint = context.DnsEndPoint;
                    await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    private static void Enter(string path, string ns)
    {
        if (!File.Exists(path))
            throw new LabFailure($"network namespace {ns} does not exist");
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) < 0)
            throw new LabFailure($"setns into {ns} failed: {Errno.Name(errno)}");
    }
}
