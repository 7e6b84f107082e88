// The `pmip6` command: one binary for every verb (see `pmip6 --help`).
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts;

public static class Program
{
    public static int Main(string[] args) => CommandLine.Run(args, Console.Out, Console.Error);
}
