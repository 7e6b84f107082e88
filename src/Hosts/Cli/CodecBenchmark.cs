// `pmip6 bench codec`: nanoseconds per decode and encode of a typical PBU and PBA, and bytes
// allocated per operation, measured in-process with a warm-up and several timed rounds.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Cli;

public static class CodecBenchmark
{
    private delegate void Operation(int i);

    public static int Run(Arguments args, TextWriter stdout)
    {
        var iterations = (int)args.Integer("iterations", 2_000_000, 1_000, 1_000_000_000);
        args.EnsureAllUsed();

        var pbu = new byte[MobilityHeader.MaxLength];
        var pba = new byte[MobilityHeader.MaxLength];
        WireSamples.WriteProxyBindingUpdate(pbu, 7, out var pbuLength);
        WireSamples.WriteProxyBindingAcknowledgement(pba, 7, out var pbaLength);
        var output = new byte[MobilityHeader.MaxLength];
        long sink = 0;

        stdout.WriteLine($"codec benchmark: {iterations:N0} iterations per operation, best of 5 rounds (PBU {pbuLength} octets, PBA {pbaLength} octets)");
        stdout.WriteLine($"{"operation",-34} {"ns/op",8} {"bytes/op",9}");
        Report(stdout, "decode PBU (all options read)", iterations, _ => sink += DecodePbu(pbu.AsSpan(0, pbuLength)));
        Report(stdout, "decode PBA (all options read)", iterations, _ => sink += DecodePba(pba.AsSpan(0, pbaLength)));
        Report(stdout, "encode PBU (kernel checksum)", iterations, i => sink += EncodePbu(output, (ushort)i, checksum: false));
        Report(stdout, "encode PBU (with checksum)", iterations, i => sink += EncodePbu(output, (ushort)i, checksum: true));
        Report(stdout, "encode PBA (with checksum)", iterations, i =>
        {
            WireSamples.WriteProxyBindingAcknowledgement(output, (ushort)i, out var n);
            sink += n;
        });
        stdout.WriteLine($"(checksum of results: {sink & 0xFFFF})");
        return CommandLine.ExitOk;
    }

    private static void Report(TextWriter stdout, string name, int iterations, Operation operation)
    {
        for (var i = 0; i < Math.Min(iterations, 200_000); i++)
            operation(i); // warm-up: tiered JIT reaches its optimised code
        var best = double.MaxValue;
        long allocated = 0;
        for (var round = 0; round < 5; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++)
                operation(i);
            watch.Stop();
            allocated = Math.Max(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            best = Math.Min(best, watch.Elapsed.TotalNanoseconds / iterations);
        }
        stdout.WriteLine($"{name,-34} {best,8:F1} {(double)allocated / iterations,9:F3}");
    }

    /// <summary>What the LMA reads from a PBU: every field and option it decides on.</summary>
    private static int DecodePbu(ReadOnlySpan<byte> bytes)
    {
        if (!BindingUpdate.TryDecode(bytes, out var bu, out _))
            return -1;
        var o = bu.Options;
        var result = bu.Sequence + bu.LifetimeUnits + (bu.IsProxy ? 1 : 0);
        if (o.TryGetMobileNodeIdentifier(out var id))
            result += id.Identifier.Length;
        foreach (var hnp in o.OfType(MobilityOptionType.HomeNetworkPrefix))
            result += HomeNetworkPrefixOption.Read(hnp.Data).Length;
        result += (int)(o.HandoffIndicator ?? 0) + (int)(o.AccessTechnologyType ?? 0);
        result += (int)(o.Timestamp?.Raw ?? 0);
        if (o.TryGetLinkLayerIdentifier(out var ll))
            result += ll.Length;
        result += (int)(o.LinkLocalAddress?.Value ?? 0);
        return result;
    }

    private static int DecodePba(ReadOnlySpan<byte> bytes)
    {
        if (!BindingAcknowledgement.TryDecode(bytes, out var ba, out _))
            return -1;
        var o = ba.Options;
        var result = (int)ba.Status + ba.Sequence + ba.LifetimeUnits;
        if (o.TryGetMobileNodeIdentifier(out var id))
            result += id.Identifier.Length;
        foreach (var hnp in o.OfType(MobilityOptionType.HomeNetworkPrefix))
            result += HomeNetworkPrefixOption.Read(hnp.Data).Length;
        result += (int)(o.HandoffIndicator ?? 0) + (int)(o.AccessTechnologyType ?? 0);
        result += (int)(o.Timestamp?.Raw ?? 0);
        return result;
    }

    private static int EncodePbu(Span<byte> buffer, ushort sequence, bool checksum)
    {
        var w = MobilityHeaderWriter.BindingUpdate(buffer, sequence,
            BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900);
        w.MobileNodeIdentifier(WireSamples.MnId);
        w.HomeNetworkPrefix(default);
        w.HandoffIndicator(HandoffIndicator.AttachmentOverNewInterface);
        w.AccessTechnologyType(AccessTechnologyType.Ieee8023);
        w.MobileNodeLinkLayerIdentifier(WireSamples.MnMac);
        w.LinkLocalAddress(WireSamples.MagLinkLocal);
        w.Timestamp(WireSamples.Timestamp);
        int n;
        var ok = checksum ? w.TryFinish(WireSamples.Mag1, WireSamples.Lma, out n) : w.TryFinish(out n);
        return ok ? n : -1;
    }
}
