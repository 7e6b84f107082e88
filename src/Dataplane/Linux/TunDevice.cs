// A Linux TUN device (Documentation/networking/tuntap.rst) in IFF_TUN | IFF_NO_PI mode: every read()
// returns one whole IPv6 (or IPv4) packet the kernel routed into the device, every write() injects
// one packet as if it had arrived on it. The device is created in the calling thread's network
// namespace and, not being persistent (no TUNSETPERSIST), disappears when its fd closes. Bringing the
// link up, addresses and routes are the caller's job (ip link / ip route).
// One instance owns one fd; one thread reads. Read and write never allocate and never throw; they
// return the errno. Read blocks in poll() (only when the device is empty) for at most the read timeout
// so a reader thread can stop.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed unsafe class TunDevice : OwnedFileDescriptor
{
    internal const string PrivilegeHint = "creating a TUN device needs CAP_NET_ADMIN";

    /// <summary>A buffer this large holds any packet a TUN device can hand over (IPv6 payload length is 16 bits).</summary>
    public const int MaxPacketLength = ushort.MaxValue + 40;

    /// <summary>How long <see cref="Read"/> waits when no timeout is given to <see cref="TryOpen(string, TimeSpan, out TunDevice?, out LinuxSetupError)"/>.</summary>
    public static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromMilliseconds(500);

    private readonly int _timeoutMilliseconds;

    private TunDevice(int fd, string name, int timeoutMilliseconds) : base(fd)
    {
        Name = name;
        _timeoutMilliseconds = timeoutMilliseconds;
    }

    /// <summary>The interface name the kernel gave the device (the requested one, or a "%d" pattern filled in).</summary>
    public string Name { get; }

    /// <summary>Opens (creates) TUN device <paramref name="name"/> in the calling thread's network namespace; throws <see cref="LinuxSetupException"/>.</summary>
    public static TunDevice Open(string name, TimeSpan? readTimeout = null) =>
        TryOpen(name, readTimeout ?? DefaultReadTimeout, out var device, out var error) ? device : throw new LinuxSetupException(error);

    /// <summary>As <see cref="TryOpen(string, TimeSpan, out TunDevice?, out LinuxSetupError)"/> with <see cref="DefaultReadTimeout"/>.</summary>
    public static bool TryOpen(string name, [NotNullWhen(true)] out TunDevice? device, out LinuxSetupError error) =>
        TryOpen(name, DefaultReadTimeout, out device, out error);

    /// <summary>
    /// Opens /dev/net/tun and creates device <paramref name="name"/> (1–15 ASCII characters; may hold
    /// one "%d" for the kernel to number) with IFF_TUN | IFF_NO_PI. Fails with EINVAL for a bad name,
    /// EPERM without CAP_NET_ADMIN, EBUSY when a device of that name is already attached to an fd.
    /// <paramref name="readTimeout"/> bounds each <see cref="Read"/> (zero or less: wait forever).
    /// </summary>
    public static bool TryOpen(string name, TimeSpan readTimeout, [NotNullWhen(true)] out TunDevice? device, out LinuxSetupError error)
    {
        device = null;
        Ifreq request = default;
        if (NetInterface.WriteName(name, new Span<byte>(request.ifr_name, NetInterface.NameSize)) == 0)
        {
            error = new LinuxSetupError($"TUNSETIFF(\"{name}\")", EINVAL, TunDevice.PrivilegeHint);
            return false;
        }
        request.ifr_flags = TunNumbers.IFF_TUN | TunNumbers.IFF_NO_PI;

        int fd;
        var path = stackalloc byte[TunNumbers.ClonePath.Length + 1];
        System.Text.Encoding.ASCII.GetBytes(TunNumbers.ClonePath, new Span<byte>(path, TunNumbers.ClonePath.Length));
        path[TunNumbers.ClonePath.Length] = 0;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
        {
            error = new LinuxSetupError($"open({TunNumbers.ClonePath})", errno, TunDevice.PrivilegeHint);
            return false;
        }
        if (TunNumbers.ioctl(fd, TunNumbers.TUNSETIFF, &request) < 0)
        {
            error = new LinuxSetupError($"ioctl(TUNSETIFF, \"{name}\", IFF_TUN | IFF_NO_PI)", Marshal.GetLastPInvokeError(), TunDevice.PrivilegeHint);
            close(fd);
            return false;
        }
        var given = new ReadOnlySpan<byte>(request.ifr_name, NetInterface.NameSize);
        var end = given.IndexOf((byte)0);
        var actual = System.Text.Encoding.ASCII.GetString(end < 0 ? given : given[..end]);
        var milliseconds = readTimeout <= TimeSpan.Zero ? -1 : (int)Math.Clamp(Math.Ceiling(readTimeout.TotalMilliseconds), 1, int.MaxValue);
        device = new TunDevice(fd, actual, milliseconds);
        error = default;
        return true;
    }

    /// <summary>
    /// Waits (at most the read timeout) for one packet and copies it into <paramref name="buffer"/>
    /// (use <see cref="MaxPacketLength"/>, or at least the device MTU: a larger packet is truncated by
    /// the kernel). Returns its length, or -1 with <paramref name="errno"/>: EAGAIN on timeout; EINTR
    /// when interrupted; EBADF once disposed. EAGAIN and EINTR leave the device usable.
    /// The fd is non-blocking: a queued packet costs one read(); poll() only runs when the device is
    /// empty (then a second read() takes what woke it), so a busy reader makes one syscall per packet.
    /// </summary>
    public int Read(Span<byte> buffer, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return -1;
        }
        fixed (byte* data = buffer)
        {
            var received = read(fd, data, (size_t)buffer.Length);
            errno = received < 0 ? LibC.errno : 0;
            if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            {
                pollfd poller = default;
                poller.fd = fd;
                poller.events = POLLIN;
                var ready = poll(&poller, 1, _timeoutMilliseconds);
                if (ready <= 0)
                {
                    errno = ready < 0 ? LibC.errno : EAGAIN;
                    GC.KeepAlive(this);
                    return -1;
                }
                received = read(fd, data, (size_t)buffer.Length);
                errno = received < 0 ? LibC.errno : 0;
            }
            GC.KeepAlive(this);
            return received < 0 ? -1 : (int)received;
        }
    }

    /// <summary>
    /// Injects one packet, as if it had arrived on the device (the kernel then routes or delivers it).
    /// False with <paramref name="errno"/> on failure: EINVAL for a malformed packet, EIO while the link
    /// is down, EBADF once disposed.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> packet, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        long sent;
        fixed (byte* data = packet)
        {
            do
            {
                sent = write(fd, data, (size_t)packet.Length);
                errno = sent < 0 ? LibC.errno : 0;
            }
            while (sent < 0 && errno == EINTR);
        }
        GC.KeepAlive(this);
        if (sent < 0)
            return false;
        if (sent != packet.Length)
        {
            errno = EMSGSIZE;
            return false;
        }
        return true;
    }

    /// <summary>True for the errnos after which a read loop just calls <see cref="Read"/> again.</summary>
    public static bool IsTransientReadError(int errno) => errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}
