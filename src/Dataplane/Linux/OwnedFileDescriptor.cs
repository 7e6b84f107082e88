// One owner of one Linux file descriptor: read it with FileDescriptor (-1 once closed), close it
// exactly once, by Dispose or, as a last resort, the finalizer. Base of every kernel resource the
// dataplane holds (raw sockets, TUN devices).
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public abstract class OwnedFileDescriptor : IDisposable
{
    private int _fd;

    protected OwnedFileDescriptor(int fd) => _fd = fd;

    ~OwnedFileDescriptor() => Close();

    /// <summary>The file descriptor, or -1 once disposed.</summary>
    public int FileDescriptor => Volatile.Read(ref _fd);

    /// <summary>Closes the fd (idempotent). Stop any thread blocked on it first; it returns within its timeout.</summary>
    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    private void Close()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            close(fd);
    }
}
