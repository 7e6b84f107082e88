using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Tests;

/// <summary>`pmip6 bench flood`: its options, its verdict, and what it reads from a daemon (/metrics, /proc).</summary>
public class FloodBenchmarkSpec
{
    private static FloodOptions Parse(string line)
    {
        var args = Arguments.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var options = FloodOptions.Parse(args);
        args.EnsureAllUsed();
        return options;
    }

    [Fact]
    public void The_valid_share_is_a_percentage_of_the_rate_and_the_rest_is_bogus()
    {
        var o = Parse("--against-self --rate 51000 --valid-share 2%");
        Assert.Equal((1020L, 49980L), (o.ValidRate, o.BogusRate));
        Assert.Equal(LmaTarget.DefaultSelfLma, o.Lma);
        Assert.Equal(FloodOptions.AllKinds, o.Kinds);
        Assert.Equal((30, 4, 1000), (o.DurationSeconds, o.Mags, o.Sessions));
    }

    [Fact]
    public void Lma_settings_become_hocon_lines_and_kinds_select_the_bogus_share()
    {
        var o = Parse("--against-self --rate 1000 --kinds mutated,replayed --lma-settings admission.per-peer-rate=1000,admission.per-peer-burst=500");
        Assert.Equal(["admission.per-peer-rate = 1000", "admission.per-peer-burst = 500"], o.LmaSettings);
        Assert.Equal(["mutated", "replayed"], o.Kinds);
    }

    [Theory]
    [InlineData("--against-self", "missing option --rate")]
    [InlineData("--rate 1000", "missing option --lma (or --against-self)")]
    [InlineData("--against-self --rate 1000 --valid-share 0", "--valid-share must be a percentage above 0 and below 100, got '0'")]
    [InlineData("--against-self --rate 1000 --valid-share 100", "--valid-share must be a percentage above 0 and below 100, got '100'")]
    [InlineData("--against-self --rate 1000 --valid-share lots", "--valid-share must be a percentage above 0 and below 100, got 'lots'")]
    [InlineData("--against-self --rate 10 --valid-share 1", "--valid-share 1 of --rate 10 is less than one legitimate PBU per second")]
    [InlineData("--lma 2001:db8::1 --against-self --rate 1000", "--lma and --against-self exclude each other")]
    [InlineData("--lma fe80::zz --rate 1000", "--lma must be an IPv6 address, got 'fe80::zz'")]
    [InlineData("--against-self --rate 1000 --pid 42", "--pid and --lma-http are for an external LMA")]
    [InlineData("--lma 2001:db8::1 --rate 1000 --lma-http nowhere", "--lma-http must be HOST:PORT, got 'nowhere'")]
    [InlineData("--against-self --rate 1000 --mags 5 --sessions 4", "--mags (5) cannot exceed --sessions (4)")]
    [InlineData("--against-self --rate 1000 --kinds mutated,ddos", "--kinds takes a comma-separated list of unauthorised, mutated, forged-mac, unknown-spi, replayed, got 'mutated,ddos'")]
    [InlineData("--against-self --rate 1000 --lma-settings admission.per-peer-rate", "--lma-settings must be KEY=VALUE")]
    [InlineData("--against-self --rate 1000 --lma-settings a}b=1", "--lma-settings must be KEY=VALUE")]
    [InlineData("--lma 2001:db8::1 --rate 1000 --lma-settings a=1", "--lma-settings configures the LMA --against-self starts")]
    public void A_bad_option_is_named(string line, string message)
    {
        var e = Assert.Throws<UsageException>(() => Parse(line));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void A_bad_option_exits_2_with_the_usage()
    {
        var run = Cli.Run("bench", "flood", "--against-self", "--rate", "1000", "--valid-share", "120");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--valid-share must be a percentage", run.Err);
        Assert.Contains("usage: pmip6 bench flood", run.Err);
    }

    [Fact]
    public void The_verdict_is_met_only_when_success_latency_and_memory_all_are()
    {
        Assert.Empty(FloodVerdict.Misses(1000, 990, 49.9, 100 << 20, 105 << 20));
        Assert.Equal(["legitimate success 98.90 % < 99 %"], FloodVerdict.Misses(1000, 989, 10, 100, 100));
        Assert.Equal(["legitimate p99 50.0 ms >= 50 ms"], FloodVerdict.Misses(1000, 1000, 50, 100, 100));
        Assert.Single(FloodVerdict.Misses(1000, 1000, 1, 100 << 20, (100 << 20) + (5 << 20) + 1), m => m.StartsWith("resident memory after the flood"));
        Assert.Single(FloodVerdict.Misses(1000, 1000, 1, null, 100), m => m.StartsWith("resident memory not measured"));
        Assert.Contains("no legitimate PBU was sent", FloodVerdict.Misses(0, 0, 0, 100, 100));
    }

    [Fact]
    public void A_metrics_scrape_reads_series_by_name_and_label()
    {
        var scrape = MetricsScrape.Parse("""
            # TYPE pmip6_lma_mh_rate_limited_total counter
            pmip6_lma_mh_rate_limited_total{scope="others"} 588104
            pmip6_lma_mh_rate_limited_total{scope="peer"} 12
            pmip6_lma_bindings 1000
            garbage line
            """);
        Assert.Equal(588116, scrape.Sum("pmip6_lma_mh_rate_limited_total"));
        Assert.Equal(12, scrape.Get("pmip6_lma_mh_rate_limited_total", "scope", "peer"));
        Assert.Equal(1000, scrape.Get("pmip6_lma_bindings"));
        Assert.Equal(0, scrape.Get("pmip6_lma_absent"));
        Assert.Equal(new Dictionary<string, double> { ["others"] = 588104, ["peer"] = 12 }, scrape.ByLabel("pmip6_lma_mh_rate_limited_total"));
    }

    [Fact]
    public void Proc_files_give_resident_memory_cpu_time_and_a_raw_sockets_queue()
    {
        Assert.Equal(176_896L * 1024, ProcessSample.ResidentBytesOf("Name:\tdotnet\nVmRSS:\t  176896 kB\nThreads:\t30\n"));
        Assert.Null(ProcessSample.ResidentBytesOf("Name:\tdotnet\n"));
        // The command name may hold spaces and parentheses: fields are counted after the last ')'.
        var stat = "4242 (dot net) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 30 0 100 0 0";
        Assert.Equal(18.0, ProcessSample.CpuSecondsOf(stat));
        Assert.Null(ProcessSample.CpuSecondsOf("4242 (dotnet) S 1"));
        // Addresses as the kernel prints them: four 32-bit words, each in host (little-endian) order.
        var raw6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
              12: B80D0120000000010000000001000000:0087 00000000000000000000000000000000:0000 07 00000000:0001A000 00:00000000 00000000     0        0 123 2 0000000000000000 7
            """;
        Assert.Equal((0x1A000L, 7L), ProcessSample.RawSocketOf(raw6, Ipv6Address.Parse("2001:db8:100::1"), 135));
        Assert.Null(ProcessSample.RawSocketOf(raw6, Ipv6Address.Parse("2001:db8:100::2"), 135));
    }
}
