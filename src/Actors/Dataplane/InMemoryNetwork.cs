// An in-memory stand-in for the IPv6 network between LMA and MAG actor systems: endpoints register
// their addresses, messages are delivered to whoever registered the destination. A test can drop
// messages (to exercise retransmission) or count them. Used by the Akka.TestKit scenario specs.
using Akka.Actor;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

public sealed class InMemoryNetwork : ReceiveActor
{
    /// <summary>Drop every message for which the predicate is true (from now on), or none with null.</summary>
    public sealed record SetDropFilter(Func<SendMobilityMessage, bool>? Drop);

    public sealed record GetCounters;

    public sealed record Counters(long Delivered, long Dropped, long Unroutable, int Endpoints);

    private readonly Dictionary<Ipv6Address, IActorRef> _endpoints = new();
    private Func<SendMobilityMessage, bool>? _drop;
    private long _delivered, _dropped, _unroutable;

    public InMemoryNetwork()
    {
        Receive<RegisterEndpoint>(r =>
        {
            _endpoints[r.Address] = Sender;
            Sender.Tell(new EndpointRegistered(r.Address));
        });
        Receive<SendMobilityMessage>(m =>
        {
            if (_drop?.Invoke(m) == true)
            {
                _dropped++;
                return;
            }
            if (!_endpoints.TryGetValue(m.Destination, out var endpoint))
            {
                _unroutable++;
                return;
            }
            _delivered++;
            endpoint.Tell(new MobilityMessageReceived(m.Message, m.Source, m.Destination, DateTimeOffset.UtcNow));
        });
        Receive<SetDropFilter>(f => _drop = f.Drop);
        Receive<GetCounters>(_ => Sender.Tell(new Counters(_delivered, _dropped, _unroutable, _endpoints.Count)));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new InMemoryNetwork());
}
