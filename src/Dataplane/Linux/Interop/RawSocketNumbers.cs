// Numbers for raw IPv6 sockets that Tmds.LibC 0.5.0 does not name. Everything else we use
// (IPPROTO_MH 135, SOL_IPV6 41, IPV6_CHECKSUM 7, IPV6_RECVPKTINFO 49, IPV6_PKTINFO 50,
// SO_BINDTODEVICE 25, SO_RCVTIMEO 20, struct in6_pktinfo, struct msghdr/cmsghdr) comes from
// Tmds.LibC and is checked against the kernel headers by tests/Dataplane.Tests/Linux/InteropSpec.cs.
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static class RawSocketNumbers
{
    /// <summary>
    /// IPV6_CHECKSUM value meaning "the kernel neither computes nor verifies a checksum" (RFC 3542
    /// §3.1, raw(7)); the default for every raw IPv6 protocol except ICMPv6.
    /// </summary>
    public const int ChecksumDisabled = -1;

    /// <summary>IPV6_CHECKSUM value for the Mobility Header: the checksum is at octet 4 (RFC 6275 §6.1.1).</summary>
    public const int MobilityHeaderChecksumOffset = MobilityHeader.ChecksumOffset;

    /// <summary>sizeof(struct in6_pktinfo) in <linux/ipv6.h>: in6_addr (16) + int ifindex (4).</summary>
    public const int In6PktinfoSize = 20;

    /// <summary>sizeof(struct sockaddr_in6) in <linux/in6.h>.</summary>
    public const int SockaddrIn6Size = 28;

    /// <summary>
    /// Control buffer for one IPV6_PKTINFO message, in 8-octet words (so a stackalloc is aligned as
    /// cmsghdr needs): CMSG_SPACE(20) = 16 (cmsghdr) + 24 = 40 octets, rounded up with room to spare
    /// for one unexpected extra message, whose truncation is reported as MSG_CTRUNC.
    /// </summary>
    public const int PktinfoControlWords = 8;

    /// <summary>SO_MEMINFO fills this many u32 counters (SK_MEMINFO_VARS in <linux/sock_diag.h>).</summary>
    public const int MemInfoCounters = 9;

    /// <summary>SK_MEMINFO_DROPS in <linux/sock_diag.h>: datagrams the kernel discarded for the socket (sk_drops).</summary>
    public const int MemInfoDrops = 8;
}
