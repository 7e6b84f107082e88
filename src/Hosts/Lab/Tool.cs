// The lab's one-time set-up and tear-down steps call iproute2 (and bash, to start daemons in their
// own session). Every call is checked: a failure becomes one line naming the command and its error.
using System.Diagnostics;

namespace Pmip6Akka.Hosts.Lab;

public static class Tool
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result TryRun(string file, IEnumerable<string> args, string? input = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new LabFailure($"cannot start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LabFailure($"cannot run {file}: {e.Message} (scripts/install-deps.sh installs iproute2)");
        }
        using (process)
        {
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return new Result(process.ExitCode, output, error.Result);
        }
    }

    /// <summary>Runs `ip ARGS`; returns its output or throws a <see cref="LabFailure"/> naming the command.</summary>
    public static string Ip(params string[] args)
    {
        var result = TryRun("ip", args);
        if (result.ExitCode != 0)
            throw new LabFailure($"ip {string.Join(' ', args)} failed: {FirstLine(result.Error)}");
        return result.Output;
    }

    /// <summary>Runs many ip commands in one process (`ip [-n NS] -batch -`).</summary>
    public static void IpBatch(string? ns, IEnumerable<string> lines)
    {
        var text = string.Join('\n', lines) + "\n";
        var args = ns is null ? new[] { "-batch", "-" } : ["-n", ns, "-batch", "-"];
        var result = TryRun("ip", args, text);
        if (result.ExitCode != 0)
            throw new LabFailure($"ip {(ns is null ? "" : $"-n {ns} ")}-batch failed: {FirstLine(result.Error)}");
    }

    public static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return string.IsNullOrEmpty(line) ? "(no error output)" : line;
    }
}
