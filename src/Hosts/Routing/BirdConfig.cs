// BIRD 2 configurations (Debian `bird2`) that announce an LMA cluster to the network (issue 9; DESIGN-NOTES,
// "A cluster of LMA nodes"). Pure text generation: the operator (or the end-to-end spec) writes what these
// return; nothing here is edited by hand.
//
//   LMA node  protocol direct: the shared LMA address (LMAA) /128 on the node's tunnel device — the daemon puts it
//             there and it vanishes with the daemon, so a killed LMA stops being announced at once;
//             protocol kernel (learn): the prefix slices the node's binding buckets route into the tunnel
//             (kernel protocol 99, exactly pool length + 8 bits long, inside the pool) — at most 256 routes in
//             all, whatever the number of mobile nodes;
//             protocol bgp: eBGP to the core router exporting only those two kinds of route, with BFD.
//   core      eBGP to every LMA node, importing only the LMAA /128 and pool slices; the kernel protocol merges
//             equal paths (ECMP) so MAG traffic to the LMAA spreads over the live nodes, while each slice has
//             one owner and so one path.
using System.Globalization;
using System.Net;
using System.Text;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Routing;

/// <summary>BFD timing of every BGP session (RFC 5880): a peer silent for interval × multiplier is down.</summary>
public sealed record BfdTiming(TimeSpan Interval, int Multiplier)
{
    public static readonly BfdTiming Default = new(TimeSpan.FromMilliseconds(300), 3);
}

/// <summary>One eBGP neighbour: its address on the shared link, its AS number, the local interface the link is on.</summary>
public sealed record BgpNeighbor(string Name, Ipv6Address Address, uint Asn, string Interface);

/// <param name="RouterId">An IPv4 address, unique in the routing domain (BIRD's router id).</param>
/// <param name="SharedAddress">The LMAA every node of the cluster holds.</param>
/// <param name="Pool">The home network prefix pool of lma.conf (prefix-pool).</param>
/// <param name="PrefixLength">lma.conf's prefix-length; a slice is pool length + BindingBuckets.Bits (8) bits and must not exceed it.</param>
/// <param name="TunnelDevice">lma.conf's tunnel.device, where the LMAA and the slice routes live.</param>
public sealed record LmaRouting(IPAddress RouterId, uint Asn, BgpNeighbor Core, Ipv6Address SharedAddress, Ipv6Prefix Pool, byte PrefixLength,
    string TunnelDevice, BfdTiming? Bfd);

public sealed record CoreRouting(IPAddress RouterId, uint Asn, IReadOnlyList<BgpNeighbor> LmaNodes, Ipv6Address SharedAddress, Ipv6Prefix Pool,
    byte PrefixLength, BfdTiming? Bfd);

public static class BirdConfig
{
    /// <summary>Bucket bits: a slice is the pool's length plus these (Pmip6Akka.Actors.Lma.BindingBuckets.Bits).</summary>
    private const int SliceBits = Pmip6Akka.Actors.Lma.BindingBuckets.Bits;

    public static string ForLmaNode(LmaRouting r)
    {
        Check(r.RouterId, r.Asn, r.Pool, r.PrefixLength, r.Bfd);
        CheckNeighbor(r.Core);
        if (!IsInterfaceName(r.TunnelDevice))
            throw new ArgumentException($"tunnel device '{r.TunnelDevice}' is not an interface name", nameof(r));
        var b = Header("LMA node", r.RouterId);
        b.Append($$"""
            # Routes the LMA daemon adds into its tunnel device "{{r.TunnelDevice}}" (kernel protocol {{RouteNetlink.RTPROT_PMIP6}}), which go with
            # the device when the daemon dies: the shared LMA address once the node serves (not while it starts or joins,
            # when it could not answer what the core would send it), and the prefix slices of the binding buckets it runs.
            protocol kernel slices {
              ipv6 {
                import where krt_source = {{RouteNetlink.RTPROT_PMIP6}} && (net = {{r.SharedAddress}}/128 || {{SliceFilter(r.Pool, r.PrefixLength)}});
                export none;
              };
              learn;
              scan time 5;
            }

            """);
        b.Append(Bfd(r.Bfd, [r.Core.Interface]));
        b.Append($$"""
            protocol bgp core {
              description "core router";
              local as {{r.Asn}};
              neighbor {{r.Core.Address}} as {{r.Core.Asn}};
              interface "{{r.Core.Interface}}";
              direct;
              {{(r.Bfd is null ? "bfd off" : "bfd on")}};
              hold time 9;
              connect retry time 1;
              ipv6 {
                import none;
                export where net = {{r.SharedAddress}}/128 || {{SliceFilter(r.Pool, r.PrefixLength)}};
                next hop self;
              };
            }

            """);
        return b.ToString();
    }

    public static string ForCore(CoreRouting r)
    {
        Check(r.RouterId, r.Asn, r.Pool, r.PrefixLength, r.Bfd);
        if (r.LmaNodes.Count == 0)
            throw new ArgumentException("a core router needs at least one LMA node", nameof(r));
        foreach (var n in r.LmaNodes)
            CheckNeighbor(n);
        if (r.LmaNodes.Select(n => n.Name).Distinct().Count() != r.LmaNodes.Count)
            throw new ArgumentException("LMA node names must differ (each is a BGP protocol name)", nameof(r));
        var b = Header("core router", r.RouterId);
        b.Append($$"""
            # Into the kernel: the LMAA over every node that announces it (ECMP), each slice to its owner.
            protocol kernel {
              ipv6 { import none; export all; };
              merge paths on;
            }

            """);
        b.Append(Bfd(r.Bfd, [.. r.LmaNodes.Select(n => n.Interface).Distinct()]));
        b.Append($$"""
            template bgp lma_node {
              local as {{r.Asn}};
              direct;
              {{(r.Bfd is null ? "bfd off" : "bfd on")}};
              hold time 9;
              connect retry time 1;
              ipv6 {
                import where net = {{r.SharedAddress}}/128 || {{SliceFilter(r.Pool, r.PrefixLength)}};
                export none;
              };
            }

            """);
        foreach (var n in r.LmaNodes)
            b.Append($$"""
                protocol bgp {{n.Name}} from lma_node {
                  neighbor {{n.Address}} as {{n.Asn}};
                  interface "{{n.Interface}}";
                }

                """);
        return b.ToString();
    }

    /// <summary>BIRD's prefix-set test for a bucket slice: inside the pool and exactly pool length + BindingBuckets.Bits bits long.</summary>
    private static string SliceFilter(Ipv6Prefix pool, byte prefixLength)
    {
        var slice = pool.Length + SliceBits;
        return $"net ~ [ {pool.Address.Mask(pool.Length)}/{pool.Length}{{{slice},{slice}}} ]";
    }

    private static StringBuilder Header(string what, IPAddress routerId) => new StringBuilder()
        .Append($$"""
            # BIRD 2 configuration of a Pmip6Akka {{what}}, generated by pmip6 (Pmip6Akka.Hosts.Routing.BirdConfig); do not edit.
            log stderr all;
            router id {{routerId}};

            protocol device {
              scan time 5;
            }

            """);

    private static string Bfd(BfdTiming? bfd, IReadOnlyList<string> interfaces)
    {
        if (bfd is null)
            return "";
        var ms = ((long)bfd.Interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        var b = new StringBuilder("protocol bfd {\n");
        foreach (var i in interfaces)
            b.Append($"  interface \"{i}\" {{ min rx interval {ms} ms; min tx interval {ms} ms; multiplier {bfd.Multiplier}; }};\n");
        return b.Append("}\n\n").ToString();
    }

    private static void Check(IPAddress routerId, uint asn, Ipv6Prefix pool, byte prefixLength, BfdTiming? bfd)
    {
        if (routerId.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new ArgumentException($"router id {routerId} is not an IPv4 address (BIRD's router id is a 32-bit number written as one)");
        if (asn == 0 || asn == 23456 || asn == uint.MaxValue)
            throw new ArgumentException($"AS number {asn} is reserved (RFC 7300, RFC 6793)");
        if (pool.Length + SliceBits > prefixLength)
            throw new ArgumentException($"pool {pool} cannot be cut into {Pmip6Akka.Actors.Lma.BindingBuckets.Count} slices of /{prefixLength} prefixes");
        if (bfd is not null && (bfd.Interval < TimeSpan.FromMilliseconds(10) || bfd.Multiplier is < 1 or > 255))
            throw new ArgumentException($"BFD interval {bfd.Interval.TotalMilliseconds} ms x {bfd.Multiplier} is out of range (>= 10 ms, 1-255)");
    }

    private static void CheckNeighbor(BgpNeighbor n)
    {
        if (n.Asn == 0 || n.Asn == 23456 || n.Asn == uint.MaxValue)
            throw new ArgumentException($"neighbour {n.Name}: AS number {n.Asn} is reserved");
        if (!IsInterfaceName(n.Interface))
            throw new ArgumentException($"neighbour {n.Name}: '{n.Interface}' is not an interface name");
        if (n.Name.Length == 0 || !n.Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || !char.IsAsciiLetter(n.Name[0]))
            throw new ArgumentException($"neighbour name '{n.Name}' must be a BIRD symbol (letters, digits, _; a letter first)");
    }

    private static bool IsInterfaceName(string name) =>
        name.Length is > 0 and <= 15 && name.All(c => c > ' ' && c != '/' && c != '"' && c != '\\' && c < 127);
}
