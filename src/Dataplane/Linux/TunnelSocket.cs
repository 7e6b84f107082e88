// The LMA–MAG bi-directional tunnel (RFC 5213 §6.10.4 / §6.10.5) as IPv6-in-IPv6 (RFC 2473) carried by
// a raw socket in userspace instead of an ip6tnl device: socket(AF_INET6, SOCK_RAW, 41). Per raw(7) /
// ipv6(7) and RFC 3542 §3:
//   - on send the kernel builds the outer (tunnel) IPv6 header with next header 41, the bound address
//     as source and IPV6_UNICAST_HOPS as hop limit; what we hand over is the inner IPv6 packet;
//   - on receive the kernel hands over the outer packet's payload after its IPv6 header (and any
//     extension headers it processed), i.e. exactly the inner IPv6 packet, and the outer source in
//     the sockaddr_in6.
// Why a raw socket: the hosts we run on may lack the ip6_tunnel module (as our CI kernel does), and a
// userspace tunnel end keeps per-binding state (which MAG, which HNP) in our actors rather than in a
// device per peer.
//
// What the kernel does without ip6_tunnel (checked on Linux 6.18, no ip6_tunnel/tunnel6/sit loaded,
// two namespaces on a veth, tshark on the receiving side):
//   - a proto-41 packet to an address a raw proto-41 socket is bound to (or to any local address when
//     the socket is unbound) is delivered to that socket, and the kernel sends NO ICMPv6 error:
//     ip6_protocol_deliver_rcu finds no inet6_protocol for 41, but a raw socket took the packet
//     (raw6_local_deliver), so it neither counts Ip6InUnknownProtos nor answers;
//   - a proto-41 packet to another local address, with no raw socket matching it, is NOT delivered to
//     the socket bound to the first address, and the kernel answers the tunnel source with ICMPv6
//     Parameter Problem code 1 ("unrecognized Next Header", RFC 4443 §3.4) and counts
//     Ip6InUnknownProtos / Icmp6OutParmProblems. So every address a peer tunnels to needs a socket
//     bound to it (or one unbound socket), else the peer gets errors back.
// One instance owns one fd. One thread may send while another receives (the kernel serialises on the
// socket). Send and receive never allocate and never throw; they return the errno.
using System.Diagnostics.CodeAnalysis;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed record TunnelSocketOptions
{
    /// <summary>The tunnel end's own address: bound, so it is the outer source of what we send and the only outer destination we receive.</summary>
    public required Ipv6Address LocalAddress { get; init; }

    /// <summary>SO_BINDTODEVICE: send and receive only through this interface (at most 15 characters).</summary>
    public string? Device { get; init; }

    /// <summary>SO_RCVTIMEO: how long <see cref="TunnelSocket.Receive"/> blocks before returning -1 with EAGAIN; zero blocks forever.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>SO_RCVBUFFORCE (falling back to SO_RCVBUF) in octets, or 0 for the kernel default.</summary>
    public int ReceiveBufferBytes { get; init; }

    /// <summary>SO_SNDBUFFORCE (falling back to SO_SNDBUF) in octets, or 0 for the kernel default.</summary>
    public int SendBufferBytes { get; init; }

    /// <summary>IPV6_UNICAST_HOPS: the outer header's hop limit (RFC 2473 §6.3: the tunnel's configured value).</summary>
    public int HopLimit { get; init; } = 64;
}

public sealed unsafe class TunnelSocket : OwnedFileDescriptor
{
    /// <summary>IPPROTO_IPV6 as a next header value (41, "IPv6 encapsulation"); the raw socket's protocol.</summary>
    public const int Protocol = IpProtocol.Ipv6;

    /// <summary>A buffer this large holds any inner packet (the outer payload length is 16 bits).</summary>
    public const int MaxInnerLength = Ipv6InIpv6.MaxInnerLength;

    private readonly int _deviceIndex;

    private TunnelSocket(int fd, int deviceIndex, TunnelSocketOptions options) : base(fd)
    {
        _deviceIndex = deviceIndex;
        Options = options;
    }

    public TunnelSocketOptions Options { get; }

    /// <summary>Opens the socket in the calling thread's network namespace; throws <see cref="LinuxSetupException"/> naming the failing call and errno.</summary>
    public static TunnelSocket Open(TunnelSocketOptions options) =>
        TryOpen(options, out var socket, out var error) ? socket : throw new LinuxSetupException(error);

    /// <summary>As <see cref="Open"/>, reporting failure (EPERM without CAP_NET_RAW, EADDRNOTAVAIL for a non-local address, ENODEV) instead of throwing.</summary>
    public static bool TryOpen(TunnelSocketOptions options, [NotNullWhen(true)] out TunnelSocket? socket, out LinuxSetupError error)
    {
        socket = null;
        var fd = LibC.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, Protocol);
        if (fd < 0)
        {
            error = new LinuxSetupError("socket(AF_INET6, SOCK_RAW, 41)", errno, MobilityHeaderSocket.PrivilegeHint);
            return false;
        }
        if (!TryConfigure(fd, options, out var deviceIndex, out error))
        {
            close(fd);
            return false;
        }
        socket = new TunnelSocket(fd, deviceIndex, options);
        return true;
    }

    private static bool TryConfigure(int fd, TunnelSocketOptions options, out int deviceIndex, out LinuxSetupError error)
    {
        const string hint = MobilityHeaderSocket.PrivilegeHint;
        deviceIndex = 0;
        if (options.HopLimit is < 1 or > 255)
        {
            error = new LinuxSetupError($"setsockopt(IPV6_UNICAST_HOPS, {options.HopLimit})", EINVAL, hint);
            return false;
        }
        return SocketSetup.TrySetInt(fd, SOL_IPV6, IPV6_UNICAST_HOPS, options.HopLimit, $"setsockopt(IPV6_UNICAST_HOPS, {options.HopLimit})", hint, out error)
            && SocketSetup.TrySetBuffer(fd, receive: true, options.ReceiveBufferBytes, hint, out error)
            && SocketSetup.TrySetBuffer(fd, receive: false, options.SendBufferBytes, hint, out error)
            && SocketSetup.TrySetReceiveTimeout(fd, options.ReceiveTimeout, hint, out error)
            && (options.Device is not { } device || SocketSetup.TryBindToDevice(fd, device, hint, out deviceIndex, out error))
            && SocketSetup.TryBind(fd, options.LocalAddress, deviceIndex, hint, out error);
    }

    /// <summary>
    /// Sends <paramref name="innerPacket"/> (a whole IPv6 packet) to tunnel end <paramref name="destination"/>;
    /// the kernel prepends the outer header (and fragments the outer packet should it exceed the path
    /// MTU, RFC 2473 §7). False with <paramref name="errno"/>: EMSGSIZE for an inner packet longer than
    /// <see cref="MaxInnerLength"/>, ENETUNREACH without a route, EAGAIN/ENOBUFS when the send buffer is
    /// full, EBADF once disposed. Allocation-free: the sockaddr_in6 lives on the stack.
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> innerPacket, Ipv6Address destination, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        sockaddr_in6 to = default;
        to.sin6_family = AF_INET6;
        destination.Write(new Span<byte>(&to.sin6_addr, Ipv6Address.Length));
        if (destination.IsLinkLocal)
            to.sin6_scope_id = (uint)_deviceIndex;
        long sent;
        fixed (byte* payload = innerPacket)
        {
            do
            {
                sent = sendto(fd, payload, (size_t)innerPacket.Length, 0, (sockaddr*)&to, RawSocketNumbers.SockaddrIn6Size);
                errno = sent < 0 ? LibC.errno : 0;
            }
            while (sent < 0 && errno == EINTR);
        }
        GC.KeepAlive(this);
        if (sent < 0)
            return false;
        if (sent != innerPacket.Length)
        {
            errno = EMSGSIZE;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Blocks for one tunnelled packet (at most <see cref="TunnelSocketOptions.ReceiveTimeout"/>) and copies
    /// the inner IPv6 packet into <paramref name="buffer"/>; <paramref name="source"/> is the outer source
    /// (the peer tunnel end). Returns the inner length, or -1 with <paramref name="errno"/>: EAGAIN on
    /// timeout; EINTR; EMSGSIZE when it did not fit (it is discarded); EBADF once disposed.
    /// </summary>
    public int Receive(Span<byte> buffer, out Ipv6Address source, out int errno)
    {
        source = default;
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return -1;
        }
        sockaddr_in6 from = default;
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
        return (int)received;
    }

    /// <summary>The kernel's count of packets discarded for this socket (sk_drops via SO_MEMINFO), e.g. on a full receive buffer.</summary>
    public bool TryGetKernelDrops(out uint drops, out int errno) => SocketCounters.TryGetDrops(this, out drops, out errno);

    /// <summary>True for the errnos after which a receive loop just calls <see cref="Receive"/> again.</summary>
    public static bool IsTransientReceiveError(int errno) =>
        errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == EMSGSIZE;
}
