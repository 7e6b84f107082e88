// A daemon (`pmip6 mag|lma --config FILE`) run as a child process from the built pmip6.dll, so specs
// can send it real signals and read what it prints on standard output.
using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pmip6Akka.Hosts.Tests;

internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();

    public DaemonProcess(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pmip6.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _errors.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Transcript => string.Join('\n', _lines) + "\nstderr:\n" + string.Join('\n', _errors);

    /// <summary>Waits until a line of standard output contains <paramref name="text"/>; fails with the transcript otherwise.</summary>
    public string WaitForLine(string text, TimeSpan timeout, int skip = 0)
    {
        var until = DateTime.UtcNow + timeout;
        do
        {
            var found = _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).Skip(skip).FirstOrDefault();
            if (found is not null)
                return found;
            if (_process.HasExited)
                break;
            Thread.Sleep(50);
        } while (DateTime.UtcNow < until);
        throw new Xunit.Sdk.XunitException($"no line with '{text}' within {timeout} (exited: {_process.HasExited}):\n{Transcript}");
    }

    public void Signal(int signal)
    {
        if (Tmds.Linux.LibC.kill(_process.Id, signal) != 0)
            throw new Xunit.Sdk.XunitException($"kill({_process.Id}, {signal}) failed");
    }

    /// <summary>Waits for the process to exit and returns its exit code and how long that took.</summary>
    public (int ExitCode, TimeSpan Took) WaitForExit(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        if (!_process.WaitForExit(timeout))
            throw new Xunit.Sdk.XunitException($"still running after {timeout}:\n{Transcript}");
        _process.WaitForExit(); // drain the output
        return (_process.ExitCode, watch.Elapsed);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
