// The MAG's raw ICMPv6 socket for its access links (RFC 5213 §6.9.1: the MAG answers Router
// Solicitations with per-MN Router Advertisements and owns Neighbor Discovery on the point-to-point
// link): socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6). Per RFC 3542 and raw(7)/icmp6(7)/ipv6(7):
//   - what we send and receive starts at the ICMPv6 type octet; the kernel writes the IPv6 header and,
//     for ICMPv6, always computes the checksum at offset 2 on send and verifies it on receive (RFC 3542
//     §3.1: IPV6_CHECKSUM cannot be changed for ICMPv6), whatever the checksum field holds;
//   - ICMP6_FILTER (RFC 3542 §3.2, level IPPROTO_ICMPV6, option 1) passes only the types we ask for,
//     in the kernel, so a MAG's socket does not wake for every MLD report and echo on the link;
//   - IPV6_RECVPKTINFO / IPV6_RECVHOPLIMIT (RFC 3542 §6) report, per datagram, the destination address
//     (unicast or ff02::2?), the arrival interface and the hop limit: RFC 4861 §6.1.1/§7.1.1 make a
//     receiver discard ND messages whose hop limit is not 255 (proof they were not forwarded);
//   - IPV6_UNICAST_HOPS / IPV6_MULTICAST_HOPS = 255, since ND messages must be sent with hop limit 255
//     (RFC 4861 §4), and IPV6_MULTICAST_LOOP = 0 so our own multicast RAs do not come back to us;
//   - one socket serves every access link: IPV6_PKTINFO on sendmsg picks the outgoing interface and
//     source (typically the MAG's link-local), which is what link-local and ff02::/16 destinations need.
// Hearing RSs sent to ff02::2 requires the host to be a router (net.ipv6.conf.*.forwarding = 1 joins
// all-routers on every interface), which a MAG is anyway.
// One instance owns one fd. Send and receive never allocate and never throw; they return the errno.
using System.Diagnostics.CodeAnalysis;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed record IcmpV6SocketOptions
{
    /// <summary>
    /// The ICMPv6 types delivered (ICMP6_FILTER); every other type is blocked in the kernel. E.g. 133
    /// Router Solicitation, 135 Neighbor Solicitation, 129 Echo Reply. Empty: nothing is delivered
    /// (a send-only socket).
    /// </summary>
    public IReadOnlyCollection<byte> AcceptTypes { get; init; } = [];

    /// <summary>SO_RCVTIMEO: how long <see cref="IcmpV6Socket.Receive"/> blocks before returning -1 with EAGAIN; zero blocks forever.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>SO_RCVBUFFORCE (falling back to SO_RCVBUF) in octets, or 0 for the kernel default.</summary>
    public int ReceiveBufferBytes { get; init; }
}

public sealed unsafe class IcmpV6Socket : OwnedFileDescriptor
{
    /// <summary>Hop limit of every ND message sent and required of every ND message received (RFC 4861 §4, §6.1, §7.1).</summary>
    public const int NeighborDiscoveryHopLimit = 255;

    /// <summary>ICMP6_FILTER in <netinet/icmp6.h> (<linux/icmpv6.h>), at level IPPROTO_ICMPV6.</summary>
    internal const int ICMP6_FILTER = 1;

    /// <summary>struct icmp6_filter: 256 bits, one per type; a set bit blocks the type (ICMP6_FILTER_WILLBLOCK).</summary>
    internal const int FilterWords = 8;

    /// <summary>
    /// Control buffer in 8-octet words: CMSG_SPACE(in6_pktinfo) 40 + CMSG_SPACE(int hop limit) 24 = 64
    /// octets, doubled for an unexpected extra message (reported as MSG_CTRUNC, which we ignore).
    /// </summary>
    private const int ControlWords = 16;

    /// <summary>A buffer this large holds any ICMPv6 message on a 1500-octet link, and more.</summary>
    public const int MaxMessageLength = ushort.MaxValue;

    private IcmpV6Socket(int fd, IcmpV6SocketOptions options) : base(fd) => Options = options;

    public IcmpV6SocketOptions Options { get; }

    /// <summary>Opens the socket in the calling thread's network namespace; throws <see cref="LinuxSetupException"/> naming the failing call and errno.</summary>
    public static IcmpV6Socket Open(IcmpV6SocketOptions? options = null) =>
        TryOpen(options ?? new IcmpV6SocketOptions(), out var socket, out var error) ? socket : throw new LinuxSetupException(error);

    /// <summary>As <see cref="Open"/>, reporting failure (e.g. EPERM without CAP_NET_RAW) instead of throwing.</summary>
    public static bool TryOpen(IcmpV6SocketOptions options, [NotNullWhen(true)] out IcmpV6Socket? socket, out LinuxSetupError error)
    {
        socket = null;
        var fd = LibC.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
        if (fd < 0)
        {
            error = new LinuxSetupError("socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)", errno, MobilityHeaderSocket.PrivilegeHint);
            return false;
        }
        if (!TryConfigure(fd, options, out error))
        {
            close(fd);
            return false;
        }
        socket = new IcmpV6Socket(fd, options);
        return true;
    }

    private static bool TryConfigure(int fd, IcmpV6SocketOptions options, out LinuxSetupError error)
    {
        const string hint = MobilityHeaderSocket.PrivilegeHint;
        var filter = stackalloc uint[FilterWords];
        BuildFilter(options.AcceptTypes, new Span<uint>(filter, FilterWords));
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, filter, FilterWords * sizeof(uint)) < 0)
            return SocketSetup.Fail(out error, $"setsockopt(ICMP6_FILTER, pass {string.Join(' ', options.AcceptTypes)})", hint);
        return SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_RECVPKTINFO, 1, "setsockopt(IPV6_RECVPKTINFO)", hint, out error)
            && SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_RECVHOPLIMIT, 1, "setsockopt(IPV6_RECVHOPLIMIT)", hint, out error)
            && SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_UNICAST_HOPS, NeighborDiscoveryHopLimit, "setsockopt(IPV6_UNICAST_HOPS, 255)", hint, out error)
            && SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_MULTICAST_HOPS, NeighborDiscoveryHopLimit, "setsockopt(IPV6_MULTICAST_HOPS, 255)", hint, out error)
            && SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_MULTICAST_LOOP, 0, "setsockopt(IPV6_MULTICAST_LOOP, 0)", hint, out error)
            && SocketSetup.TrySetBuffer(fd, receive: true, options.ReceiveBufferBytes, hint, out error)
            && SocketSetup.TrySetReceiveTimeout(fd, options.ReceiveTimeout, hint, out error);
    }

    /// <summary>ICMP6_FILTER_SETBLOCKALL, then ICMP6_FILTER_SETPASS for each type (RFC 3542 §3.2).</summary>
    internal static void BuildFilter(IEnumerable<byte> acceptTypes, Span<uint> filter)
    {
        filter.Fill(uint.MaxValue);
        foreach (var type in acceptTypes)
            filter[type >> 5] &= ~(1u << (type & 31));
    }

    /// <summary>
    /// Sends one ICMPv6 message (starting at its type octet; the kernel fills the checksum) to
    /// <paramref name="destination"/> out of interface <paramref name="ifindex"/> (IPV6_PKTINFO; 0 lets
    /// the routing table choose, which does not work for link-local or multicast destinations), from
    /// <paramref name="source"/> when given (must be an address of this host, e.g. the interface's
    /// link-local), else from the address the kernel selects. Hop limit 255. False with
    /// <paramref name="errno"/>: EINVAL/EADDRNOTAVAIL for a source not on the host, ENXIO/ENODEV for a
    /// missing interface, ENETUNREACH, EBADF once disposed.
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> icmpMessage, Ipv6Address destination, int ifindex, Ipv6Address? source, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        var scope = destination.IsLinkLocal || IsLinkScopeMulticast(destination) ? (uint)ifindex : 0;
        var ok = RawSend.TrySendTo(fd, icmpMessage, destination, scope, true, source ?? Ipv6Address.Unspecified, ifindex, out errno);
        GC.KeepAlive(this);
        return ok;
    }

    /// <summary>
    /// Blocks for one ICMPv6 message of an accepted type (at most the receive timeout) and copies it,
    /// from its type octet, into <paramref name="buffer"/>. Reports the IPv6 source, the destination
    /// it was sent to (e.g. ff02::2 or our link-local), the arrival interface and the hop limit it
    /// arrived with (ND receivers drop anything but 255). Returns the length, or -1 with
    /// <paramref name="errno"/>: EAGAIN on timeout; EINTR; EMSGSIZE when it did not fit (it is
    /// discarded); EBADF once disposed.
    /// </summary>
    public int Receive(Span<byte> buffer, out Ipv6Address source, out Ipv6Address destination, out int ifindex, out int hopLimit, out int errno)
    {
        source = default;
        destination = default;
        ifindex = 0;
        hopLimit = -1;
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return -1;
        }
        sockaddr_in6 from = default;
        var control = stackalloc ulong[ControlWords];
        msghdr msg = default;
        long received;
        fixed (byte* payload = buffer)
        {
            iovec iov = default;
            iov.iov_base = payload;
            iov.iov_len = (size_t)buffer.Length;
            msg.msg_name = &from;
            msg.msg_namelen = RawSocketNumbers.SockaddrIn6Size;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = ControlWords * sizeof(ulong);
            received = recvmsg(fd, &msg, 0);
            errno = received < 0 ? LibC.errno : 0;
        }
        GC.KeepAlive(this);
        if (received < 0)
            return -1;
        if ((msg.msg_flags & MSG_TRUNC) != 0)
        {
            errno = EMSGSIZE;
            return -1;
        }
        source = Ipv6Address.Read(new ReadOnlySpan<byte>(&from.sin6_addr, Ipv6Address.Length));
        for (var cmsg = ControlMessage.First(&msg); cmsg != null; cmsg = ControlMessage.Next(&msg, cmsg))
        {
            if (cmsg->cmsg_level != SOL_IPV6)
                continue;
            var length = (ulong)cmsg->cmsg_len;
            if (cmsg->cmsg_type == IPV6_PKTINFO && length >= (ulong)ControlMessage.Len(sizeof(in6_pktinfo)))
            {
                var info = (in6_pktinfo*)ControlMessage.Data(cmsg);
                destination = Ipv6Address.Read(new ReadOnlySpan<byte>(&info->ipi6_addr, Ipv6Address.Length));
                ifindex = (int)info->ipi6_ifindex;
            }
            else if (cmsg->cmsg_type == IPV6_HOPLIMIT && length >= (ulong)ControlMessage.Len(sizeof(int)))
            {
                hopLimit = *(int*)ControlMessage.Data(cmsg);
            }
        }
        return (int)received;
    }

    /// <summary>The kernel's count of messages discarded for this socket (sk_drops via SO_MEMINFO).</summary>
    public bool TryGetKernelDrops(out uint drops, out int errno) => SocketCounters.TryGetDrops(this, out drops, out errno);

    /// <summary>True for the errnos after which a receive loop just calls <see cref="Receive"/> again.</summary>
    public static bool IsTransientReceiveError(int errno) =>
        errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == EMSGSIZE;

    /// <summary>ff02::/16 and ff01::/16 (interface- and link-local multicast, RFC 4291 §2.7) need an interface like link-local unicast.</summary>
    private static bool IsLinkScopeMulticast(Ipv6Address address) =>
        (address.Value >> 120) == 0xFF && ((int)(address.Value >> 112) & 0x0F) is 1 or 2;
}
