// Refuses a store written with another bucket layout, before any bucket recovers from it.
//
// The bucket count is part of every persistence id ("bce-bucket-N") and of every prefix slice. A store written by an LMA
// with more buckets (1,024 before stop 23) holds bindings under ids this LMA never recovers, and prefixes cut from slices
// that now belong to other buckets: served as it is, it would lose those bindings and could hand one prefix to two MNs.
// The check asks the journal (any plugin: SQLite or PostgreSQL) for the highest sequence number of each id the former
// layout had beyond this one; a single used id is enough to refuse.
using Akka.Actor;
using Akka.Persistence;

namespace Pmip6Akka.Actors.Lma;

public static class BucketLayout
{
    /// <summary>The first bucket beyond <see cref="BindingBuckets.Count"/> the store holds events of, or null.</summary>
    public static async Task<int?> ForeignBucketAsync(ActorSystem system, TimeSpan timeout)
    {
        var answer = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        var check = system.ActorOf(Props.Create(() => new BucketLayoutCheck(journal, answer)), "bucket-layout-check");
        try
        {
            return await answer.Task.WaitAsync(timeout);
        }
        finally
        {
            check.Tell(PoisonPill.Instance);
        }
    }
}

/// <summary>Asks the journal about each bucket of the former layout beyond this one, one at a time (see <see cref="BucketLayout"/>).</summary>
public sealed class BucketLayoutCheck : ReceiveActor
{
    private readonly IActorRef _journal;
    private int _bucket = BindingBuckets.Count;

    public BucketLayoutCheck(IActorRef journal, TaskCompletionSource<int?> answer)
    {
        _journal = journal;
        // One id at a time: the journal's answer does not name the id it is for.
        Receive<RecoverySuccess>(success =>
        {
            if (success.HighestSequenceNr > 0)
            {
                answer.TrySetResult(_bucket);
                Context.Stop(Self);
            }
            else if (++_bucket >= BindingBuckets.FormerCount)
            {
                answer.TrySetResult(null);
                Context.Stop(Self);
            }
            else
                Ask();
        });
        Receive<ReplayMessagesFailure>(failure =>
        {
            answer.TrySetException(new InvalidOperationException($"the journal could not be read: {failure.Cause.Message}", failure.Cause));
            Context.Stop(Self);
        });
        Receive<ReplayedMessage>(_ => { }); // none asked for (max 0)
    }

    protected override void PreStart()
    {
        if (_bucket >= BindingBuckets.FormerCount)
            Self.Tell(new RecoverySuccess(0)); // nothing to check
        else
            Ask();
    }

    // max 0: no events, only the highest sequence number (RecoverySuccess); an id never written answers 0.
    private void Ask() => _journal.Tell(new ReplayMessages(1, 0, 0, BindingBucket.PersistenceIdOf(_bucket), Self));
}
