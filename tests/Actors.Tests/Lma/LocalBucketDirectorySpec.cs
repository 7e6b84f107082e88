// A lone LMA node's protocol handler hands an admitted PBU straight to its running bucket (LocalBucketDirectory),
// and through the region whenever that bucket is not running: not yet recovered, or stopped.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class LocalBucketDirectorySpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const string Mn = "mn1@dir.example";

    private static MobilityMessageReceived Received(string mn)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        Assert.True(BindingBucketSpec.Pbu(mn, HandoffIndicator.AttachmentOverNewInterface).Pbu.TryWrite(buffer, out var length));
        return new MobilityMessageReceived(buffer[..length], BindingBucketSpec.Mag, Domain.LmaAddress, DateTimeOffset.UtcNow);
    }

    /// <summary>The bucket of <see cref="Mn"/>, started through a real region, and an LMA whose "region" is a probe that records what it is sent.</summary>
    private (IActorRef Bucket, Akka.TestKit.TestProbe Dataplane, Akka.TestKit.TestProbe Region, IActorRef Lma) Node(LocalBucketDirectory directory)
    {
        var dataplane = CreateTestProbe();
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, BindingBucketSpec.Pool, 64);
        var realRegion = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null, directory: directory)));
        var bucket = BindingBuckets.Bucket(Mn);
        realRegion.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Wait(Timeout); // starts the bucket
        var region = CreateTestProbe();
        var lma = Sys.ActorOf(LmaNode.Props(new LmaNodeSettings(Domain.LmaAddress, new LmaAdmissionSettings([BindingBucketSpec.Mag]), 1) { Buckets = directory },
            new InMemoryPolicyStore([new MobileNodePolicy(Mn)]), dataplane.Ref, region.Ref, new Counters()));
        AwaitCondition(() => directory.Find(bucket) is not null, Timeout);
        return (directory.Find(bucket)!, dataplane, region, lma);
    }

    [Fact]
    public void A_running_bucket_gets_the_PBU_without_the_region_and_answers_it()
    {
        var (_, dataplane, region, lma) = Node(new LocalBucketDirectory());

        lma.Tell(Received(Mn));

        var pba = dataplane.FishForMessage<SendMobilityMessage>(_ => true, Timeout);
        Assert.True(BindingAcknowledgement.TryDecode(pba.Message, out var ack, out _));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, ack.Status);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_stopped_bucket_leaves_the_directory_and_its_PBUs_go_through_the_region_again()
    {
        var directory = new LocalBucketDirectory();
        var (bucket, _, region, lma) = Node(directory);
        Watch(bucket);

        Sys.Stop(bucket);
        ExpectTerminated(bucket, Timeout);
        Assert.Null(directory.Find(BindingBuckets.Bucket(Mn)));
        lma.Tell(Received(Mn));

        Assert.Equal(Mn, region.ExpectMsg<HandleProxyBindingUpdate>(Timeout).MobileNodeId);
    }

    [Fact]
    public void A_later_incarnation_is_not_removed_when_the_earlier_one_leaves()
    {
        var directory = new LocalBucketDirectory();
        var earlier = CreateTestProbe().Ref;
        var later = CreateTestProbe().Ref;

        directory.Enter(7, earlier);
        directory.Enter(7, later);
        directory.Leave(7, earlier);

        Assert.Equal(later, directory.Find(7));
    }
}
