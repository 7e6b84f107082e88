// Wireshark as an independent decoder: every packet `pmip6 wire samples` writes must dissect to the
// fields we meant, with no Malformed mark and no expert-info warning or error.
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Tests;

public sealed class WireSamplesSpec : IDisposable
{
    private readonly string _pcap = Path.Combine(Path.GetTempPath(), $"pmip6-samples-{Guid.NewGuid():N}.pcap");

    public void Dispose() => File.Delete(_pcap);

    [Fact]
    public void Tshark_dissects_every_sample_to_the_fields_we_encoded()
    {
        var run = Cli.Run("wire", "samples", "--pcap", _pcap);
        Assert.Equal(0, run.ExitCode);
        var samples = WireSamples.All();
        Assert.Contains($"wrote {samples.Count} packets", run.Out);

        var fields = samples.SelectMany(s => s.Expected.Keys).Distinct().ToList();
        var args = new List<string> { "-r", _pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number" };
        foreach (var field in fields)
            args.AddRange(["-e", field]);
        var lines = Cli.Tool("tshark", args.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(samples.Count, lines.Length);

        var mismatches = new List<string>();
        for (var i = 0; i < samples.Count; i++)
        {
            var columns = lines[i].TrimEnd('\r').Split('\t');
            Assert.Equal((i + 1).ToString(), columns[0]);
            foreach (var (field, expected) in samples[i].Expected)
            {
                var actual = columns[1 + fields.IndexOf(field)];
                if (actual != expected)
                    mismatches.Add($"{samples[i].Name}: {field} = '{actual}', expected '{expected}'");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void Tshark_finds_nothing_malformed_and_no_expert_warning_or_error()
    {
        Assert.Equal(0, Cli.Run("wire", "samples", "--pcap", _pcap).ExitCode);
        var verbose = Cli.Tool("tshark", "-r", _pcap, "-V");
        Assert.DoesNotContain("Malformed", verbose);
        Assert.DoesNotContain("Expert Info (Error", verbose);
        Assert.DoesNotContain("Expert Info (Warning", verbose);
        Assert.DoesNotContain("length invalid", verbose, StringComparison.OrdinalIgnoreCase);
        // Every mobility sample is dissected as MIPv6, every ND sample as ICMPv6.
        var protocols = Cli.Tool("tshark", "-r", _pcap, "-T", "fields", "-e", "frame.protocols").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(17, protocols.Count(p => p.Trim().EndsWith("mipv6")));
        Assert.Equal(4, protocols.Count(p => p.Trim().EndsWith("icmpv6")));
    }

    [Fact]
    public void Samples_to_an_unwritable_path_fail_with_a_usage_error_naming_it()
    {
        var run = Cli.Run("wire", "samples", "--pcap", "/nonexistent-dir/x.pcap");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("/nonexistent-dir/x.pcap", run.Err);
    }
}
