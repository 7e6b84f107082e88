// Interface names and indexes: if_nametoindex(3) from <net/if.h>, IFNAMSIZ from <linux/if.h>
// (IF_NAMESIZE in <net/if.h>). Tmds.LibC 0.5.0 has neither.
using System.Runtime.InteropServices;
using System.Text;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe partial class NetInterface
{
    /// <summary>IFNAMSIZ: an interface name is at most 15 bytes plus the terminating NUL.</summary>
    public const int NameSize = 16;

    [LibraryImport("libc.so.6", EntryPoint = "if_nametoindex", SetLastError = true)]
    private static partial uint if_nametoindex(byte* ifname);

    /// <summary>
    /// Writes <paramref name="name"/> NUL-terminated into <paramref name="destination"/> (at least
    /// <see cref="NameSize"/> bytes); returns the byte count including the NUL, or 0 when the name is
    /// empty, too long or not ASCII.
    /// </summary>
    public static int WriteName(string name, Span<byte> destination)
    {
        if (name.Length == 0 || name.Length >= NameSize || destination.Length < name.Length + 1 || !Ascii.IsValid(name))
            return 0;
        var written = Encoding.ASCII.GetBytes(name, destination);
        destination[written] = 0;
        return written + 1;
    }

    /// <summary>The index of interface <paramref name="name"/> in the calling thread's network namespace, or 0 (errno ENODEV/EINVAL).</summary>
    public static int IndexOf(string name, out int errno)
    {
        Span<byte> buffer = stackalloc byte[NameSize];
        if (WriteName(name, buffer) == 0)
        {
            errno = Tmds.Linux.LibC.EINVAL;
            return 0;
        }
        uint index;
        fixed (byte* p = buffer)
            index = if_nametoindex(p);
        errno = index == 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)index;
    }
}
