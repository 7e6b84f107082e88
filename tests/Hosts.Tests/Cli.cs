using System.Diagnostics;
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Tests;

/// <summary>Runs `pmip6` in-process and captures what it prints.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Err);

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CommandLine.Run(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The repository's root folder (the one holding Pmip6Akka.sln).</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pmip6Akka.sln")))
            dir = dir.Parent;
        return dir!.FullName;
    }

    /// <summary>Runs an external tool and returns its standard output; fails the spec on a non-zero exit.</summary>
    public static string Tool(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new Xunit.Sdk.XunitException($"{file} is not installed: ./test.sh installs it (apt-get install {file})");
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{file} did not finish within 120 s");
        }
        if (process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}
