// The node's view of its bindings: answers /status, `pmip6 status`, the flow-loss monitor and a MAG's global revocation.
// It holds no binding. The buckets this node hosts enter it once recovered and leave it when they stop (a hand-off, a
// restart, the node stopping); a query asks each of them, on its own thread, and adds up the answers.
//
// Before, every bucket reported each change of an MN's state here, and the index kept its own dictionary of every
// binding: a message and a store into that dictionary per registration, ~30 bytes per binding held a second time, all
// promoted by the young collections that make the PBA's tail (issue 4). And since a refresh is written into the state
// in place and not reported, an index restarted for any reason would have missed the MNs that only refresh.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;

namespace Pmip6Akka.Actors.Lma;

public sealed class BindingIndex : ReceiveActor
{
    /// <summary>
    /// How long a query waits for each bucket (they answer between PBUs). Shorter than every caller's own wait (the flow-loss
    /// monitor's 5 s is the shortest), so a bucket that does not answer (stopping for a hand-off, recovering) leaves only its
    /// own MNs out of the answer, logged, instead of failing the whole query.
    /// </summary>
    public static readonly TimeSpan BucketTimeout = TimeSpan.FromSeconds(3);

    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly Dictionary<int, IActorRef> _buckets = [];

    public BindingIndex()
    {
        Receive<BucketHosted>(hosted =>
        {
            _buckets[hosted.Bucket] = hosted.Actor;
            Context.Watch(hosted.Actor);
        });
        Receive<BucketLeft>(left => Forget(left.Bucket, left.Actor));
        Receive<Terminated>(t =>
        {
            foreach (var (bucket, actor) in _buckets.Where(b => b.Value.Equals(t.ActorRef)).ToList())
                Forget(bucket, actor);
        });
        Receive<GetBindingIndex>(query => Gather([.. _buckets.Values], query, _log).PipeTo(Sender, failure: e => new Status.Failure(e)));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new BindingIndex());

    /// <summary>Forgets <paramref name="bucket"/> only if <paramref name="actor"/> is still the one that entered.</summary>
    private void Forget(int bucket, IActorRef actor)
    {
        if (_buckets.TryGetValue(bucket, out var entered) && entered.Equals(actor))
            _buckets.Remove(bucket);
    }

    private static async Task<BindingIndexView> Gather(IActorRef[] buckets, GetBindingIndex query, ILoggingAdapter log)
    {
        var ask = new ListBindings(query.Limit, query.AtMag);
        var answers = await Task.WhenAll(buckets.Select(b => AskOrNull(b, ask)));
        var unanswered = answers.Count(a => a is null);
        if (unanswered > 0)
            log.Warning("binding index: {0} of {1} buckets did not answer within {2} s (stopping or recovering); their MNs are left out of this answer",
                unanswered, buckets.Length, BucketTimeout.TotalSeconds);
        var (mobileNodes, sessions) = (0, 0);
        var selected = ImmutableArray.CreateBuilder<BindingSnapshot>();
        foreach (var answer in answers.OfType<BucketBindings>())
        {
            mobileNodes += answer.MobileNodes;
            sessions += answer.Sessions;
            foreach (var binding in answer.Bindings)
                if (selected.Count < query.Limit)
                    selected.Add(binding);
        }
        return new BindingIndexView(mobileNodes, sessions, selected.ToImmutable());
    }

    private static async Task<BucketBindings?> AskOrNull(IActorRef bucket, ListBindings ask)
    {
        try
        {
            return await bucket.Ask<BucketBindings>(ask, BucketTimeout);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or OperationCanceledException)
        {
            return null;
        }
    }
}
