// What a binding bucket and the restart counter do on an LMA node of a cluster (issue 9): a bucket routes its prefix
// slice while it runs on the node, hands relayed uplink to its dataplane, and the RFC 5847 counter lives in the journal.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class ClusterNodeSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private static readonly Ipv6Prefix Pool = Domain.Pool;

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(BindingBuckets.Count - 1)]
    public void Every_address_of_a_bucket_slice_maps_back_to_that_bucket_and_nothing_outside_the_pool_does(int bucket)
    {
        var slice = BindingBuckets.Slice(Pool, 64, bucket)!.Value;
        Assert.Equal(Pool.Length + BindingBuckets.Bits, slice.Length);
        var random = new Random(bucket);
        for (var i = 0; i < 100; i++)
        {
            var host = (UInt128)(ulong)random.NextInt64() | ((UInt128)(ulong)random.NextInt64() << 64);
            var address = new Ipv6Address(slice.Address.Value | (host >> slice.Length));
            Assert.True(slice.Contains(address));
            Assert.Equal(bucket, BindingBuckets.OfAddress(Pool, address));
        }
        Assert.Equal(-1, BindingBuckets.OfAddress(Pool, Ipv6Address.Parse("2001:db8:b000::1")));
    }

    [Fact]
    public void A_bucket_of_a_cluster_node_routes_its_slice_while_it_runs_and_hands_relayed_uplink_to_its_dataplane()
    {
        var dataplane = CreateTestProbe();
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64) { RoutesSlice = true };
        var bucket = Sys.ActorOf(BindingBucket.Props("7", settings, dataplane.Ref, null));

        var routed = dataplane.ExpectMsg<RouteSlice>(TimeSpan.FromSeconds(5));
        Assert.Equal((7, BindingBuckets.Slice(Pool, 64, 7)!.Value, true), (routed.Bucket, routed.Slice, routed.Routed));

        var mag = Ipv6Address.Parse("2001:db8:1::2");
        bucket.Tell(new RelayedUplink(7, [0x60, 0, 0, 0, 0, 0, 59, 64], mag));
        var injected = dataplane.ExpectMsg<InjectUplink>();
        Assert.Equal(mag, injected.From);
        Assert.Equal(new byte[] { 0x60, 0, 0, 0, 0, 0, 59, 64 }, injected.Packet);

        Sys.Stop(bucket);
        var removed = dataplane.ExpectMsg<RouteSlice>();
        Assert.Equal((7, routed.Slice, false), (removed.Bucket, removed.Slice, removed.Routed));
    }

    [Fact]
    public void A_lone_node_bucket_routes_nothing_itself()
    {
        var dataplane = CreateTestProbe();
        var bucket = Sys.ActorOf(BindingBucket.Props("7", new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64), dataplane.Ref, null));
        bucket.Tell(new StartBucket(7));
        ExpectMsg<BucketReady>();
        Sys.Stop(bucket);
        dataplane.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void The_restart_counter_is_chosen_once_for_a_journal_and_read_back_unchanged_by_every_later_start()
    {
        var before = RestartCounters.Choose(DateTimeOffset.UtcNow);
        var first = Sys.ActorOf(RestartCounterEntity.Props());
        var chosen = first.Ask<RestartCounterIs>(GetRestartCounter.Instance, TimeSpan.FromSeconds(5)).Result.Value;
        Assert.InRange(chosen, before, RestartCounters.Choose(DateTimeOffset.UtcNow));

        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
        Thread.Sleep(1100); // a new choice would now differ
        var again = Sys.ActorOf(RestartCounterEntity.Props());
        Assert.Equal(chosen, again.Ask<RestartCounterIs>(GetRestartCounter.Instance, TimeSpan.FromSeconds(5)).Result.Value);
    }

    [Fact]
    public void A_new_journal_chooses_a_counter_above_any_earlier_one_and_never_zero()
    {
        var earlier = new DateTimeOffset(2026, 11, 25, 21, 0, 0, TimeSpan.Zero);
        Assert.True(RestartCounters.Choose(earlier.AddSeconds(1)) > RestartCounters.Choose(earlier));
        Assert.Equal(1u, RestartCounters.Choose(DateTimeOffset.FromUnixTimeSeconds(1L << 32)));
    }
}
