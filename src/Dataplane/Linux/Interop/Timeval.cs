// struct timeval, as SO_RCVTIMEO / SO_SNDTIMEO take it (socket(7)). Mirrors
// <bits/types/struct_timeval.h> (glibc) / struct __kernel_old_timeval in <linux/time_types.h> on
// 64-bit Linux: two longs. Tmds.LibC 0.5.0 has timespec but no timeval.
using System.Runtime.InteropServices;

namespace Pmip6Akka.Dataplane.Linux.Interop;

[StructLayout(LayoutKind.Sequential)]
internal struct Timeval
{
    private const long MicrosecondsPerSecond = 1_000_000;

    public long tv_sec;
    public long tv_usec;

    /// <summary>Whole microseconds of <paramref name="value"/>; zero (or less) means "block forever" to the kernel.</summary>
    public static Timeval From(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
            return default;
        var micros = Math.Max(1, (long)(value.Ticks / TimeSpan.TicksPerMicrosecond));
        return new Timeval { tv_sec = micros / MicrosecondsPerSecond, tv_usec = micros % MicrosecondsPerSecond };
    }
}
