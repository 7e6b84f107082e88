// The setsockopt(2) steps every raw socket of the dataplane shares (socket(7), ipv6(7)): an int
// option, buffer sizes with the *FORCE variants (which ignore net.core.rmem_max / wmem_max but need
// CAP_NET_ADMIN) falling back to the capped ones, SO_RCVTIMEO, SO_BINDTODEVICE and bind(2) to an
// IPv6 address. Each step reports failure as a LinuxSetupError naming the call, so the Try/Open pairs
// of the sockets stay a list of steps.
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static unsafe class SocketSetup
{
    public static bool TrySetInt(int fd, int level, int option, int value, string call, string privilegeHint, out LinuxSetupError error)
    {
        if (setsockopt(fd, level, option, &value, sizeof(int)) < 0)
            return Fail(out error, call, privilegeHint);
        error = default;
        return true;
    }

    /// <summary>SO_RCVBUFFORCE (else SO_RCVBUF) or SO_SNDBUFFORCE (else SO_SNDBUF); 0 or less keeps the kernel default.</summary>
    public static bool TrySetBuffer(int fd, bool receive, int bytes, string privilegeHint, out LinuxSetupError error)
    {
        error = default;
        if (bytes <= 0)
            return true;
        var (force, capped, name) = receive ? (SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF") : (SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF");
        if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(int)) < 0 && setsockopt(fd, SOL_SOCKET, capped, &bytes, sizeof(int)) < 0)
            return Fail(out error, $"setsockopt({name}, {bytes})", privilegeHint);
        return true;
    }

    public static bool TrySetReceiveTimeout(int fd, TimeSpan timeout, string privilegeHint, out LinuxSetupError error)
    {
        var value = Timeval.From(timeout);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof(Timeval)) < 0)
            return Fail(out error, "setsockopt(SO_RCVTIMEO)", privilegeHint);
        error = default;
        return true;
    }

    /// <summary>SO_BINDTODEVICE to <paramref name="device"/>; returns its index in <paramref name="deviceIndex"/>.</summary>
    public static bool TryBindToDevice(int fd, string device, string privilegeHint, out int deviceIndex, out LinuxSetupError error)
    {
        deviceIndex = 0;
        var call = $"setsockopt(SO_BINDTODEVICE, \"{device}\")";
        var name = stackalloc byte[NetInterface.NameSize];
        var length = NetInterface.WriteName(device, new Span<byte>(name, NetInterface.NameSize));
        if (length == 0)
        {
            error = new LinuxSetupError(call, EINVAL, privilegeHint);
            return false;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, length) < 0)
            return Fail(out error, call, privilegeHint);
        deviceIndex = NetInterface.IndexOf(device, out var indexErrno);
        if (deviceIndex == 0)
        {
            error = new LinuxSetupError($"if_nametoindex(\"{device}\")", indexErrno, privilegeHint);
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>bind(2) to <paramref name="local"/> (port 0: raw sockets have none); a link-local address needs the device index.</summary>
    public static bool TryBind(int fd, Ipv6Address local, int deviceIndex, string privilegeHint, out LinuxSetupError error)
    {
        sockaddr_in6 address = default;
        address.sin6_family = AF_INET6;
        local.Write(new Span<byte>(&address.sin6_addr, Ipv6Address.Length));
        if (local.IsLinkLocal)
            address.sin6_scope_id = (uint)deviceIndex;
        if (bind(fd, (sockaddr*)&address, RawSocketNumbers.SockaddrIn6Size) < 0)
            return Fail(out error, $"bind({local})", privilegeHint);
        error = default;
        return true;
    }

    public static bool Fail(out LinuxSetupError error, string call, string privilegeHint)
    {
        error = new LinuxSetupError(call, errno, privilegeHint);
        return false;
    }
}
