using Akka.Cluster.Sharding;

namespace Pmip6Akka.Actors.Persistence;

/// <summary>
/// Routes binding messages to their bucket entity: entity id = the MN-ID's bucket (or the bucket a
/// StartBucket names), shard = hash(entity id). The shard count is fixed for the cluster's life.
/// </summary>
public sealed class MnIdMessageExtractor(int maxNumberOfShards = MnIdMessageExtractor.DefaultShards)
    : HashCodeMessageExtractor(maxNumberOfShards)
{
    /// <summary>Ten shards per expected node is the usual rule; we plan for a handful of LMAs.</summary>
    public const int DefaultShards = 50;

    public override string? EntityId(object message) => message switch
    {
        Lma.IWithMobileNodeId m => Lma.BindingBuckets.EntityId(m.MobileNodeId),
        Lma.StartBucket s => s.Bucket.ToString(),
        Lma.RelayedUplink u => u.Bucket.ToString(),
        _ => null,
    };

    public override object? EntityMessage(object message) => message;
}
