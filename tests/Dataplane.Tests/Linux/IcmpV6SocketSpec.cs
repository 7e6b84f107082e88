// The MAG's raw ICMPv6 socket against a real kernel: a mobile node's namespace ("h", device mn0,
// link-local fe80::a) and a MAG's ("r", device acc0, link-local fe80::b, forwarding on so it is a
// router and listens on ff02::2), joined by a veth: the point-to-point access link of RFC 5213 §6.9.
using System.Buffers.Binary;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

/// <summary>Two namespaces, "h" (mobile node) and "r" (MAG, a router), joined by mn0 -- acc0, with fixed link-locals.</summary>
internal sealed class AccessLink : IDisposable
{
    public const string HostDevice = "mn0";
    public const string RouterDevice = "acc0";
    public static readonly Ipv6Address HostLinkLocal = Ipv6Address.Parse("fe80::a");
    public static readonly Ipv6Address RouterLinkLocal = Ipv6Address.Parse("fe80::b");

    public AccessLink()
    {
        Namespaces = new NetworkNamespaces();
        try
        {
            Host = Namespaces.Create('h');
            Router = Namespaces.Create('r');
            Namespaces.Run(Router, () => File.WriteAllText("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
            Namespaces.Veth(Host, HostDevice, Router, RouterDevice);
            Namespaces.WaitUntilUp(Host, HostDevice);
            Namespaces.WaitUntilUp(Router, RouterDevice);
            Namespaces.AddAddress(Host, HostDevice, $"{HostLinkLocal}/64");
            Namespaces.AddAddress(Router, RouterDevice, $"{RouterLinkLocal}/64");
            HostIndex = Namespaces.Run(Host, () => NetInterface.IndexOf(HostDevice, out _));
            RouterIndex = Namespaces.Run(Router, () => NetInterface.IndexOf(RouterDevice, out _));
        }
        catch
        {
            Namespaces.Dispose();
            throw;
        }
    }

    public NetworkNamespaces Namespaces { get; }
    public string Host { get; }
    public string Router { get; }
    public int HostIndex { get; }
    public int RouterIndex { get; }

    public IcmpV6Socket Open(string ns, params byte[] acceptTypes) =>
        Namespaces.Run(ns, () => IcmpV6Socket.Open(new() { AcceptTypes = acceptTypes, ReceiveTimeout = TimeSpan.FromMilliseconds(200) }));

    public void Dispose() => Namespaces.Dispose();
}

public class IcmpV6SocketSpec
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);
    private const byte EchoRequest = 128;
    private const byte EchoReply = 129;
    private const byte RouterSolicitation = 133;
    private const byte RouterAdvertisement = 134;

    private sealed record Received(byte[] Bytes, Ipv6Address Source, Ipv6Address Destination, int Ifindex, int HopLimit);

    private static Received? ReceiveWhere(IcmpV6Socket socket, Func<Received, bool> wanted, TimeSpan patience, List<byte>? types = null)
    {
        var buffer = new byte[IcmpV6Socket.MaxMessageLength];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            var n = socket.Receive(buffer, out var source, out var destination, out var ifindex, out var hopLimit, out var errno);
            if (n < 0)
            {
                Assert.True(IcmpV6Socket.IsTransientReceiveError(errno), $"receive failed: {Errno.Describe(errno)}");
                continue;
            }
            var got = new Received(buffer[..n], source, destination, ifindex, hopLimit);
            types?.Add(got.Bytes[0]);
            if (wanted(got))
                return got;
        }
        return null;
    }

    /// <summary>
    /// An RS carrying <paramref name="tag"/> in its Reserved field (which receivers ignore, RFC 4861
    /// §4.1), so it is told apart from the kernel's own RSs. (Not in a Source Link-Layer Address option:
    /// the router would believe it and send its answer to that made-up MAC.)
    /// </summary>
    private static byte[] RouterSolicitationTagged(uint tag)
    {
        var buffer = new byte[64];
        var w = NdWriter.RouterSolicitation(buffer);
        Assert.True(w.TryFinish(default, default, out var length));
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), tag);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(NdMessage.ChecksumOffset), 0xFFFF); // any value: the kernel rewrites it
        return buffer[..length];
    }

    private static Func<Received, bool> SolicitationTagged(uint tag) => got =>
        got.Bytes.Length >= NdMessage.RsOptionsOffset && got.Bytes[0] == RouterSolicitation && BinaryPrimitives.ReadUInt32BigEndian(got.Bytes.AsSpan(4)) == tag;

    private static uint NewTag() => (uint)Random.Shared.Next(1, int.MaxValue);

    [Fact]
    public void A_router_solicitation_to_all_routers_reaches_the_router_with_its_interface_hop_limit_255_and_the_hosts_link_local()
    {
        using var link = new AccessLink();
        using var router = link.Open(link.Router, RouterSolicitation);
        using var host = link.Open(link.Host);
        var tag = NewTag();

        Assert.True(host.TrySend(RouterSolicitationTagged(tag), WireSamples.AllRouters, link.HostIndex, AccessLink.HostLinkLocal, out var errno), Errno.Describe(errno));
        var got = ReceiveWhere(router, SolicitationTagged(tag), Patience);

        Assert.NotNull(got);
        Assert.Equal(AccessLink.HostLinkLocal, got.Source);
        Assert.Equal(WireSamples.AllRouters, got.Destination);
        Assert.Equal(link.RouterIndex, got.Ifindex);
        Assert.Equal(IcmpV6Socket.NeighborDiscoveryHopLimit, got.HopLimit);
        Assert.True(NdMessage.VerifyChecksum(got.Source, got.Destination, got.Bytes), "the kernel filled the checksum for the real addresses");
        Assert.True(NdMessage.TryDecode(got.Bytes, out var rs, out var error), error.ToString());
        Assert.Equal(Icmpv6Type.RouterSolicitation, rs.Type);
    }

    [Fact]
    public void The_router_answers_with_a_unicast_advertisement_to_the_hosts_link_local_on_the_interface_it_came_from()
    {
        using var link = new AccessLink();
        using var router = link.Open(link.Router, RouterSolicitation);
        using var host = link.Open(link.Host, RouterAdvertisement);
        var tag = NewTag();
        Assert.True(host.TrySend(RouterSolicitationTagged(tag), WireSamples.AllRouters, link.HostIndex, AccessLink.HostLinkLocal, out var errno), Errno.Describe(errno));
        var solicitation = ReceiveWhere(router, SolicitationTagged(tag), Patience);
        Assert.NotNull(solicitation);

        var buffer = new byte[128];
        var w = NdWriter.RouterAdvertisement(buffer, 64, RouterAdvertisementFlags.None, 0, reachableTimeMs: tag);
        w.PrefixInformation(new PrefixInformation(WireSamples.Hnp1, PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, 3600, 1800));
        Assert.True(w.TryFinish(AccessLink.RouterLinkLocal, solicitation.Source, out var length));
        Assert.True(router.TrySend(buffer.AsSpan(0, length), solicitation.Source, solicitation.Ifindex, AccessLink.RouterLinkLocal, out errno), Errno.Describe(errno));

        var advertisement = ReceiveWhere(host, got => NdMessage.TryDecode(got.Bytes, out var ra, out _) && ra.ReachableTimeMs == tag, Patience);
        Assert.NotNull(advertisement);
        Assert.Equal(AccessLink.RouterLinkLocal, advertisement.Source);
        Assert.Equal(AccessLink.HostLinkLocal, advertisement.Destination);
        Assert.Equal(link.HostIndex, advertisement.Ifindex);
        Assert.Equal(IcmpV6Socket.NeighborDiscoveryHopLimit, advertisement.HopLimit);
        Assert.Equal(Bytes.Show(buffer.AsSpan(0, length)), Bytes.Show(advertisement.Bytes));
        Assert.True(NdMessage.TryDecode(advertisement.Bytes, out var decoded, out var error), error.ToString());
        var prefixes = decoded.Options.PrefixInformations;
        Assert.True(prefixes.MoveNext());
        Assert.Equal(WireSamples.Hnp1, prefixes.Current.Prefix);
    }

    [Fact]
    public void A_type_the_filter_does_not_accept_is_not_delivered()
    {
        using var link = new AccessLink();
        using var router = link.Open(link.Router, RouterSolicitation);
        using var host = link.Open(link.Host);
        var echo = new byte[] { EchoRequest, 0, 0, 0, 0x12, 0x34, 0, 1, 0xDE, 0xAD };

        // An echo request to the router's link-local: its kernel answers, its socket must not see it.
        Assert.True(host.TrySend(echo, AccessLink.RouterLinkLocal, link.HostIndex, AccessLink.HostLinkLocal, out var errno), Errno.Describe(errno));
        var tag = NewTag();
        Assert.True(host.TrySend(RouterSolicitationTagged(tag), WireSamples.AllRouters, link.HostIndex, AccessLink.HostLinkLocal, out errno), Errno.Describe(errno));
        var types = new List<byte>();
        Assert.NotNull(ReceiveWhere(router, SolicitationTagged(tag), Patience, types));

        Assert.All(types, type => Assert.Equal(RouterSolicitation, type));
    }

    [Fact]
    public void An_echo_request_to_all_nodes_on_an_interface_draws_an_echo_reply_from_the_peers_link_local()
    {
        using var link = new AccessLink();
        using var host = link.Open(link.Host, EchoReply);
        var identifier = (ushort)Random.Shared.Next(1, ushort.MaxValue);
        var echo = new byte[] { EchoRequest, 0, 0, 0, (byte)(identifier >> 8), (byte)identifier, 0, 7, 0x70, 0x6D, 0x69, 0x70 };

        Assert.True(host.TrySend(echo, WireSamples.AllNodes, link.HostIndex, null, out var errno), Errno.Describe(errno));
        var reply = ReceiveWhere(host, got => got.Bytes.Length == echo.Length && got.Bytes[0] == EchoReply
            && got.Bytes.AsSpan(4).SequenceEqual(echo.AsSpan(4)), Patience);

        Assert.NotNull(reply);
        Assert.True(reply.Source.IsLinkLocal, $"{reply.Source} is link-local");
        var routerAddresses = NetworkNamespaces.Ip("-n", link.Router, "-6", "addr", "show", "dev", AccessLink.RouterDevice);
        Assert.Contains($"{reply.Source}/64", routerAddresses);
        Assert.Equal(link.HostIndex, reply.Ifindex);
        Assert.True(NdMessage.VerifyChecksum(reply.Source, reply.Destination, reply.Bytes));
    }

    [Fact]
    public void A_source_address_the_host_does_not_have_is_refused_with_EINVAL()
    {
        using var link = new AccessLink();
        using var host = link.Open(link.Host);
        var echo = new byte[] { EchoRequest, 0, 0, 0, 0, 1, 0, 1 };

        Assert.False(host.TrySend(echo, AccessLink.RouterLinkLocal, link.HostIndex, Ipv6Address.Parse("fe80::99"), out var errno));
        Assert.Equal(EINVAL, errno); // ip6_datagram_send_ctl: IPV6_PKTINFO source must be local
        Assert.True(host.TrySend(echo, AccessLink.RouterLinkLocal, link.HostIndex, AccessLink.HostLinkLocal, out errno), Errno.Describe(errno));
    }

    [Fact]
    public void The_filter_blocks_every_type_but_the_accepted_ones_as_icmp6_filter_bits()
    {
        var filter = new uint[IcmpV6Socket.FilterWords];
        IcmpV6Socket.BuildFilter([RouterSolicitation, 135, EchoReply], filter);

        for (var type = 0; type < 256; type++)
        {
            var blocked = (filter[type >> 5] & (1u << (type & 31))) != 0; // ICMP6_FILTER_WILLBLOCK
            Assert.Equal(type is RouterSolicitation or 135 or EchoReply, !blocked);
        }
    }

    [Fact]
    public void A_disposed_socket_reports_EBADF_instead_of_throwing()
    {
        var socket = IcmpV6Socket.Open(new() { ReceiveTimeout = TimeSpan.FromMilliseconds(10) });
        socket.Dispose();

        Assert.False(socket.TrySend(new byte[8], Ipv6Address.Parse("::1"), 0, null, out var sendErrno));
        Assert.Equal(EBADF, sendErrno);
        Assert.Equal(-1, socket.Receive(new byte[64], out _, out _, out _, out _, out var receiveErrno));
        Assert.Equal(EBADF, receiveErrno);
    }
}
