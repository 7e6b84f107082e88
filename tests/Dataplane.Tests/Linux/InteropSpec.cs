// The socket numbers and struct sizes the raw socket relies on, against the values in the Linux
// UAPI / glibc headers (checked on Debian 12: linux-libc-dev, libc6-dev, x86_64).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public class InteropSpec
{
    [Fact]
    public void The_socket_numbers_taken_from_Tmds_LibC_match_the_kernel_headers()
    {
        Assert.Equal(135, IPPROTO_MH);        // <linux/in.h>      IPPROTO_MH
        Assert.Equal(41, SOL_IPV6);           // <bits/socket.h>   SOL_IPV6
        Assert.Equal(7, IPV6_CHECKSUM);       // <linux/in6.h>     IPV6_CHECKSUM
        Assert.Equal(49, IPV6_RECVPKTINFO);   // <linux/in6.h>     IPV6_RECVPKTINFO
        Assert.Equal(50, IPV6_PKTINFO);       // <linux/in6.h>     IPV6_PKTINFO
        Assert.Equal(1, SOL_SOCKET);          // <asm-generic/socket.h>
        Assert.Equal(25, SO_BINDTODEVICE);    // <asm-generic/socket.h>
        Assert.Equal(20, SO_RCVTIMEO);        // <asm-generic/socket.h> SO_RCVTIMEO_OLD (64-bit time_t)
        Assert.Equal(0x40000000, CLONE_NEWNET); // <linux/sched.h>
        Assert.Equal(0x20, MSG_TRUNC);        // <bits/socket.h>
        Assert.Equal(55, SO_MEMINFO);         // <asm-generic/socket.h>
    }

    [Fact]
    public unsafe void The_structs_have_the_kernels_sizes()
    {
        Assert.Equal(20, sizeof(in6_pktinfo));   // <linux/ipv6.h>
        Assert.Equal(RawSocketNumbers.In6PktinfoSize, sizeof(in6_pktinfo));
        Assert.Equal(28, sizeof(sockaddr_in6));  // <linux/in6.h>
        Assert.Equal(RawSocketNumbers.SockaddrIn6Size, sizeof(sockaddr_in6));
        Assert.Equal(16, Unsafe.SizeOf<Timeval>()); // <bits/types/struct_timeval.h>
        Assert.True(ControlMessage.Space(sizeof(in6_pktinfo)) <= RawSocketNumbers.PktinfoControlWords * sizeof(ulong));
        Assert.Equal(40, sizeof(Ifreq));         // <linux/if.h> struct ifreq
        Assert.Equal(16, (int)Marshal.OffsetOf<Ifreq>(nameof(Ifreq.ifr_flags))); // offsetof(struct ifreq, ifr_flags)
    }

    [Fact]
    public void The_tun_numbers_match_the_kernel_headers()
    {
        // <linux/if_tun.h>: TUNSETIFF _IOW('T', 202, int) = dir 1 << 30 | size 4 << 16 | 'T' << 8 | 202.
        Assert.Equal((1u << 30) | (4u << 16) | ('T' << 8) | 202u, TunNumbers.TUNSETIFF);
        Assert.Equal(0x400454cau, TunNumbers.TUNSETIFF);
        Assert.Equal(0x0001, TunNumbers.IFF_TUN);
        Assert.Equal(0x1000, TunNumbers.IFF_NO_PI);
    }

    [Fact]
    public unsafe void Control_message_lengths_follow_the_glibc_macros()
    {
        // <bits/socket.h> on x86_64: cmsghdr is 16 octets, alignment sizeof(size_t) = 8.
        Assert.Equal(16, ControlMessage.HeaderSize);
        Assert.Equal(36, ControlMessage.Len(sizeof(in6_pktinfo)));   // CMSG_LEN: what the kernel puts in cmsg_len
        Assert.Equal(40, ControlMessage.Space(sizeof(in6_pktinfo))); // CMSG_SPACE
        Assert.Equal(40, CMSG_SPACE(sizeof(in6_pktinfo)));
        // Tmds.LibC 0.5.0 pads CMSG_LEN as if it were CMSG_SPACE; the reason ControlMessage exists.
        Assert.Equal(40, CMSG_LEN(sizeof(in6_pktinfo)));
    }

    [Fact]
    public void A_timeout_becomes_whole_seconds_and_microseconds()
    {
        var t = Timeval.From(TimeSpan.FromMilliseconds(2500));
        Assert.Equal(2, t.tv_sec);
        Assert.Equal(500_000, t.tv_usec);
        Assert.Equal(default, Timeval.From(TimeSpan.Zero));
        Assert.Equal(1, Timeval.From(TimeSpan.FromTicks(1)).tv_usec);
    }

    [Fact]
    public void An_errno_is_described_by_name_number_and_meaning()
    {
        Assert.Equal("EPERM (1): Operation not permitted", Errno.Describe(EPERM));
        Assert.Equal("EHOSTUNREACH (113): No route to host", Errno.Describe(EHOSTUNREACH));
        Assert.Equal("E9999", Errno.Name(9999));
    }
}
