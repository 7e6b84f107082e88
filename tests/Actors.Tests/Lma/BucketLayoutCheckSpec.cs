// A store written with another bucket layout is recognised before any bucket recovers from it.
using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Tests.Scenarios;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BucketLayoutCheckSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    /// <summary>Writes one event under a persistence id, as a bucket of another layout would have.</summary>
    private sealed class Writer : ReceivePersistentActor
    {
        public override string PersistenceId { get; }

        public Writer(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<string>(text => Persist(text, _ => Sender.Tell("written")));
            Recover<string>(_ => { });
        }
    }

    private void Write(string persistenceId)
    {
        Sys.ActorOf(Props.Create(() => new Writer(persistenceId))).Tell("event");
        ExpectMsg("written");
    }

    [Fact]
    public async Task A_store_with_only_this_layout_s_buckets_passes()
    {
        Write(BindingBucket.PersistenceIdOf(0));
        Write(BindingBucket.PersistenceIdOf(BindingBuckets.Count - 1));

        Assert.Null(await BucketLayout.ForeignBucketAsync(Sys, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_store_holding_a_bucket_beyond_this_layout_names_it()
    {
        Write(BindingBucket.PersistenceIdOf(5));
        Write(BindingBucket.PersistenceIdOf(BindingBuckets.Count + 44));
        Write(BindingBucket.PersistenceIdOf(BindingBuckets.FormerCount - 1));

        Assert.Equal(BindingBuckets.Count + 44, await BucketLayout.ForeignBucketAsync(Sys, TimeSpan.FromSeconds(30)));
    }
}
