// The kernel's per-socket drop counter: getsockopt(SOL_SOCKET, SO_MEMINFO) fills SK_MEMINFO_VARS u32
// counters (<linux/sock_diag.h>); SK_MEMINFO_DROPS is sk_drops, datagrams discarded for the socket
// (full receive buffer, failed checksum).
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe class SocketCounters
{
    public static bool TryGetDrops(OwnedFileDescriptor owner, out uint drops, out int errno)
    {
        drops = 0;
        var fd = owner.FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        var counters = stackalloc uint[RawSocketNumbers.MemInfoCounters];
        Tmds.Linux.socklen_t length = RawSocketNumbers.MemInfoCounters * sizeof(uint);
        var result = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, counters, &length);
        errno = result < 0 ? Tmds.Linux.LibC.errno : 0;
        GC.KeepAlive(owner);
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
}
