// Ancillary data arithmetic, as the CMSG_* macros of <bits/socket.h> (glibc) define it on Linux:
//   CMSG_ALIGN(len)  = (len + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1)
//   CMSG_SPACE(len)  = CMSG_ALIGN(len) + CMSG_ALIGN(sizeof(struct cmsghdr))
//   CMSG_LEN(len)    = CMSG_ALIGN(sizeof(struct cmsghdr)) + len
// Ours because Tmds.LibC 0.5.0's CMSG_LEN pads the data length (CMSG_LEN(20) gives 40, not 36), so a
// received IPV6_PKTINFO message (cmsg_len 36) looked too short to it; and its CMSG_NXTHDR is replaced
// by the glibc walk (__cmsg_nxthdr in sysdeps/unix/sysv/linux/cmsg_nxthdr.c) to keep the bounds checks
// in one place.
using Tmds.Linux;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe class ControlMessage
{
    public static int Align(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);

    public static int HeaderSize => Align(sizeof(cmsghdr));

    public static int Space(int dataLength) => HeaderSize + Align(dataLength);

    public static int Len(int dataLength) => HeaderSize + dataLength;

    public static byte* Data(cmsghdr* cmsg) => (byte*)cmsg + HeaderSize;

    public static cmsghdr* First(msghdr* msg) =>
        (ulong)msg->msg_controllen >= (ulong)sizeof(cmsghdr) ? (cmsghdr*)msg->msg_control : null;

    /// <summary>The message after <paramref name="cmsg"/>, or null when it would not fit in msg_controllen.</summary>
    public static cmsghdr* Next(msghdr* msg, cmsghdr* cmsg)
    {
        var length = (ulong)cmsg->cmsg_len;
        if (length < (ulong)sizeof(cmsghdr))
            return null;
        var end = (byte*)msg->msg_control + (ulong)msg->msg_controllen;
        var next = (cmsghdr*)((byte*)cmsg + Align((int)length));
        if ((byte*)(next + 1) > end || (byte*)next + Align((int)(ulong)next->cmsg_len) > end)
            return null;
        return next;
    }
}
