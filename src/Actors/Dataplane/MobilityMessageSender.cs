// Sending a Mobility Header from the thread that decided it (the binding buckets' PBAs), without a message to
// the dataplane actor and the wake-up of its thread (docs/DESIGN-NOTES.md, "p99 at half the rate").
// The socket keeps one owner (ARCHITECTURE.md): the Linux dataplane actor opens it, receives on it and closes
// it, and hands out this sender. A sender only calls sendmsg(2), which the kernel serialises per socket, from
// whichever thread calls it (RawSend keeps its control buffer on the stack, nothing is shared). Before the
// owner closes the socket it closes the sender, which waits for the sends in progress and refuses every later
// one, so no send can reach a descriptor number the process has meanwhile reused.
// With authenticated signalling, messages must go through the node's SignallingGuard (it protects them, one at
// a time): the daemons then hand no sender out and everything goes through the actors as before.
using System.Collections.Concurrent;
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

/// <summary>Puts one Mobility Header on the wire now, on the calling thread; safe to call from any number of threads.</summary>
public interface IMobilityMessageSender
{
    /// <summary>Sends <paramref name="message"/>; a failure is counted and logged (rate-limited), never thrown.</summary>
    void Send(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination);
}

/// <summary>The Linux dataplane's sender over its raw Mobility Header socket (the dataplane actor sends through it too).</summary>
public sealed class MobilityHeaderSender : IMobilityMessageSender
{
    private readonly MobilityHeaderSocket _socket;
    private readonly Counters _counters;
    private readonly ILoggingAdapter _log;
    private readonly ConcurrentDictionary<(Ipv6Address, int), DateTime> _lastWarning = new();
    private int _sending;
    private int _closed;

    public MobilityHeaderSender(MobilityHeaderSocket socket, Counters counters, ILoggingAdapter log)
    {
        _socket = socket;
        _counters = counters;
        _log = log;
    }

    public void Send(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination)
    {
        // Interlocked on both sides (here and in Close) orders "I am sending" before "is it closed?".
        Interlocked.Increment(ref _sending);
        try
        {
            if (Volatile.Read(ref _closed) != 0)
            {
                _counters.Increment("mh_send_errors_total", "errno", "closed");
                return;
            }
            if (_socket.TrySend(message, destination, source, out var errno))
            {
                _counters.Increment("mh_sent_total");
                return;
            }
            Failed(destination, errno);
        }
        finally
        {
            Interlocked.Decrement(ref _sending);
        }
    }

    /// <summary>Refuses every later send and returns once the sends in progress are done: the owner may then close the socket.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref _sending) != 0)
            spin.SpinOnce();
    }

    private void Failed(Ipv6Address destination, int errno)
    {
        _counters.Increment("mh_send_errors_total", "errno", Errno.Name(errno));
        // One warning per destination and error per minute; the counter has every one.
        var now = DateTime.UtcNow;
        var key = (destination, errno);
        if (_lastWarning.TryGetValue(key, out var last) && now - last <= TimeSpan.FromMinutes(1))
            return;
        _lastWarning[key] = now;
        _log.Warning("sending to {0} failed: {1} (further failures like it counted, logged at most once a minute)", destination, Errno.Describe(errno));
    }
}
