// The node's dataplane actor on Linux: sole owner of the raw Mobility Header socket (and, with the
// dataplane issue, the TUN device, tunnels and NFQUEUE). A dedicated receive thread blocks in
// recvmsg and hands each message to the registered endpoint; sends happen on the actor. Until the
// userspace tunnel lands, binding installs are logged and counted, not yet programmed.
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

public sealed class LinuxDataplane : ReceiveActor
{
    private readonly MobilityHeaderSocket _socket;
    private readonly Counters _counters;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _endpoint = ActorRefs.Nobody;
    private readonly Dictionary<(Ipv6Address, int), DateTime> _lastWarning = new();
    private Thread? _receiver;
    private volatile bool _stopping;

    /// <summary>Takes ownership of an opened socket (open it before starting the actor system so a failure stops the daemon at once).</summary>
    public LinuxDataplane(MobilityHeaderSocket socket, Counters counters)
    {
        _socket = socket;
        _counters = counters;
        Receive<RegisterEndpoint>(r =>
        {
            _endpoint = Sender;
            Sender.Tell(new EndpointRegistered(r.Address));
        });
        Receive<SendMobilityMessage>(m =>
        {
            if (_socket.TrySend(m.Message, m.Destination, m.Source, out var errno))
            {
                _counters.Increment("mh_sent_total");
                return;
            }
            _counters.Increment("mh_send_errors_total", "errno", Errno.Name(errno));
            // One warning per destination and error per minute; the counter has every one.
            var key = (m.Destination, errno);
            var now = DateTime.UtcNow;
            if (!_lastWarning.TryGetValue(key, out var last) || now - last > TimeSpan.FromMinutes(1))
            {
                _lastWarning[key] = now;
                _log.Warning("sending to {0} failed: {1} (further failures like it counted, logged at most once a minute)", m.Destination, Errno.Describe(errno));
            }
        });
        Receive<InstallBinding>(i =>
        {
            _counters.Increment("dataplane_bindings_installed_total");
            if (_log.IsDebugEnabled)
                _log.Debug("binding {0}/{1}: {2} via {3}", i.MobileNodeId, i.SessionId, string.Join(",", i.Prefixes.Select(p => p.ToString())), i.ProxyCoa);
        });
        Receive<RemoveBinding>(r => _counters.Increment("dataplane_bindings_removed_total"));
    }

    public static Props Props(MobilityHeaderSocket socket, Counters counters) =>
        Akka.Actor.Props.Create(() => new LinuxDataplane(socket, counters));

    protected override void PreStart()
    {
        var self = Self;
        _receiver = new Thread(() => ReceiveLoop(self)) { IsBackground = true, Name = "mh-receive" };
        _receiver.Start();
    }

    protected override void PostStop()
    {
        _stopping = true;
        _receiver?.Join(TimeSpan.FromSeconds(2));
        _socket.Dispose();
    }

    private void ReceiveLoop(IActorRef self)
    {
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        while (!_stopping)
        {
            var n = _socket.Receive(buffer, out var source, out var destination, out _, out var errno);
            if (n < 0)
            {
                if (MobilityHeaderSocket.IsTransientReceiveError(errno))
                    continue;
                if (_stopping)
                    return;
                _counters.Increment("mh_receive_errors_total", "errno", Errno.Name(errno));
                Thread.Sleep(10);
                continue;
            }
            _counters.Increment("mh_received_total");
            _endpoint.Tell(new MobilityMessageReceived(buffer.AsSpan(0, n).ToArray(), source, destination, DateTimeOffset.UtcNow), self);
        }
    }
}
