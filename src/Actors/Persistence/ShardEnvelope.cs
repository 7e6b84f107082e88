using Akka.Cluster.Sharding;

namespace Pmip6Akka.Actors.Persistence;

/// <summary>
/// What we send to a shard region: the mobile node identifier (the entity id) and the
/// message for that MN's entity. Serialized by <see cref="Pmip6Serializer"/> (the inner
/// message must itself be <see cref="IPmip6Serializable"/>).
/// </summary>
public sealed record ShardEnvelope(string MnId, IPmip6Serializable Message) : IPmip6Serializable;

/// <summary>Maps <see cref="ShardEnvelope"/> to entity id = MN-ID and shard = hash(MN-ID).</summary>
public sealed class MnIdMessageExtractor(int maxNumberOfShards = MnIdMessageExtractor.DefaultShards)
    : HashCodeMessageExtractor(maxNumberOfShards)
{
    /// <summary>Ten shards per expected node is the usual rule; we plan for a handful of LMAs.</summary>
    public const int DefaultShards = 50;

    public override string? EntityId(object message) => message switch
    {
        ShardEnvelope e => e.MnId,
        Lma.IWithMobileNodeId m => Lma.BindingBuckets.EntityId(m.MobileNodeId),
        Lma.StartBucket s => s.Bucket.ToString(),
        _ => null,
    };

    public override object? EntityMessage(object message) => message switch
    {
        ShardEnvelope e => e.Message,
        _ => message,
    };
}
