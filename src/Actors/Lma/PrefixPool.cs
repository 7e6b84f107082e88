// The persistent home network prefix pool of an LMA (see PrefixPoolState). Allocations are
// persisted before they are answered, so a prefix once handed out survives any crash as allocated.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed class PrefixPool : ReceivePersistentActor
{
    private readonly PrefixPoolState _state;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public override string PersistenceId { get; }

    public PrefixPool(string poolId, Ipv6Prefix pool, byte prefixLength)
    {
        PersistenceId = "hnp-pool-" + poolId;
        _state = new PrefixPoolState(pool, prefixLength);
        Recover<IPrefixPoolEvent>(e => _state.Apply(e));
        Command<AllocatePrefixes>(request =>
        {
            var allocated = _state.Decide(request.MobileNodeId, request.SessionId, request.Count, out var existing);
            if (allocated is null)
            {
                if (existing.IsDefault)
                    _log.Warning("prefix pool {0} exhausted: {1} prefixes allocated, {2} asked for by {3}", pool, _state.Allocated, request.Count, request.MobileNodeId);
                Sender.Tell(new PrefixesAssigned(request.MobileNodeId, request.SessionId, existing.IsDefault ? [] : existing));
                return;
            }
            var replyTo = Sender;
            _state.Apply(allocated); // reserve now so later requests in flight never get the same prefix
            PersistAsync(allocated, e => replyTo.Tell(new PrefixesAssigned(e.MobileNodeId, e.SessionId, e.Prefixes)));
        });
        Command<ReleasePrefixes>(release =>
        {
            var e = new PrefixesReleased(release.MobileNodeId, release.SessionId, release.Prefixes);
            _state.Apply(e);
            PersistAsync(e, _ => { });
        });
    }

    public static Props Props(string poolId, Ipv6Prefix pool, byte prefixLength) =>
        Akka.Actor.Props.Create(() => new PrefixPool(poolId, pool, prefixLength));
}
