// Why setting up a kernel resource (socket, TUN device, ...) failed: the call, its errno, and what
// privilege an EPERM/EACCES points at — one type for every Linux resource the dataplane owns.
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public readonly record struct LinuxSetupError(string Call, int Errno, string PrivilegeHint)
{
    public string Message => Errno == EPERM || Errno == EACCES
        ? $"{Call} failed: {Interop.Errno.Describe(Errno)} ({PrivilegeHint})"
        : $"{Call} failed: {Interop.Errno.Describe(Errno)}";

    public override string ToString() => Message;
}

/// <summary>Thrown by the Open convenience methods; the Try forms return the <see cref="LinuxSetupError"/>.</summary>
public sealed class LinuxSetupException(LinuxSetupError error) : IOException(error.Message)
{
    public LinuxSetupError Error { get; } = error;
    public int Errno => Error.Errno;
}
