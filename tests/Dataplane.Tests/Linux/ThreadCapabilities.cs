// Per-thread capabilities (capget(2)/capset(2), <linux/capability.h>), so a test running as root can
// see what an unprivileged daemon would: capset with pid 0 changes only the calling thread, and the
// tests call it on a dedicated thread that then ends.
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;

namespace Pmip6Akka.Dataplane.Tests.Linux;

internal static partial class ThreadCapabilities
{
    /// <summary>_LINUX_CAPABILITY_VERSION_3: two 32-bit data words.</summary>
    private const uint Version3 = 0x20080522;
    /// <summary>CAP_NET_RAW: raw and packet sockets.</summary>
    public const int NetRaw = 13;

    [StructLayout(LayoutKind.Sequential)]
    private struct Header
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct DataV3
    {
        public Data Low;
        public Data High;
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int capget(ref Header header, ref DataV3 data);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int capset(ref Header header, ref DataV3 data);

    /// <summary>Removes <paramref name="capability"/> (0..31) from the calling thread's effective set.</summary>
    public static void DropEffective(int capability)
    {
        var header = new Header { Version = Version3, Pid = 0 };
        var data = default(DataV3);
        if (capget(ref header, ref data) < 0)
            throw new InvalidOperationException($"capget failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
        data.Low.Effective &= ~(1u << capability);
        header = new Header { Version = Version3, Pid = 0 };
        if (capset(ref header, ref data) < 0)
            throw new InvalidOperationException($"capset failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
    }
}
