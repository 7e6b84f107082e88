// Runs one of the system's network tools (ip6tables, tc) as a process with an argument list (no
// shell), bounded by a timeout. For rare control-plane changes only — never per packet.
using System.ComponentModel;
using System.Diagnostics;

namespace Pmip6Akka.Dataplane.Linux;

public static class ToolProcess
{
    /// <summary>
    /// False with <paramref name="error"/> when it cannot be started or does not finish; its exit code is the caller's to judge.
    /// <paramref name="standardInput"/>, when given, is written to the tool's standard input, which is then closed.
    /// </summary>
    public static bool TryRun(string executable, string package, IReadOnlyList<string> arguments, TimeSpan timeout,
        out (int Code, string Output, string Error) result, out string error, string? standardInput = null)
    {
        result = default;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception e)
        {
            error = $"cannot run {executable} ({e.Message}): install the {package} package (apt-get install {package})";
            return false;
        }
        if (process is null)
        {
            error = $"cannot run {executable}";
            return false;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            // Written beside the wait, not before it: a tool that stops reading (a lock it waits for, a hang) must not hold
            // the caller past the timeout with a full pipe.
            var stdin = standardInput is null ? Task.CompletedTask : Task.Run(() =>
            {
                try
                {
                    process.StandardInput.Write(standardInput);
                }
                catch (IOException)
                {
                    // it exited before reading everything: its exit code and message say why
                }
                finally
                {
                    try
                    {
                        process.StandardInput.Close();
                    }
                    catch (IOException)
                    {
                    }
                }
            });
            if (!process.WaitForExit(timeout))
            {
                try
                {
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                    // it ended meanwhile
                }
                stdin.Wait(TimeSpan.FromSeconds(1)); // the kill broke the pipe: the write ends
                error = $"{executable} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:F0} s";
                return false;
            }
            stdin.Wait();
            process.WaitForExit();
            result = (process.ExitCode, stdout.Result, stderr.Result);
            error = "";
            return true;
        }
    }
}
