// errno values as people read them: symbolic name (from <asm-generic/errno-base.h> /
// <asm-generic/errno.h>, via Tmds.LibC) and the C library's strerror(3) text.
using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux.Interop;

public static class Errno
{
    /// <summary>The symbolic name of the errno values a raw socket or namespace setup reports ("E42" otherwise).</summary>
    public static string Name(int errno)
    {
        if (errno == EPERM) return "EPERM";
        if (errno == ENOENT) return "ENOENT";
        if (errno == EINTR) return "EINTR";
        if (errno == EBADF) return "EBADF";
        if (errno == EAGAIN) return "EAGAIN";
        if (errno == ENOMEM) return "ENOMEM";
        if (errno == EACCES) return "EACCES";
        if (errno == EFAULT) return "EFAULT";
        if (errno == ENODEV) return "ENODEV";
        if (errno == EINVAL) return "EINVAL";
        if (errno == EMFILE) return "EMFILE";
        if (errno == ENFILE) return "ENFILE";
        if (errno == ENOBUFS) return "ENOBUFS";
        if (errno == EMSGSIZE) return "EMSGSIZE";
        if (errno == ENOPROTOOPT) return "ENOPROTOOPT";
        if (errno == EPROTONOSUPPORT) return "EPROTONOSUPPORT";
        if (errno == EAFNOSUPPORT) return "EAFNOSUPPORT";
        if (errno == EADDRINUSE) return "EADDRINUSE";
        if (errno == EADDRNOTAVAIL) return "EADDRNOTAVAIL";
        if (errno == ENETDOWN) return "ENETDOWN";
        if (errno == ENETUNREACH) return "ENETUNREACH";
        if (errno == EHOSTUNREACH) return "EHOSTUNREACH";
        if (errno == ECONNREFUSED) return "ECONNREFUSED";
        if (errno == ENOTSOCK) return "ENOTSOCK";
        if (errno == EOPNOTSUPP) return "EOPNOTSUPP";
        return $"E{errno}";
    }

    /// <summary>"EPERM (1): Operation not permitted".</summary>
    public static string Describe(int errno) => $"{Name(errno)} ({errno}): {Marshal.GetPInvokeErrorMessage(errno)}";
}
