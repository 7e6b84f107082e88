// Where the binding buckets of a lone LMA node are, so that its protocol handler hands each admitted PBU to its
// bucket directly instead of through the sharding region and the shard actor (two thread hand-offs fewer per PBU;
// docs/DESIGN-NOTES.md, "p99 at half the rate"). Each bucket enters itself once it has recovered and leaves in
// PostStop (also before a restart; a later incarnation enters again), so a bucket that is not running is reached
// through the region, which starts it and buffers for it, as before.
// Only for a node that is not part of a cluster: there a rebalance hands buckets off, and a PBU sent straight to
// a bucket that is stopping for a hand-off would be lost where the region buffers it for the next owner.
using Akka.Actor;

namespace Pmip6Akka.Actors.Lma;

public sealed class LocalBucketDirectory
{
    private readonly IActorRef?[] _buckets = new IActorRef?[BindingBuckets.Count];

    /// <summary>The running bucket, or null (not started, recovering, stopped: use the region).</summary>
    public IActorRef? Find(int bucket) => Volatile.Read(ref _buckets[bucket]);

    public void Enter(int bucket, IActorRef actor) => Volatile.Write(ref _buckets[bucket], actor);

    /// <summary>Leaves only if <paramref name="actor"/> is still the one entered (not a later incarnation).</summary>
    public void Leave(int bucket, IActorRef actor) => Interlocked.CompareExchange(ref _buckets[bucket], null, actor);
}
