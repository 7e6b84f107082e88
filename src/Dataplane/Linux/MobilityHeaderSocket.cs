// The Linux raw socket for Mobility Header signalling (RFC 6275 §6.1, next header 135): the one way
// our daemons put PBU/PBA, heartbeat and revocation messages on the wire. Raw IPv6 sockets per
// RFC 3542 §3 and raw(7)/ipv6(7):
//   - socket(AF_INET6, SOCK_RAW, IPPROTO_MH); the kernel writes the IPv6 header, and on receive hands
//     over the payload after it, i.e. starting at the Mobility Header (unlike raw IPv4 sockets);
//   - IPV6_CHECKSUM = 4: the kernel fills the MH checksum over the pseudo-header on send and verifies
//     it on receive (a failing packet is discarded, never delivered);
//   - IPV6_RECVPKTINFO: each datagram carries an IPV6_PKTINFO control message with the destination
//     address it was sent to and the interface it arrived on; IPV6_PKTINFO on sendmsg picks the
//     source address.
// One instance owns one fd. Send and receive never allocate and never throw; they return the errno.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed record MobilityHeaderSocketOptions
{
    /// <summary>Bind to this local address (receive only what is sent to it; send from it by default).</summary>
    public Ipv6Address? LocalAddress { get; init; }

    /// <summary>SO_BINDTODEVICE: send and receive only through this interface (at most 15 characters).</summary>
    public string? Device { get; init; }

    /// <summary>SO_RCVTIMEO: how long <see cref="MobilityHeaderSocket.Receive(Span{byte}, out Ipv6Address, out Ipv6Address, out int, out int)"/> blocks before returning -1 with EAGAIN; zero blocks forever.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// SO_RCVBUFFORCE (falling back to SO_RCVBUF) in octets, or 0 for the kernel default: an LMA needs
    /// room for the burst of PBUs every MAG sends when it notices the LMA restarted.
    /// </summary>
    public int ReceiveBufferBytes { get; init; }

    /// <summary>
    /// True (the only sane setting for a daemon): the kernel fills and verifies the MH checksum. False sets
    /// IPV6_CHECKSUM = -1, so what is sent goes out as given and what arrives is delivered unchecked
    /// (for tests that need a packet with a bad checksum on the wire, or to watch one arrive).
    /// </summary>
    public bool KernelChecksum { get; init; } = true;
}

public sealed unsafe class MobilityHeaderSocket : OwnedFileDescriptor
{
    internal const string PrivilegeHint = "raw sockets need root or CAP_NET_RAW";

    /// <summary>A buffer this large holds any Mobility Header (Header Len 255).</summary>
    public const int MaxMessageLength = MobilityHeader.MaxLength;

    private readonly int _deviceIndex;

    private MobilityHeaderSocket(int fd, int deviceIndex, MobilityHeaderSocketOptions options) : base(fd)
    {
        _deviceIndex = deviceIndex;
        Options = options;
    }

    public MobilityHeaderSocketOptions Options { get; }

    /// <summary>Opens the socket in the calling thread's network namespace; throws <see cref="LinuxSetupException"/> naming the failing call and errno.</summary>
    public static MobilityHeaderSocket Open(MobilityHeaderSocketOptions? options = null) =>
        TryOpen(options ?? new MobilityHeaderSocketOptions(), out var socket, out var error)
            ? socket
            : throw new LinuxSetupException(error);

    /// <summary>As <see cref="Open"/>, reporting failure (e.g. EPERM without CAP_NET_RAW) instead of throwing.</summary>
    public static bool TryOpen(MobilityHeaderSocketOptions options, [NotNullWhen(true)] out MobilityHeaderSocket? socket, out LinuxSetupError error)
    {
        socket = null;
        var fd = LibC.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_MH);
        if (fd < 0)
        {
            error = new LinuxSetupError("socket(AF_INET6, SOCK_RAW, IPPROTO_MH)", errno, MobilityHeaderSocket.PrivilegeHint);
            return false;
        }
        if (!TryConfigure(fd, options, out var deviceIndex, out error))
        {
            close(fd);
            return false;
        }
        socket = new MobilityHeaderSocket(fd, deviceIndex, options);
        return true;
    }

    private static bool TryConfigure(int fd, MobilityHeaderSocketOptions options, out int deviceIndex, out LinuxSetupError error)
    {
        deviceIndex = 0;
        var checksum = options.KernelChecksum ? RawSocketNumbers.MobilityHeaderChecksumOffset : RawSocketNumbers.ChecksumDisabled;
        if (setsockopt(fd, SOL_IPV6, IPV6_CHECKSUM, &checksum, sizeof(int)) < 0)
            return Fail(out error, $"setsockopt(IPV6_CHECKSUM, {checksum})");

        var on = 1;
        if (setsockopt(fd, SOL_IPV6, IPV6_RECVPKTINFO, &on, sizeof(int)) < 0)
            return Fail(out error, "setsockopt(IPV6_RECVPKTINFO)");

        if (options.ReceiveBufferBytes > 0)
        {
            var bytes = options.ReceiveBufferBytes;
            // SO_RCVBUFFORCE = 33 (asm-generic/socket.h): ignores rmem_max, needs CAP_NET_ADMIN.
            if (setsockopt(fd, SOL_SOCKET, 33, &bytes, sizeof(int)) < 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(int)) < 0)
                return Fail(out error, $"setsockopt(SO_RCVBUF, {bytes})");
        }

        var timeout = Timeval.From(options.ReceiveTimeout);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(Timeval)) < 0)
            return Fail(out error, "setsockopt(SO_RCVTIMEO)");

        if (options.Device is { } device)
        {
            var name = stackalloc byte[NetInterface.NameSize];
            var length = NetInterface.WriteName(device, new Span<byte>(name, NetInterface.NameSize));
            if (length == 0)
            {
                error = new LinuxSetupError($"setsockopt(SO_BINDTODEVICE, \"{device}\")", EINVAL, MobilityHeaderSocket.PrivilegeHint);
                return false;
            }
            if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, length) < 0)
                return Fail(out error, $"setsockopt(SO_BINDTODEVICE, \"{device}\")");
            deviceIndex = NetInterface.IndexOf(device, out var indexErrno);
            if (deviceIndex == 0)
            {
                error = new LinuxSetupError($"if_nametoindex(\"{device}\")", indexErrno, MobilityHeaderSocket.PrivilegeHint);
                return false;
            }
        }

        if (options.LocalAddress is { } local)
        {
            sockaddr_in6 address = default;
            address.sin6_family = AF_INET6;
            local.Write(new Span<byte>(&address.sin6_addr, Ipv6Address.Length));
            if (local.IsLinkLocal)
                address.sin6_scope_id = (uint)deviceIndex;
            if (bind(fd, (sockaddr*)&address, RawSocketNumbers.SockaddrIn6Size) < 0)
                return Fail(out error, $"bind({local})");
        }
        error = default;
        return true;
    }

    private static bool Fail(out LinuxSetupError error, string call)
    {
        error = new LinuxSetupError(call, errno, MobilityHeaderSocket.PrivilegeHint);
        return false;
    }

    /// <summary>
    /// Sends one Mobility Header to <paramref name="destination"/>, from <paramref name="source"/> when
    /// given (IPV6_PKTINFO; the address must be local), else from the bound or route-chosen address.
    /// With the kernel checksum on, the checksum field may hold anything: the kernel rewrites it.
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> mh, Ipv6Address destination, Ipv6Address? source, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        var ok = RawSend.TrySendTo(fd, mh, destination, destination.IsLinkLocal ? (uint)_deviceIndex : 0,
            source.HasValue, source ?? default, _deviceIndex, out errno);
        GC.KeepAlive(this);
        return ok;
    }

    /// <summary>
    /// Blocks for one datagram (at most <see cref="MobilityHeaderSocketOptions.ReceiveTimeout"/>) and
    /// copies its Mobility Header into <paramref name="buffer"/>. Returns its length, or -1 with
    /// <paramref name="errno"/>: EAGAIN on timeout; EINTR when interrupted; EMSGSIZE when the datagram
    /// did not fit (it is discarded); EHOSTUNREACH when the checksum of a queued datagram fails as it is
    /// copied out (rawv6_recvmsg's csum_copy_err; Linux 6.18 verifies before queueing, so a bad
    /// checksum normally shows only as a timeout and in <see cref="TryGetKernelDrops"/>); EBADF once disposed.
    /// All of them leave the socket usable: a receive loop checks for shutdown and calls again.
    /// </summary>
    public int Receive(Span<byte> buffer, out Ipv6Address source, out Ipv6Address destination, out int ifindex, out int errno)
    {
        source = default;
        destination = default;
        ifindex = 0;
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return -1;
        }

        sockaddr_in6 from = default;
        var control = stackalloc ulong[RawSocketNumbers.PktinfoControlWords];
        var controlLength = RawSocketNumbers.PktinfoControlWords * sizeof(ulong);
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
            msg.msg_controllen = controlLength;
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
            if (cmsg->cmsg_level != SOL_IPV6 || cmsg->cmsg_type != IPV6_PKTINFO
                || (ulong)cmsg->cmsg_len < (ulong)ControlMessage.Len(sizeof(in6_pktinfo)))
                continue;
            var info = (in6_pktinfo*)ControlMessage.Data(cmsg);
            destination = Ipv6Address.Read(new ReadOnlySpan<byte>(&info->ipi6_addr, Ipv6Address.Length));
            ifindex = (int)info->ipi6_ifindex;
        }
        return (int)received;
    }

    /// <summary>
    /// As the five-argument overload, in the C convention: -1 leaves the errno where
    /// <c>Marshal.GetLastPInvokeError()</c> (Tmds.LibC's <c>errno</c>) reads it on this thread.
    /// </summary>
    public int Receive(Span<byte> buffer, out Ipv6Address source, out Ipv6Address destination, out int ifindex)
    {
        var length = Receive(buffer, out source, out destination, out ifindex, out var error);
        if (length < 0)
            Marshal.SetLastPInvokeError(error);
        return length;
    }

    /// <summary>
    /// The kernel's count of datagrams discarded for this socket since it opened (sk_drops, read with
    /// SO_MEMINFO): checksum failures, a full receive buffer. Never throws; false with errno on failure.
    /// </summary>
    public bool TryGetKernelDrops(out uint drops, out int errno)
    {
        drops = 0;
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        var counters = stackalloc uint[RawSocketNumbers.MemInfoCounters];
        socklen_t length = RawSocketNumbers.MemInfoCounters * sizeof(uint);
        var result = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, counters, &length);
        errno = result < 0 ? LibC.errno : 0;
        GC.KeepAlive(this);
        if (result < 0)
            return false;
        if ((uint)length <= RawSocketNumbers.MemInfoDrops * sizeof(uint))
        {
            errno = ENOPROTOOPT;
            return false;
        }
        drops = counters[RawSocketNumbers.MemInfoDrops];
        return true;
    }

    /// <summary>
    /// True for the errnos after which a receive loop just calls <see cref="Receive(Span{byte}, out Ipv6Address, out Ipv6Address, out int, out int)"/>
    /// again (timeout, interruption, a discarded oversize or bad-checksum datagram).
    /// </summary>
    public static bool IsTransientReceiveError(int errno) =>
        errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == EMSGSIZE || errno == EHOSTUNREACH;
}
