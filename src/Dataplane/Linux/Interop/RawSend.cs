// One sendmsg(2) for the raw IPv6 sockets (Mobility Header, ICMPv6): the destination with its scope
// (link-local and link-scope multicast need the interface), optionally an IPV6_PKTINFO control message
// choosing the source address and outgoing interface (RFC 3542 §6), EINTR retried, a short send
// reported as EMSGSIZE. Allocation-free; the caller keeps its socket alive across the call.
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe class RawSend
{
    public static bool TrySendTo(int fd, ReadOnlySpan<byte> payload, Ipv6Address destination, uint scopeId,
        bool withPacketInfo, Ipv6Address packetInfoSource, int packetInfoIfindex, out int errno)
    {
        sockaddr_in6 to = default;
        to.sin6_family = AF_INET6;
        destination.Write(new Span<byte>(&to.sin6_addr, Ipv6Address.Length));
        to.sin6_scope_id = scopeId;

        var control = stackalloc ulong[RawSocketNumbers.PktinfoControlWords];
        long sent;
        fixed (byte* data = payload)
        {
            iovec iov = default;
            iov.iov_base = data;
            iov.iov_len = (size_t)payload.Length;
            msghdr msg = default;
            msg.msg_name = &to;
            msg.msg_namelen = RawSocketNumbers.SockaddrIn6Size;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            if (withPacketInfo)
            {
                var space = ControlMessage.Space(sizeof(in6_pktinfo));
                new Span<byte>(control, space).Clear();
                msg.msg_control = control;
                msg.msg_controllen = space;
                var cmsg = ControlMessage.First(&msg);
                cmsg->cmsg_level = SOL_IPV6;
                cmsg->cmsg_type = IPV6_PKTINFO;
                cmsg->cmsg_len = ControlMessage.Len(sizeof(in6_pktinfo));
                var info = (in6_pktinfo*)ControlMessage.Data(cmsg);
                packetInfoSource.Write(new Span<byte>(&info->ipi6_addr, Ipv6Address.Length));
                info->ipi6_ifindex = (uint)packetInfoIfindex;
            }
            do
            {
                sent = sendmsg(fd, &msg, 0);
                errno = sent < 0 ? LibC.errno : 0;
            }
            while (sent < 0 && errno == EINTR);
        }
        if (sent < 0)
            return false;
        if (sent != payload.Length)
        {
            errno = EMSGSIZE;
            return false;
        }
        return true;
    }
}
