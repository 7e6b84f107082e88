// The TUN driver's interface (Documentation/networking/tuntap.rst): open /dev/net/tun, then
// ioctl(fd, TUNSETIFF, struct ifreq*) names the device and picks its mode. Numbers from
// <linux/if_tun.h>, struct ifreq from <linux/if.h>; checked on Debian 12 (x86_64) with a C program
// printing TUNSETIFF = 0x400454ca, IFF_TUN = 0x1, IFF_NO_PI = 0x1000, sizeof(struct ifreq) = 40,
// offsetof(ifr_flags) = 16, and by tests/Dataplane.Tests/Linux/InteropSpec.cs. Tmds.LibC 0.5.0 has none of them.
using System.Runtime.InteropServices;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe partial class TunNumbers
{
    /// <summary>
    /// ioctl(2) as glibc declares it, int ioctl(int fd, unsigned long request, ...), with a pointer
    /// argument: Tmds.LibC 0.5.0 only has int-request, int-argument overloads.
    /// </summary>
    [LibraryImport("libc.so.6", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    /// <summary>The clone device every TUN/TAP device is created through.</summary>
    public const string ClonePath = "/dev/net/tun";

    /// <summary>TUNSETIFF = _IOW('T', 202, int) in <linux/if_tun.h>.</summary>
    public const uint TUNSETIFF = 0x400454ca;

    /// <summary>IFF_TUN in <linux/if_tun.h>: a layer-3 device (IP packets, no Ethernet header).</summary>
    public const short IFF_TUN = 0x0001;

    /// <summary>IFF_NO_PI in <linux/if_tun.h>: no 4-octet struct tun_pi (flags, protocol) before each packet.</summary>
    public const short IFF_NO_PI = 0x1000;

    /// <summary>sizeof(struct ifreq) in <linux/if.h> on 64-bit Linux (16-octet name + 24-octet union).</summary>
    public const int IfreqSize = 40;
}

/// <summary>
/// The subset of struct ifreq (<linux/if.h>) TUNSETIFF reads and writes: ifr_name (IFNAMSIZ octets,
/// NUL-terminated) and ifr_flags (the short at the start of the ifr_ifru union). Sized as the whole
/// struct, because the kernel copies sizeof(struct ifreq) in both directions.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = TunNumbers.IfreqSize)]
internal unsafe struct Ifreq
{
    [FieldOffset(0)]
    public fixed byte ifr_name[NetInterface.NameSize];

    [FieldOffset(NetInterface.NameSize)]
    public short ifr_flags;
}
