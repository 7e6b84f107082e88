// A store is served only by an LMA of the bucket layout it was written with: a new store records the layout, a store of
// the former layout (no record, but bindings or a restart counter) is refused before any bucket recovers from it.
using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BucketLayoutCheckSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Writes one event under a persistence id, as an LMA of some layout would have.</summary>
    private sealed class Writer : ReceivePersistentActor
    {
        public override string PersistenceId { get; }

        public Writer(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<object>(e => Persist(e, _ => Sender.Tell("written")));
            Recover<object>(_ => { });
        }
    }

    private void Write(string persistenceId, object? e = null)
    {
        Sys.ActorOf(Props.Create(() => new Writer(persistenceId))).Tell(e ?? new RestartCounterChosen(7, DateTimeOffset.UtcNow));
        ExpectMsg("written");
    }

    private long Highest(string persistenceId)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var probe = CreateTestProbe();
        journal.Tell(new ReplayMessages(1, 0, 0, persistenceId, probe.Ref));
        return probe.ExpectMsg<RecoverySuccess>().HighestSequenceNr;
    }

    [Fact]
    public async Task A_new_store_is_accepted_and_records_the_layout_so_its_next_start_asks_nothing_else()
    {
        Assert.Null(await BucketLayout.CheckAsync(Sys, Patience));
        Assert.Equal(1, Highest(BucketLayout.RecordId));

        Write(BindingBucket.PersistenceIdOf(5)); // this layout's bindings, then a restart
        Assert.Null(await BucketLayout.CheckAsync(Sys, Patience));
        Assert.Equal(1, Highest(BucketLayout.RecordId)); // recorded once
    }

    [Theory]
    [InlineData(700)]
    [InlineData(5)] // a bucket both layouts have: without the record, its prefixes are of 10-bit slices
    public async Task A_store_of_the_former_layout_is_refused_naming_what_it_holds(int bucket)
    {
        Write(BindingBucket.PersistenceIdOf(bucket));

        var refusal = await BucketLayout.CheckAsync(Sys, Patience);

        Assert.Contains($"events of bce-bucket-{bucket} but no record of a {BindingBuckets.Count}-bucket layout", refusal);
        Assert.Equal(0, Highest(BucketLayout.RecordId)); // nothing written into a store it refused
    }

    [Fact]
    public async Task A_former_layout_store_without_any_binding_is_refused_by_its_restart_counter()
    {
        // Its remembered buckets 256-1023 would be started again by sharding.
        Write(RestartCounterEntity.JournalId);

        Assert.Contains("events of lma-restart-counter", await BucketLayout.CheckAsync(Sys, Patience));
    }
}
