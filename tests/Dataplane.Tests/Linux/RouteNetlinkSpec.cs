// rtnetlink requests against a real kernel, read back with iproute2 (the tests may shell out; the
// class never does). Two namespaces on a veth: "a" (device va, 2001:db8:1::1) and "b" (vb, 2001:db8:1::2).
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public class RouteNetlinkSpec : IDisposable
{
    private const int Table = 1005;
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a::/64");
    private static readonly Ipv6Address AddressA = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly Ipv6Address AddressB = Ipv6Address.Parse("2001:db8:1::2");

    private readonly NetworkNamespaces _namespaces = new();
    private readonly string _a;
    private readonly string _b;
    private readonly RouteNetlink _netlink;
    private readonly int _va;

    public RouteNetlinkSpec()
    {
        _a = _namespaces.Create('a');
        _b = _namespaces.Create('b');
        _namespaces.Veth(_a, "va", _b, "vb");
        _namespaces.AddAddress(_b, "vb", $"{AddressB}/64");
        _netlink = _namespaces.Run(_a, RouteNetlink.Open);
        _va = _namespaces.Run(_a, () => RouteNetlink.InterfaceIndex("va"));
    }

    public void Dispose()
    {
        _netlink.Dispose();
        _namespaces.Dispose();
    }

    private string IpA(params string[] args) => NetworkNamespaces.Ip(["-n", _a, .. args]);

    [Fact]
    public void A_route_added_to_a_table_is_in_that_table_with_our_protocol_and_metric_and_gone_once_deleted()
    {
        Assert.True(_netlink.TryAddRoute(Hnp, _va, Table, out var errno, metric: 50), Errno.Describe(errno));

        // Filtered by protocol number (iproute2 would print 99 by its rt_protos name, "openr", and omits it when filtering).
        var ours = IpA("-6", "route", "show", "table", Table.ToString(), "proto", RouteNetlink.RTPROT_PMIP6.ToString());
        Assert.Contains("2001:db8:a::/64 dev va metric 50", ours);
        Assert.Equal("", IpA("-6", "route", "show", "table", Table.ToString(), "proto", "static"));
        Assert.DoesNotContain("2001:db8:a::", IpA("-6", "route", "show")); // not in main

        Assert.True(_netlink.TryAddRoute(Hnp, _va, Table, out errno, metric: 50), "adding again replaces: " + Errno.Describe(errno));
        Assert.True(_netlink.TryDeleteRoute(Hnp, _va, Table, out errno), Errno.Describe(errno));
        Assert.DoesNotContain("2001:db8:a::", IpA("-6", "route", "show", "table", "all"));
        Assert.True(_netlink.TryDeleteRoute(Hnp, _va, Table, out errno), "deleting what is not there succeeds");
        Assert.Equal(0, errno);
    }

    [Fact]
    public void Deleting_only_removes_routes_we_own()
    {
        IpA("-6", "route", "add", "2001:db8:a::/64", "dev", "va", "table", Table.ToString()); // proto boot: someone else's

        Assert.True(_netlink.TryDeleteRoute(Hnp, _va, Table, out _));

        Assert.Contains("2001:db8:a::/64 dev va", IpA("-6", "route", "show", "table", Table.ToString()));
    }

    [Fact]
    public void A_route_through_a_missing_interface_fails_with_ENODEV_rather_than_throwing()
    {
        Assert.False(_netlink.TryAddRoute(Hnp, 9999, Table, out var errno));
        Assert.Equal(ENODEV, errno);
    }

    [Fact]
    public void A_source_rule_sends_a_prefixs_traffic_to_its_table_until_deleted()
    {
        Assert.True(_netlink.TryAddSourceRule(Hnp, Table, 1000, out var errno), Errno.Describe(errno));
        Assert.True(_netlink.TryAddSourceRule(Hnp, Table, 1000, out errno), "adding it again succeeds: " + Errno.Describe(errno));

        var rules = IpA("-6", "rule", "show");
        Assert.Contains("1000:\tfrom 2001:db8:a::/64 lookup 1005", rules);
        Assert.Single(rules.Split('\n'), line => line.Contains("2001:db8:a::/64"));

        Assert.True(_netlink.TryDeleteSourceRule(Hnp, Table, 1000, out errno), Errno.Describe(errno));
        Assert.DoesNotContain("2001:db8:a::/64", IpA("-6", "rule", "show"));
        Assert.True(_netlink.TryDeleteSourceRule(Hnp, Table, 1000, out errno), "deleting what is not there succeeds");
    }

    [Fact]
    public void A_link_is_set_down_then_up_with_a_new_mtu()
    {
        Assert.True(_netlink.TrySetLink(_va, up: false, mtu: 0, out var errno), Errno.Describe(errno));
        Assert.DoesNotContain("UP", IpA("link", "show", "dev", "va").Split('>')[0]);
        Assert.False(_netlink.DumpLinks().Single(l => l.Name == "va").IsUp);

        Assert.True(_netlink.TrySetLink(_va, up: true, mtu: 1400, out errno), Errno.Describe(errno));
        var shown = IpA("link", "show", "dev", "va");
        Assert.Contains(",UP", shown);
        Assert.Contains("mtu 1400", shown);
        Assert.True(_netlink.DumpLinks().Single(l => l.Name == "va").IsUp);

        Assert.False(_netlink.TrySetLink(9999, up: true, mtu: 0, out errno));
        Assert.Equal(ENODEV, errno);
    }

    [Fact]
    public void An_address_added_without_dad_is_usable_at_once()
    {
        Assert.True(_netlink.TryAddAddress(_va, AddressA, 64, out var errno), Errno.Describe(errno));

        var shown = IpA("-6", "-o", "addr", "show", "dev", "va").Split('\n').Single(line => line.Contains("2001:db8:1::1/64"));
        Assert.Contains("scope global", shown);
        Assert.DoesNotContain("tentative", shown);
        Assert.True(_netlink.TryAddAddress(_va, AddressA, 64, out errno), "adding it again replaces: " + Errno.Describe(errno));
    }

    [Fact]
    public void A_neighbour_is_found_with_its_mac_after_traffic_to_it_and_an_unknown_one_is_ENOENT()
    {
        Assert.True(_netlink.TryAddAddress(_va, AddressA, 64, out var errno), Errno.Describe(errno));
        _namespaces.WaitUntilUp(_a, "va");
        _namespaces.WaitUntilUp(_b, "vb");
        var mac = new byte[16];
        Assert.False(_netlink.TryFindNeighbor(_va, AddressB, mac, out _, out errno));
        Assert.Equal(ENOENT, errno);

        // An echo request makes the kernel resolve the neighbour (NS/NA) before it can send.
        using (var icmp = _namespaces.Run(_a, () => IcmpV6Socket.Open(new() { AcceptTypes = [129], ReceiveTimeout = TimeSpan.FromSeconds(2) })))
        {
            Assert.True(icmp.TrySend([128, 0, 0, 0, 0, 1, 0, 1], AddressB, _va, null, out errno), Errno.Describe(errno));
            Assert.True(icmp.Receive(new byte[256], out var from, out _, out _, out _, out errno) > 0, Errno.Describe(errno));
            Assert.Equal(AddressB, from);
        }
        var peerMac = _namespaces.Run(_b, () => { using var b = RouteNetlink.Open(); return b.DumpLinks().Single(l => l.Name == "vb").LinkLayerAddress; });

        Assert.True(_netlink.TryFindNeighbor(_va, AddressB, mac, out var length, out errno), Errno.Describe(errno));
        Assert.Equal(6, length);
        Assert.Equal(Bytes.Show(peerMac), Bytes.Show(mac.AsSpan(0, length)));
        Assert.False(_netlink.TryFindNeighbor(_va, Ipv6Address.Parse("2001:db8:1::77"), mac, out _, out errno));
        Assert.Equal(ENOENT, errno);
    }

    [Fact]
    public void The_link_dump_lists_every_interface_with_index_name_flags_and_mac()
    {
        var links = _netlink.DumpLinks();

        var lo = Assert.Single(links, l => l.Name == "lo");
        Assert.True(lo.IsUp);
        Assert.Equal(1, lo.Index);
        var va = Assert.Single(links, l => l.Name == "va");
        Assert.Equal(_va, va.Index);
        Assert.True(va.IsUp);
        Assert.Equal(6, va.LinkLayerAddress.Length);
        Assert.Contains(Convert.ToHexStringLower(va.LinkLayerAddress), IpA("link", "show", "dev", "va").Replace(":", ""));
        Assert.Equal(0, _namespaces.Run(_a, () => RouteNetlink.InterfaceIndex("nosuchdev0")));
    }

    [Fact]
    public void The_qdisc_dump_counts_what_a_token_bucket_sent_and_dropped_the_way_tc_does()
    {
        // A token bucket far too slow for a burst of 400 datagrams: most are dropped at va's egress.
        NetworkNamespaces.Ip("netns", "exec", _a, "tc", "qdisc", "replace", "dev", "va", "root", "tbf", "rate", "100kbit", "burst", "3000", "limit", "3000");
        _namespaces.AddAddress(_a, "va", $"{AddressA}/64");
        _namespaces.Run(_a, () =>
        {
            using var udp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            var target = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(AddressB.ToString()), 9);
            for (var i = 0; i < 400; i++)
                try { udp.SendTo(new byte[500], target); } catch (System.Net.Sockets.SocketException) { } // ENOBUFS when the qdisc refuses
        });

        var tbf = Assert.Single(_netlink.DumpQdiscs(), q => q.Index == _va && q.IsRoot);
        Assert.Equal("tbf", tbf.Kind);
        Assert.True(tbf.Drops > 100, $"drops {tbf.Drops}");
        Assert.True(tbf.Packets > 0, $"packets {tbf.Packets}");
        // tc -s reports the same counters ("Sent B bytes P pkt (dropped D, ...").
        var tc = NetworkNamespaces.Ip("netns", "exec", _a, "tc", "-s", "qdisc", "show", "dev", "va", "root");
        var sent = System.Text.RegularExpressions.Regex.Match(tc, @"Sent (\d+) bytes (\d+) pkt \(dropped (\d+)");
        Assert.True(sent.Success, tc);
        Assert.Equal(long.Parse(sent.Groups[2].Value), tbf.Packets);
        Assert.Equal(long.Parse(sent.Groups[3].Value), tbf.Drops);
    }
}
