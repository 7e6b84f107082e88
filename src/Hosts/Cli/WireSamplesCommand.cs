// `pmip6 wire samples --pcap FILE`: one packet per message kind and option set we encode, so an
// independent decoder (tshark) can check our wire format.
using Pmip6Akka.Dataplane.Capture;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Cli;

public static class WireSamplesCommand
{
    public static int Run(Arguments args, TextWriter stdout)
    {
        var path = args.RequiredString("pcap");
        args.EnsureAllUsed();
        var samples = WireSamples.All();
        try
        {
            using var file = File.Create(path);
            using var pcap = new PcapWriter(file);
            var time = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
            foreach (var sample in samples)
            {
                pcap.Write(sample.Packet, time);
                time = time.AddMilliseconds(1);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write --pcap {path}: {e.Message}");
        }
        var frame = 1;
        foreach (var sample in samples)
            stdout.WriteLine($"{frame++,3}  {sample.Name,-38} {sample.Packet.Length,4} octets");
        stdout.WriteLine($"wrote {samples.Count} packets to {path}");
        return CommandLine.ExitOk;
    }
}
