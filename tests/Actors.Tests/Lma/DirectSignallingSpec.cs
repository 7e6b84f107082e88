// A bucket that was handed a sender (DirectSignalling) answers from its own thread instead of through the
// dataplane actor — except, on a node whose dataplane forwards, a message that must follow a forwarding
// change it has just told the dataplane about (a PBA never overtakes the route it announces).
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class DirectSignallingSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private static readonly Ipv6Address Mag = BindingBucketSpec.Mag;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>What the bucket put "on the wire", as the message the dataplane actor would have been told.</summary>
    private sealed class RecordingSender(IActorRef wire) : IMobilityMessageSender
    {
        public void Send(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination) =>
            wire.Tell(new SendMobilityMessage(message.ToArray(), source, destination));
    }

    private static BindingAcknowledgement Pba(SendMobilityMessage send)
    {
        Assert.Equal((Domain.LmaAddress, Mag), (send.Source, send.Destination));
        Assert.True(BindingAcknowledgement.TryDecode(send.Message, out var pba, out _));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, pba.Status);
        return pba;
    }

    private static Ipv6Prefix Prefix(BindingAcknowledgement pba)
    {
        foreach (var hnp in pba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            return HomeNetworkPrefixOption.Read(hnp.Data);
        throw new Xunit.Sdk.XunitException("PBA without a prefix");
    }

    private (IActorRef Region, TestProbe Dataplane, TestProbe Wire) Node(bool dataplaneForwards)
    {
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, BindingBucketSpec.Pool, 64);
        var dataplane = CreateTestProbe();
        var wire = CreateTestProbe();
        var direct = new DirectSignalling(new RecordingSender(wire.Ref), dataplaneForwards);
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null, direct: direct)));
        return (region, dataplane, wire);
    }

    [Fact]
    public void On_a_signalling_only_node_every_PBA_leaves_through_the_sender_and_the_dataplane_actor_still_hears_of_the_binding()
    {
        var (region, dataplane, wire) = Node(dataplaneForwards: false);

        region.Tell(BindingBucketSpec.Pbu("mn1@d.example", HandoffIndicator.AttachmentOverNewInterface));
        var prefix = Prefix(Pba(wire.ExpectMsg<SendMobilityMessage>(Timeout)));
        Assert.Equal(prefix, Assert.Single(dataplane.ExpectMsg<InstallBinding>(Timeout).Prefixes));
        region.Tell(BindingBucketSpec.Pbu("mn1@d.example", HandoffIndicator.HandoffStateUnknown, prefix));
        Assert.Equal(prefix, Prefix(Pba(wire.ExpectMsg<SendMobilityMessage>(Timeout))));

        // The refresh changes no forwarding: no InstallBinding; and no SendMobilityMessage: nothing went through the actor.
        dataplane.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void With_a_forwarding_dataplane_a_new_binding_s_PBA_follows_its_route_through_the_dataplane_actor_and_a_refresh_s_goes_direct()
    {
        var (region, dataplane, wire) = Node(dataplaneForwards: true);

        region.Tell(BindingBucketSpec.Pbu("mn2@d.example", HandoffIndicator.AttachmentOverNewInterface));
        var install = dataplane.ExpectMsg<InstallBinding>(Timeout);
        var prefix = Prefix(Pba(dataplane.ExpectMsg<SendMobilityMessage>(Timeout))); // behind the route, in the same mailbox
        Assert.Equal(prefix, Assert.Single(install.Prefixes));
        wire.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        region.Tell(BindingBucketSpec.Pbu("mn2@d.example", HandoffIndicator.HandoffStateUnknown, prefix)); // refresh from the serving MAG
        Assert.Equal(prefix, Prefix(Pba(wire.ExpectMsg<SendMobilityMessage>(Timeout))));
        dataplane.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // a refresh tells the dataplane nothing: its route stands
    }
}
