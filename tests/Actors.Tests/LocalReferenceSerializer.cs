using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Serialization;

namespace Pmip6Akka.Actors.Tests;

/// <summary>
/// SPEC-ONLY. <c>akka.actor.serialize-messages = on</c> also verifies third-party internal
/// messages, and Akka.Persistence.Sql's journal tells itself a <c>WriteFinished</c> (it holds
/// a Task) that no serializer can round-trip: the verification throws inside the plugin's
/// continuation, the message is lost and an error is logged for every write. Akka.NET has no
/// prefix exemption (only INoSerializationVerificationNeeded), so the specs bind that one type
/// to this serializer, which round-trips by in-process reference. Never use it in production.
/// </summary>
public sealed class LocalReferenceSerializer(ExtendedActorSystem system) : Serializer(system)
{
    private static readonly ConcurrentDictionary<long, object> Parked = new();
    private static long _next;

    public override int Identifier => 5299;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var key = Interlocked.Increment(ref _next);
        Parked[key] = obj;
        return BitConverter.GetBytes(key);
    }

    public override object FromBinary(byte[] bytes, Type type) =>
        Parked.TryRemove(BitConverter.ToInt64(bytes), out var obj)
            ? obj
            : throw new System.Runtime.Serialization.SerializationException("not parked here");
}
