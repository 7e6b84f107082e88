// The LMA's RFC 5847 Restart Counter, one for the whole cluster and kept in its journal. RFC 5847 §3.1:
// a MAG that sees the LMA's counter change concludes that the LMA lost its bindings and re-registers
// every mobile node. The bindings live in the journal, so the counter must change exactly when the
// journal does: it is chosen once, when this entity finds no record of it (a new or lost journal), and
// read back on every later start of any node. A counter per process (the file beside the store it
// replaces) changed at every restart although nothing was lost, and in a cluster each node would
// answer the shared LMA address's heartbeats with its own.
//
// One entity (its own small shard region) so that exactly one writer chooses it, whichever node asks first.
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;

namespace Pmip6Akka.Actors.Lma;

/// <summary>Asks for the cluster's restart counter; answered with <see cref="RestartCounterIs"/> once it is in the journal.</summary>
public sealed record GetRestartCounter : Persistence.IPmip6Serializable
{
    public static readonly GetRestartCounter Instance = new();
}

public sealed record RestartCounterIs(uint Value) : Persistence.IPmip6Serializable;

/// <summary>Event: the journal had no counter, so this one was chosen (at <see cref="At"/>).</summary>
public sealed record RestartCounterChosen(uint Value, DateTimeOffset At) : Persistence.IPmip6Serializable;

/// <summary>The pure part: a new journal's counter differs from every counter an earlier, lost journal handed out.</summary>
public static class RestartCounters
{
    /// <summary>
    /// Seconds since the Unix epoch (wrapping at 2^32, never 0): strictly larger than the counter of any journal
    /// created earlier on a sane clock, unlike "1", which every new journal would choose again.
    /// </summary>
    public static uint Choose(DateTimeOffset now)
    {
        var seconds = unchecked((uint)now.ToUnixTimeSeconds());
        return seconds == 0 ? 1 : seconds;
    }
}

public sealed class RestartCounterEntity : ReceivePersistentActor
{
    public const string TypeName = "lma-restart-counter";
    public const string EntityId = "lma";

    private sealed record Choose
    {
        public static readonly Choose Instance = new();
    }

    private uint _value;
    private readonly List<IActorRef> _waiting = [];

    /// <summary>The counter's persistence id (the cluster has one).</summary>
    public const string JournalId = "lma-restart-counter";

    public override string PersistenceId => JournalId;

    public RestartCounterEntity()
    {
        Recover<RestartCounterChosen>(e => _value = e.Value);
        Recover<RecoveryCompleted>(_ =>
        {
            if (_value == 0)
                Self.Tell(Choose.Instance);
        });
        Command<Choose>(_ =>
        {
            if (_value != 0)
                return;
            var now = DateTimeOffset.UtcNow;
            Persist(new RestartCounterChosen(RestartCounters.Choose(now), now), e =>
            {
                _value = e.Value;
                foreach (var asker in _waiting)
                    asker.Tell(new RestartCounterIs(_value));
                _waiting.Clear();
            });
        });
        Command<GetRestartCounter>(_ =>
        {
            if (_value == 0)
                _waiting.Add(Sender);
            else
                Sender.Tell(new RestartCounterIs(_value));
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new RestartCounterEntity());

    /// <summary>Routes <see cref="GetRestartCounter"/> to the one entity.</summary>
    public sealed class Extractor : HashCodeMessageExtractor
    {
        public Extractor() : base(1) { }

        public override string? EntityId(object message) => message is GetRestartCounter ? RestartCounterEntity.EntityId : null;
    }
}
