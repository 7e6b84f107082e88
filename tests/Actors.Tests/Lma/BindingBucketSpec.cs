// One binding bucket driven directly: snapshots, recovery from them, prefix slices.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BindingBucketSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    internal static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    internal static readonly Ipv6Prefix Pool = Ipv6Prefix.Parse("2001:db8:a000::/40");

    internal static HandleProxyBindingUpdate Pbu(string mn, HandoffIndicator hi, Ipv6Prefix? prefix = null, TimeSpan? lifetime = null) => new(
        new ProxyBindingUpdate(Mag, 1, lifetime ?? TimeSpan.FromHours(1), mn, [prefix ?? new Ipv6Prefix(default, 0)], hi,
            AccessTechnologyType.Ieee8023, "02", null, Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)),
        new MobileNodePolicy(mn));

    private Ipv6Prefix Answered(Akka.TestKit.TestProbe dataplane)
    {
        var send = dataplane.FishForMessage<SendMobilityMessage>(_ => true, TimeSpan.FromSeconds(5));
        Assert.True(BindingAcknowledgement.TryDecode(send.Message, out var pba, out _));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, pba.Status);
        foreach (var hnp in pba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            return HomeNetworkPrefixOption.Read(hnp.Data);
        throw new Xunit.Sdk.XunitException("PBA without a prefix");
    }

    /// <summary>MN-IDs that all fall into the same bucket as the first one.</summary>
    private static string[] SameBucket(int count)
    {
        var bucket = BindingBuckets.Bucket("mn0@b.example");
        return Enumerable.Range(0, 100_000).Select(i => $"mn{i}@b.example").Where(mn => BindingBuckets.Bucket(mn) == bucket).Take(count).ToArray();
    }

    [Fact]
    public void A_bucket_recovers_from_its_snapshot_and_never_reuses_a_prefix_still_bound()
    {
        var mns = SameBucket(4);
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64) { SnapshotEvery = 2 };
        var dataplane = CreateTestProbe();
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null)));

        region.Tell(Pbu(mns[0], HandoffIndicator.AttachmentOverNewInterface));
        var first = Answered(dataplane);
        region.Tell(Pbu(mns[1], HandoffIndicator.AttachmentOverNewInterface));
        var second = Answered(dataplane); // two events: a snapshot is taken
        region.Tell(Pbu(mns[1], HandoffIndicator.HandoffStateUnknown, second, TimeSpan.Zero)); // de-registration, kept for a while
        dataplane.FishForMessage<SendMobilityMessage>(_ => true, TimeSpan.FromSeconds(5));
        Assert.NotEqual(first, second);
        Assert.True(BindingBuckets.Slice(Pool, 64, BindingBuckets.Bucket(mns[0]))!.Value.Contains(first.Address));

        // Crash the bucket; it comes back from the snapshot plus the events after it.
        var bucket = Sys.ActorSelection(region.Path / "*").ResolveOne(TimeSpan.FromSeconds(3)).Result;
        Watch(bucket);
        Sys.Stop(bucket);
        ExpectTerminated(bucket);

        var recovered = region.Ask<BindingSnapshot>(new GetBinding(mns[0]), TimeSpan.FromSeconds(5)).Result;
        Assert.Equal(first, Assert.Single(Assert.Single(recovered.Sessions).Prefixes));
        var awaiting = region.Ask<BindingSnapshot>(new GetBinding(mns[1]), TimeSpan.FromSeconds(5)).Result;
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(awaiting.Sessions).State);

        region.Tell(Pbu(mns[2], HandoffIndicator.AttachmentOverNewInterface));
        var third = Answered(dataplane);
        Assert.NotEqual(first, third);
        Assert.NotEqual(second, third); // still bound (awaiting a new MAG)
    }

    [Fact]
    public void A_mobile_node_that_takes_over_a_removed_one_s_handle_is_not_expired_by_its_entry_and_expires_by_its_own()
    {
        // The deadline queue is keyed by the table's handles, and a removed MN's handle goes to the next MN added: the
        // entries left for the first (its 2 s lifetime) fire for the second, which must find nothing due.
        var mns = SameBucket(2);
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default with { MinDelayBeforeBceDelete = TimeSpan.FromMilliseconds(200) },
            Pool, 64);
        var dataplane = CreateTestProbe();
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null)));
        int Held(string mn) => region.Ask<BindingSnapshot>(new GetBinding(mn), TimeSpan.FromSeconds(5)).Result.Sessions.Length;

        var registered = DateTimeOffset.UtcNow;
        region.Tell(Pbu(mns[0], HandoffIndicator.AttachmentOverNewInterface, lifetime: TimeSpan.FromSeconds(2)));
        var first = Answered(dataplane);
        region.Tell(Pbu(mns[0], HandoffIndicator.HandoffStateUnknown, first, TimeSpan.Zero)); // de-registered: removed 200 ms later
        dataplane.FishForMessage<SendMobilityMessage>(_ => true, TimeSpan.FromSeconds(5));
        AwaitAssert(() => Assert.Equal(0, Held(mns[0])), TimeSpan.FromSeconds(3));

        region.Tell(Pbu(mns[1], HandoffIndicator.AttachmentOverNewInterface)); // 1 h, on the freed node
        var second = Answered(dataplane);
        var stale = registered + TimeSpan.FromSeconds(2.5) - DateTimeOffset.UtcNow;
        if (stale > TimeSpan.Zero)
            Thread.Sleep(stale);
        Assert.Equal(1, Held(mns[1])); // the first MN's lifetime entry fired for it and found nothing due

        region.Tell(Pbu(mns[1], HandoffIndicator.HandoffStateNotChanged, second, TimeSpan.FromSeconds(1))); // its own deadline, earlier
        Answered(dataplane);
        AwaitAssert(() => Assert.Equal(0, Held(mns[1])), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public void A_refresh_written_into_the_held_state_is_what_the_node_s_index_shows_and_survives_a_restart()
    {
        var mn = SameBucket(1)[0];
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64) { SnapshotEvery = 2 };
        var dataplane = CreateTestProbe();
        var index = Sys.ActorOf(BindingIndex.Props());
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, index)));
        region.Tell(Pbu(mn, HandoffIndicator.AttachmentOverNewInterface));
        var hnp = Answered(dataplane);
        region.Tell(Pbu(mn, HandoffIndicator.HandoffStateNotChanged, hnp, TimeSpan.FromMinutes(30)));
        Answered(dataplane); // two events: a snapshot holds this refresh
        region.Tell(Pbu(mn, HandoffIndicator.HandoffStateNotChanged, hnp, TimeSpan.FromMinutes(10)));
        Answered(dataplane);

        // The snapshot taken after the first refresh holds a copy: the second refresh, written into the bucket's state, is not in it
        // (the specs' snapshot store keeps the object it is given, as a store serializing on its own thread would read it later).
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        var saved = store.Ask<Akka.Persistence.LoadSnapshotResult>(new Akka.Persistence.LoadSnapshot("bce-bucket-" + BindingBuckets.Bucket(mn),
            Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(3)).Result;
        var snapshotted = Assert.IsType<BindingBucketSnapshot>(saved.Snapshot?.Snapshot);
        Assert.Equal(TimeSpan.FromMinutes(30), Assert.Single(Assert.Single(snapshotted.States).Sessions).Lifetime);

        // The node's index asks the bucket, which answers from the state the refreshes were written into.
        var indexed = Assert.Single(index.Ask<BindingIndexView>(new GetBindingIndex(), TimeSpan.FromSeconds(3)).Result.Bindings);
        Assert.InRange(Assert.Single(indexed.Sessions).ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));

        var bucket = Sys.ActorSelection(region.Path / "*").ResolveOne(TimeSpan.FromSeconds(3)).Result;
        Watch(bucket);
        Sys.Stop(bucket);
        ExpectTerminated(bucket);
        var recovered = Assert.Single(region.Ask<BindingSnapshot>(new GetBinding(mn), TimeSpan.FromSeconds(5)).Result.Sessions);
        Assert.Equal(hnp, Assert.Single(recovered.Prefixes));
        Assert.InRange(recovered.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void The_node_s_index_shows_what_its_hosted_buckets_hold_and_forgets_a_bucket_that_stopped()
    {
        var inOne = SameBucket(2);
        var other = Enumerable.Range(0, 1000).Select(i => $"other{i}@b.example").First(mn => BindingBuckets.Bucket(mn) != BindingBuckets.Bucket(inOne[0]));
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64);
        var dataplane = CreateTestProbe();
        var index = Sys.ActorOf(BindingIndex.Props());
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, index)));
        foreach (var mn in inOne.Append(other))
        {
            region.Tell(Pbu(mn, HandoffIndicator.AttachmentOverNewInterface));
            Answered(dataplane);
        }

        var all = index.Ask<BindingIndexView>(new GetBindingIndex(), TimeSpan.FromSeconds(5)).Result;
        Assert.Equal((3, 3), (all.MobileNodes, all.Sessions));
        Assert.Equal(inOne.Append(other).Order(), all.Bindings.Select(b => b.MobileNodeId).Order());
        var limited = index.Ask<BindingIndexView>(new GetBindingIndex(Limit: 1), TimeSpan.FromSeconds(5)).Result;
        Assert.Equal((3, 1), (limited.MobileNodes, limited.Bindings.Length)); // the totals are the node's, the list is cut
        var elsewhere = index.Ask<BindingIndexView>(new GetBindingIndex(AtMag: Domain.Mag2Address), TimeSpan.FromSeconds(5)).Result;
        Assert.Empty(elsewhere.Bindings);

        var bucket = Sys.ActorSelection(region.Path / BindingBuckets.EntityId(other)).ResolveOne(TimeSpan.FromSeconds(3)).Result;
        Watch(bucket);
        Sys.Stop(bucket);
        ExpectTerminated(bucket);
        AwaitAssert(() => Assert.Equal(2, index.Ask<BindingIndexView>(new GetBindingIndex(), TimeSpan.FromSeconds(5)).Result.MobileNodes),
            TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_new_snapshot_deletes_the_bucket_s_older_snapshots()
    {
        var mns = SameBucket(6);
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Pool, 64) { SnapshotEvery = 2 };
        var dataplane = CreateTestProbe();
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null)));
        foreach (var mn in mns)
        {
            region.Tell(Pbu(mn, HandoffIndicator.AttachmentOverNewInterface));
            Answered(dataplane); // six events: snapshots after the second, fourth and sixth
        }

        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        var persistenceId = "bce-bucket-" + BindingBuckets.Bucket(mns[0]);
        AwaitAssert(() =>
        {
            var latest = store.Ask<Akka.Persistence.LoadSnapshotResult>(new Akka.Persistence.LoadSnapshot(persistenceId,
                Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(3)).Result;
            Assert.Equal(6, latest.Snapshot?.Metadata.SequenceNr);
            var older = store.Ask<Akka.Persistence.LoadSnapshotResult>(new Akka.Persistence.LoadSnapshot(persistenceId,
                new Akka.Persistence.SnapshotSelectionCriteria(5), long.MaxValue), TimeSpan.FromSeconds(3)).Result;
            Assert.Null(older.Snapshot); // the snapshots at 2 and 4 are gone
        }, TimeSpan.FromSeconds(5));
    }
}
