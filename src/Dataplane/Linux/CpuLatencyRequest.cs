// A PM QoS request for CPU wake-up latency (Documentation/power/pm_qos_interface.rst): while the file
// /dev/cpu_dma_latency is held open with a value written to it, the kernel keeps CPUs out of idle states
// whose exit latency exceeds that many microseconds; closing it withdraws the request. The userspace
// tunnel wakes a thread per hop and packet; on an idle machine most of its added latency is that
// wake-up (measured: 50 µs per packet and direction without, 21 µs with a 0 µs limit). What tuned's
// network-latency profile does, for the daemon's lifetime only. Costs power on an idle node.
using System.Diagnostics.CodeAnalysis;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed unsafe class CpuLatencyRequest : OwnedFileDescriptor
{
    public const string DevicePath = "/dev/cpu_dma_latency";
    internal const string PrivilegeHint = "a PM QoS request needs root";

    public TimeSpan Limit { get; }

    private CpuLatencyRequest(int fd, TimeSpan limit) : base(fd) => Limit = limit;

    public static bool TryOpen(TimeSpan limit, [NotNullWhen(true)] out CpuLatencyRequest? request, out LinuxSetupError error)
    {
        request = null;
        var path = System.Text.Encoding.ASCII.GetBytes(DevicePath + "\0");
        int fd;
        fixed (byte* p = path)
            fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
        {
            error = new LinuxSetupError($"open({DevicePath})", errno, PrivilegeHint);
            return false;
        }
        var microseconds = (int)Math.Clamp(limit.TotalMicroseconds, 0, int.MaxValue);
        if (write(fd, &microseconds, sizeof(int)) != sizeof(int))
        {
            error = new LinuxSetupError($"write({DevicePath})", errno, PrivilegeHint);
            close(fd);
            return false;
        }
        error = default;
        request = new CpuLatencyRequest(fd, limit);
        return true;
    }
}
