// Routes messages for binding entities by MN-ID to the child of the MN's bucket, for a node that runs without
// Akka.Cluster.Sharding (unit scenarios). Handles Passivate like a shard region does. The daemon
// uses the sharded region, which accepts the same messages.
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Pmip6Akka.Actors.Lma;

public sealed class LocalBindingRegion : ReceiveActor
{
    public LocalBindingRegion(Func<string, Props> entityProps)
    {
        Receive<Passivate>(p => Sender.Tell(p.StopMessage));
        Receive<IWithMobileNodeId>(message =>
        {
            var name = BindingBuckets.EntityId(message.MobileNodeId);
            var child = Context.Child(name);
            if (child.IsNobody())
                child = Context.ActorOf(entityProps(name), name);
            child.Forward(message);
        });
    }

    public static Props Props(Func<string, Props> entityProps) => Akka.Actor.Props.Create(() => new LocalBindingRegion(entityProps));
}
