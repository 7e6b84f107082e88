// Refuses a store written with another bucket layout, before any bucket recovers from it.
//
// The bucket count is part of every persistence id ("bce-bucket-N"), every prefix slice and the sharding's remembered
// entities. A store written by an LMA with 1,024 buckets (before stop 23) holds bindings under ids this LMA never
// recovers, prefixes cut from slices that now belong to other buckets (one prefix could go to two MNs), and remembered
// buckets 256-1023 that sharding would start again. So a store records its layout when it is new ("bce-layout-256", one
// event), and a store without that record that is not new — its restart counter or any bucket of either layout has
// events — is refused. Everything goes through the journal plugin (SQLite or PostgreSQL alike): a recovery, and the
// highest sequence number of each id, which stays above 0 after its events are deleted.
using Akka.Actor;
using Akka.Persistence;

namespace Pmip6Akka.Actors.Lma;

/// <summary>The record that a store holds bindings of <see cref="Buckets"/> buckets.</summary>
public sealed record BucketLayoutRecorded(int Buckets, DateTimeOffset At) : Persistence.IPmip6Serializable;

public static class BucketLayout
{
    /// <summary>The persistence id that records this layout in a store.</summary>
    public static string RecordId => "bce-layout-" + BindingBuckets.Count;

    /// <summary>
    /// Null when the store is of this layout (recorded now if the store is new); otherwise why not, for one line of the
    /// daemon's refusal.
    /// </summary>
    public static async Task<string?> CheckAsync(ActorSystem system, TimeSpan timeout)
    {
        var answer = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        var check = system.ActorOf(Props.Create(() => new BucketLayoutCheck(journal, answer)));
        try
        {
            return await answer.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return $"the journal did not answer within {timeout.TotalSeconds:0} s";
        }
        finally
        {
            check.Tell(PoisonPill.Instance);
        }
    }
}

/// <summary>Reads the layout record, then (no record) asks about each id an earlier layout wrote, one at a time.</summary>
public sealed class BucketLayoutCheck : ReceiveActor
{
    private sealed record Known;
    private sealed record Unknown;
    private sealed record Record;

    /// <summary>Recovers the layout record; writes it when told to.</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        public override string PersistenceId => BucketLayout.RecordId;

        public Recorder(IActorRef check)
        {
            var recorded = false;
            Recover<BucketLayoutRecorded>(_ => recorded = true);
            Recover<RecoveryCompleted>(_ => check.Tell(recorded ? new Known() : new Unknown()));
            Command<Record>(_ => Persist(new BucketLayoutRecorded(BindingBuckets.Count, DateTimeOffset.UtcNow), _ => check.Tell(new Known())));
        }
    }

    private readonly IActorRef _journal;
    private readonly TaskCompletionSource<string?> _answer;
    private IActorRef _recorder = ActorRefs.Nobody;
    private int _attempts;
    /// <summary>The id being asked about: -1 the restart counter, then buckets 0 to FormerCount - 1.</summary>
    private int _bucket = -1;

    public BucketLayoutCheck(IActorRef journal, TaskCompletionSource<string?> answer)
    {
        _journal = journal;
        _answer = answer;
        Receive<Known>(_ => Done(null));
        Receive<Unknown>(_ => Ask());
        // One id at a time: the journal's answer does not name the id it is for.
        Receive<RecoverySuccess>(success =>
        {
            if (success.HighestSequenceNr > 0)
                Done($"it holds events of {CurrentId} but no record of a {BindingBuckets.Count}-bucket layout: it was written by an LMA " +
                     $"with {BindingBuckets.FormerCount} buckets (before stop 23)");
            else if (++_bucket >= BindingBuckets.FormerCount)
                _recorder.Tell(new Record()); // a new store: record the layout
            else
                Ask();
        });
        Receive<ReplayMessagesFailure>(failure => Done($"the journal could not be read: {failure.Cause.Message}"));
        Receive<ReplayedMessage>(_ => { }); // none asked for (max 0)
        // The record's write failed (another node of a new cluster wrote it first) or its recovery did: read it again, once.
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_recorder) || _answer.Task.IsCompleted)
                return;
            if (++_attempts > 2)
                Done("the layout record could not be read or written (see the log)");
            else
                StartRecorder();
        });
    }

    protected override void PreStart() => StartRecorder();

    private void StartRecorder()
    {
        _recorder = Context.ActorOf(Props.Create(() => new Recorder(Self)));
        Context.Watch(_recorder);
    }

    private string CurrentId => _bucket < 0 ? RestartCounterEntity.JournalId : BindingBucket.PersistenceIdOf(_bucket);

    // max 0: no events, only the highest sequence number (RecoverySuccess); an id never written answers 0.
    private void Ask() => _journal.Tell(new ReplayMessages(1, 0, 0, CurrentId, Self));

    private void Done(string? refusal)
    {
        _answer.TrySetResult(refusal);
        Context.Stop(Self);
    }
}
