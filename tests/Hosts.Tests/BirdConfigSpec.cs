// The BIRD 2 configurations of an LMA cluster: what each exports and imports, and that BIRD itself reads them
// (scripts/bird.sh installs bird2 when missing and parses the files with `bird -p`).
using System.Net;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Routing;

namespace Pmip6Akka.Hosts.Tests;

public sealed class BirdConfigSpec : IDisposable
{
    private static readonly Ipv6Address Lmaa = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:a000::/40");
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-bird-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static LmaRouting Lma(int node, BfdTiming? bfd) => new(IPAddress.Parse($"10.255.0.{node}"), 65000u + (uint)node,
        new BgpNeighbor("core", Ipv6Address.Parse($"2001:db8:c0:{node}::1"), 65000, "core0"), Lmaa, Pool, 64, "pmip6-tun", bfd);

    private static CoreRouting Core(BfdTiming? bfd) => new(IPAddress.Parse("10.255.0.254"), 65000,
        [.. Enumerable.Range(1, 3).Select(n => new BgpNeighbor($"lma{n}", Ipv6Address.Parse($"2001:db8:c0:{n}::2"), 65000u + (uint)n, $"lma{n}"))],
        Lmaa, Pool, 64, bfd);

    private string Checked(string name, string text)
    {
        var file = Path.Combine(_dir, name);
        File.WriteAllText(file, text);
        Cli.Tool("bash", Path.Combine(Cli.RepositoryRoot(), "scripts", "bird.sh"), "install");
        Cli.Tool("bash", Path.Combine(Cli.RepositoryRoot(), "scripts", "bird.sh"), "check", file);
        return text;
    }

    [Fact]
    public void An_lma_node_exports_only_the_shared_address_and_its_pool_slices_of_protocol_99_to_the_core_with_BFD()
    {
        var text = Checked("lma1.conf", BirdConfig.ForLmaNode(Lma(1, BfdTiming.Default)));
        Assert.Contains("router id 10.255.0.1;", text);
        // Slices of a /40 pool are /48 (256 buckets), and only routes the daemon added (protocol 99) are learnt: the shared
        // address too, which the daemon routes into its tunnel device only once it serves.
        Assert.Contains("import where krt_source = 99 && (net = 2001:db8:100::1/128 || net ~ [ 2001:db8:a000::/40{48,48} ]);", text);
        Assert.DoesNotContain("protocol direct", text);
        Assert.Contains("export where net = 2001:db8:100::1/128 || net ~ [ 2001:db8:a000::/40{48,48} ];", text);
        Assert.Contains("local as 65001;", text);
        Assert.Contains("neighbor 2001:db8:c0:1::1 as 65000;", text);
        Assert.Contains("bfd on;", text);
        Assert.Contains("min rx interval 300 ms; min tx interval 300 ms; multiplier 3;", text);
    }

    [Fact]
    public void The_core_merges_the_lmaa_paths_of_every_node_and_peers_with_each()
    {
        var text = Checked("core.conf", BirdConfig.ForCore(Core(BfdTiming.Default)));
        Assert.Contains("merge paths on;", text);
        foreach (var n in new[] { 1, 2, 3 })
        {
            Assert.Contains($"protocol bgp lma{n} from lma_node {{", text);
            Assert.Contains($"neighbor 2001:db8:c0:{n}::2 as {65000 + n};", text);
        }
        Assert.Contains("import where net = 2001:db8:100::1/128 || net ~ [ 2001:db8:a000::/40{48,48} ];", text);
    }

    [Fact]
    public void Without_BFD_the_sessions_say_so_and_bird_still_reads_them()
    {
        var text = Checked("lma2.conf", BirdConfig.ForLmaNode(Lma(2, null)));
        Assert.Contains("bfd off;", text);
        Assert.DoesNotContain("protocol bfd", text);
    }

    [Fact]
    public void Wrong_inputs_are_refused_by_what_is_wrong()
    {
        Assert.Contains("IPv4", Assert.Throws<ArgumentException>(() => BirdConfig.ForLmaNode(Lma(1, null) with { RouterId = IPAddress.IPv6Loopback })).Message);
        Assert.Contains("23456", Assert.Throws<ArgumentException>(() => BirdConfig.ForLmaNode(Lma(1, null) with { Asn = 23456 })).Message);
        Assert.Contains("256 slices", Assert.Throws<ArgumentException>(() => BirdConfig.ForLmaNode(Lma(1, null) with { PrefixLength = 47 })).Message);
        Assert.Contains("interface name", Assert.Throws<ArgumentException>(() => BirdConfig.ForLmaNode(Lma(1, null) with { TunnelDevice = "a\"b" })).Message);
        Assert.Contains("must differ", Assert.Throws<ArgumentException>(() => BirdConfig.ForCore(Core(null) with
        {
            LmaNodes = [Core(null).LmaNodes[0], Core(null).LmaNodes[0]],
        })).Message);
        Assert.Contains("BFD interval", Assert.Throws<ArgumentException>(() => BirdConfig.ForCore(Core(new BfdTiming(TimeSpan.FromMilliseconds(1), 3)))).Message);
    }
}
