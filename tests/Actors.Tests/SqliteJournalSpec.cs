// The SQLite journal plugin against the journal protocol Akka.Persistence and sharding's eventsourced
// remember-entities store rely on (write, replay ranges and limits, highest sequence number, deletes
// that keep it, rejections), its group commit's failure isolation, and both directions of compatibility
// with stores written by Akka.Persistence.Sql.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Serialization;
using Microsoft.Data.Sqlite;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Actors.Persistence.Sqlite;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

public sealed class SqliteJournalSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempDb Db;
    private readonly IActorRef _journal;
    private readonly string _pid = "p-" + Guid.NewGuid().ToString("N");

    public SqliteJournalSpec(ITestOutputHelper output) : this(new TempDb(), output) { }

    private SqliteJournalSpec(TempDb db, ITestOutputHelper output) : base(Config(db.Path_), "journal-spec", output)
    {
        Db = db;
        _journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(SqliteJournalSettings.ConfigPath);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            Db.Dispose();
    }

    private static Config Config(string path) => ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.actor.serializers.failing = "Pmip6Akka.Actors.Tests.SqliteJournalSpec+FailingSerializer, Pmip6Akka.Actors.Tests"
        akka.actor.serialization-bindings {
          "Pmip6Akka.Actors.Tests.SqliteJournalSpec+Unserializable, Pmip6Akka.Actors.Tests" = failing
        }
        """).WithFallback(ActorSystemFactory.BuildConfig(new NodeOptions(path)));

    public sealed record Unserializable(string Text);

    public sealed class FailingSerializer(ExtendedActorSystem system) : Serializer(system)
    {
        public override int Identifier => 5298;
        public override bool IncludeManifest => false;
        public override byte[] ToBinary(object obj) => throw new InvalidOperationException("cannot serialize " + obj);
        public override object FromBinary(byte[] bytes, Type? type) => throw new InvalidOperationException("never written");
    }

    private Persistent Event(long sequenceNr, object? payload = null) =>
        new(payload ?? $"e-{sequenceNr}", sequenceNr, _pid, "", false, ActorRefs.NoSender, "writer-1");

    private void Write(long from, long to)
    {
        var writes = Enumerable.Range((int)from, (int)(to - from + 1)).Select(n => new AtomicWrite(Event(n))).ToList<IPersistentEnvelope>();
        _journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>(Timeout);
        for (var n = from; n <= to; n++)
            Assert.Equal(n, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
    }

    private (List<IPersistentRepresentation> Replayed, long Highest) Replay(long from, long to, long max = long.MaxValue)
    {
        _journal.Tell(new ReplayMessages(from, to, max, _pid, TestActor));
        var replayed = new List<IPersistentRepresentation>();
        while (true)
        {
            var message = ExpectMsg<object>(Timeout);
            if (message is ReplayedMessage r)
                replayed.Add(r.Persistent);
            else if (message is RecoverySuccess done)
                return (replayed, done.HighestSequenceNr);
            else
                throw new Xunit.Sdk.XunitException("unexpected " + message);
        }
    }

    private static long[] SequenceNrs(List<IPersistentRepresentation> replayed) => [.. replayed.Select(p => p.SequenceNr)];

    [Fact]
    public void Events_replay_in_order_within_the_range_and_the_limit_with_their_payload_and_writer()
    {
        Write(1, 5);
        var (all, highest) = Replay(1, long.MaxValue);
        Assert.Equal([1, 2, 3, 4, 5], SequenceNrs(all));
        Assert.Equal(5, highest);
        Assert.All(all, p => Assert.Equal($"e-{p.SequenceNr}", p.Payload));
        Assert.All(all, p => Assert.Equal(_pid, p.PersistenceId));
        Assert.All(all, p => Assert.Equal("writer-1", p.WriterGuid));
        Assert.Equal([2, 3, 4], SequenceNrs(Replay(2, 4).Replayed));
        Assert.Equal([2, 3], SequenceNrs(Replay(2, 5, max: 2).Replayed));
        Assert.Empty(Replay(6, 10).Replayed);
    }

    [Fact]
    public void An_unknown_persistence_id_replays_nothing_and_its_highest_sequence_number_is_zero()
    {
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Empty(replayed);
        Assert.Equal(0, highest);
    }

    [Fact]
    public void Deleting_everything_keeps_the_highest_sequence_number_so_numbering_never_restarts()
    {
        Write(1, 5);
        _journal.Tell(new DeleteMessagesTo(_pid, 5, TestActor));
        Assert.Equal(5, ExpectMsg<DeleteMessagesSuccess>(Timeout).ToSequenceNr);
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Empty(replayed);
        Assert.Equal(5, highest);
        Write(6, 7);
        Assert.Equal([6, 7], SequenceNrs(Replay(1, long.MaxValue).Replayed));
    }

    [Fact]
    public void Deleting_a_prefix_replays_the_rest_and_removes_the_rows()
    {
        Write(1, 5);
        _journal.Tell(new DeleteMessagesTo(_pid, 3, TestActor));
        ExpectMsg<DeleteMessagesSuccess>(Timeout);
        Assert.Equal([4, 5], SequenceNrs(Replay(1, long.MaxValue).Replayed));
        using var connection = new SqliteConnection(ActorSystemFactory.SqliteConnectionString(Db.Path_));
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id";
        count.Parameters.AddWithValue("$id", _pid);
        Assert.Equal(3L, count.ExecuteScalar()); // 3 (kept, marked deleted), 4, 5
    }

    [Fact]
    public void An_event_that_cannot_be_serialized_rejects_only_its_own_atomic_write()
    {
        var writes = new List<IPersistentEnvelope>
        {
            new AtomicWrite(Event(1)),
            new AtomicWrite(Event(2, new Unserializable("x"))),
            new AtomicWrite(Event(3)),
        };
        _journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>(Timeout);
        Assert.Equal(1, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        var rejected = ExpectMsg<WriteMessageRejected>(Timeout);
        Assert.Equal(2, rejected.Persistent.SequenceNr);
        Assert.IsType<InvalidOperationException>(rejected.Cause);
        Assert.Equal(3, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        Assert.Equal([1, 3], SequenceNrs(Replay(1, long.MaxValue).Replayed));
    }

    [Fact]
    public void A_write_is_answered_in_order_with_each_event_returned_to_its_own_sender()
    {
        var firstSender = CreateTestProbe().Ref;
        var writes = new List<IPersistentEnvelope>
        {
            new AtomicWrite(new Persistent("e-1", 1, _pid, "", false, firstSender, "writer-1")),
            new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(Event(2), Event(3))),
        };
        _journal.Tell(new WriteMessages(writes, TestActor, 7));
        ExpectMsg<WriteMessagesSuccessful>(Timeout);
        var first = ExpectMsg<WriteMessageSuccess>(Timeout);
        Assert.Equal((1L, 7), (first.Persistent.SequenceNr, first.ActorInstanceId));
        Assert.Equal(firstSender, LastSender);
        Assert.Equal(2, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        Assert.Equal(3, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        Assert.Equal([1, 2, 3], SequenceNrs(Replay(1, long.MaxValue).Replayed));
    }

    [Fact]
    public void Once_every_reply_is_sent_the_written_batch_holds_nothing()
    {
        // Eventsourced never reads a batch it handed over; an emptied one cannot keep its events alive once promoted (issue 4).
        var writes = new List<IPersistentEnvelope> { new AtomicWrite(Event(1)), new AtomicWrite(Event(2)) };
        _journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>(Timeout);
        Assert.Equal(1, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        Assert.Equal(2, ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
        AwaitCondition(() => writes.Count == 0, Timeout); // emptied right after the last reply, on the writer thread
        Assert.Equal([1, 2], SequenceNrs(Replay(1, long.MaxValue).Replayed));
    }

    /// <summary>Persists each string asynchronously and defers a marker behind it; reports each handler as it runs.</summary>
    private sealed class Deferrer : ReceivePersistentActor
    {
        public override string PersistenceId { get; }

        public Deferrer(string persistenceId, IActorRef report)
        {
            PersistenceId = persistenceId;
            Command<string>(text =>
            {
                PersistAsync(text, e => report.Tell("persisted " + e));
                DeferAsync("after " + text, d => report.Tell(d));
            });
        }
    }

    [Fact]
    public void A_deferred_message_is_handled_after_the_events_persisted_before_it()
    {
        var deferrer = Sys.ActorOf(Props.Create(() => new Deferrer(_pid, TestActor)));
        deferrer.Tell("a");
        deferrer.Tell("b");
        Assert.Equal(["persisted a", "after a", "persisted b", "after b"],
            new[] { ExpectMsg<string>(Timeout), ExpectMsg<string>(Timeout), ExpectMsg<string>(Timeout), ExpectMsg<string>(Timeout) });
    }

    [Fact]
    public void A_write_the_store_refuses_fails_every_event_of_it_and_leaves_the_journal_as_it_was()
    {
        Write(1, 2);
        var writes = new List<IPersistentEnvelope> { new AtomicWrite(Event(3)), new AtomicWrite(Event(2)) }; // 2 exists already
        _journal.Tell(new WriteMessages(writes, TestActor, 1));
        var failed = ExpectMsg<WriteMessagesFailed>(Timeout);
        Assert.Equal(2, failed.WriteCount);
        Assert.IsType<SqliteException>(failed.Cause);
        Assert.Equal(3, ExpectMsg<WriteMessageFailure>(Timeout).Persistent.SequenceNr);
        Assert.Equal(2, ExpectMsg<WriteMessageFailure>(Timeout).Persistent.SequenceNr);
        Assert.Equal([1, 2], SequenceNrs(Replay(1, long.MaxValue).Replayed));
    }

    [Fact]
    public async Task A_failing_write_grouped_with_others_in_one_commit_fails_alone()
    {
        var path = Path.Combine(Db.Dir, "group-" + Guid.NewGuid().ToString("N") + ".db");
        var settings = new SqliteJournalSettings(ActorSystemFactory.SqliteConnectionString(path), SqliteSync.Normal, true, 4096);
        using var writer = new JournalWriter(settings);
        JournalRow Row(long n) => new("g", n, [1, 2, 3], "m", 1, null, 1, null);
        await writer.Write([Row(1)]);

        // Hold SQLite's write lock so that the next requests queue up and are committed as one group.
        using var blocker = new SqliteConnection(settings.ConnectionString);
        blocker.Open();
        using (var begin = blocker.CreateCommand()) { begin.CommandText = "BEGIN IMMEDIATE"; begin.ExecuteNonQuery(); }
        var first = writer.Write([Row(2)]);
        await Task.Delay(200);
        var duplicate = writer.Write([Row(3), Row(1)]); // 1 already exists: the whole request fails, atomically
        var last = writer.Write([Row(4)]);
        await Task.Delay(200);
        using (var commit = blocker.CreateCommand()) { commit.CommandText = "COMMIT"; commit.ExecuteNonQuery(); }

        await first.WaitAsync(Timeout);
        await last.WaitAsync(Timeout);
        var failure = await Assert.ThrowsAsync<SqliteException>(() => duplicate.WaitAsync(Timeout));
        Assert.Equal(19, failure.SqliteErrorCode); // SQLITE_CONSTRAINT
        using var select = blocker.CreateCommand();
        select.CommandText = "SELECT group_concat(sequence_number) FROM (SELECT sequence_number FROM journal WHERE persistence_id = 'g' ORDER BY 1)";
        Assert.Equal("1,2,4", select.ExecuteScalar());
    }

    [Theory]
    [InlineData(256 * 1024)]
    [InlineData(-1)] // SQLite's own default, no limit: what the journal had before wal-size-limit
    public async Task The_wal_a_reader_made_grow_is_truncated_back_to_twice_the_limit_once_it_restarts(long limit)
    {
        var path = Path.Combine(Db.Dir, "wal-limit-" + Guid.NewGuid().ToString("N") + ".db");
        var settings = new SqliteJournalSettings(ActorSystemFactory.SqliteConnectionString(path), SqliteSync.Normal, true, 4096, limit);
        var wal = path + "-wal";
        using var writer = new JournalWriter(settings);
        using var reader = new SqliteConnection(settings.ConnectionString);
        reader.Open();
        using (var begin = reader.CreateCommand())
        {
            // A read transaction (the snapshot store's, say) pins the WAL: no checkpoint can restart it meanwhile.
            begin.CommandText = "BEGIN; SELECT count(*) FROM journal;";
            begin.ExecuteScalar();
        }
        for (var batch = 0; batch < 20; batch++)
            await writer.Write([.. Enumerable.Range(1, 100).Select(i => new JournalRow("w", batch * 100 + i, new byte[1000], "m", 1, null, 1, null))]);
        Assert.True(new FileInfo(wal).Length > 1_500_000, $"WAL {new FileInfo(wal).Length} bytes while pinned");

        using (var commit = reader.CreateCommand()) { commit.CommandText = "COMMIT; PRAGMA wal_checkpoint(PASSIVE);"; commit.ExecuteNonQuery(); }
        await writer.Write([new JournalRow("w", 2001, new byte[1000], "m", 1, null, 1, null)]); // restarts the WAL

        var size = new FileInfo(wal).Length;
        if (limit >= 0)
            Assert.True(size > limit && size <= 2 * limit, $"WAL {size} bytes after the restart, limit {limit}"); // back to twice the limit, not to it
        else
            Assert.True(size > 1_500_000, $"WAL {size} bytes: without a limit it keeps its largest size");
        using var count = reader.CreateCommand();
        count.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = 'w'";
        Assert.Equal(2001L, (long)count.ExecuteScalar()!);
    }

    [Fact]
    public async Task Under_steady_writes_the_checkpoint_thread_copies_the_wal_and_the_writer_restarts_it_at_the_limit()
    {
        // Issue 4: no commit runs SQLite's automatic checkpoint (its fsyncs held every PBA queued behind it). The WAL must
        // still stay bounded while writes never stop: without the restarts it would grow by every row written.
        var path = Path.Combine(Db.Dir, "checkpoint-" + Guid.NewGuid().ToString("N") + ".db");
        const long limit = 1L << 20; // 256 frames of 4 KiB
        var settings = new SqliteJournalSettings(ActorSystemFactory.SqliteConnectionString(path), SqliteSync.Normal, true, 4096, limit);
        var wal = path + "-wal";
        using var writer = new JournalWriter(settings);
        long written = 0, largest = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((writer.WalRestarts < 3 || written * 2000 < 12 * limit) && DateTime.UtcNow < deadline)
        {
            await writer.Write([.. Enumerable.Range(1, 20).Select(i => new JournalRow("c", written + i, new byte[2000], "m", 1, null, 1, null))]);
            written += 20;
            largest = Math.Max(largest, new FileInfo(wal).Length);
            await Task.Delay(5); // ~6 MB/s of rows: the checkpoint thread looks every 100 ms, so the WAL overshoots by ~0.6 MB
        }
        Assert.True(writer.WalRestarts >= 3, $"{writer.WalRestarts} restarts after {written} rows");
        Assert.True(written * 2000 >= 12 * limit, $"only {written} rows written");
        // Past the limit by at most what is appended while the checkpoint thread closes in (one interval and a few passes,
        // longer on a loaded runner); half of what was written, at the most.
        Assert.True(largest < 6 * limit, $"WAL reached {largest} bytes with a {limit}-byte limit after {written} rows of 2,000 bytes");
        using var reader = new SqliteConnection(settings.ConnectionString);
        reader.Open();
        using var count = reader.CreateCommand();
        count.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = 'c'";
        Assert.Equal(written, (long)count.ExecuteScalar()!);
    }

    [Fact]
    public void Wal_size_limit_is_read_from_the_plugin_block_and_a_wrong_one_is_named()
    {
        Config Block(string extra) => ConfigurationFactory.ParseString($$"""
            connection-string = "Data Source=/tmp/x.db"
            max-rows-per-commit = 10
            {{extra}}
            """);
        Assert.Equal(SqliteJournalSettings.DefaultWalSizeLimit, SqliteJournalSettings.Create(Block("")).WalSizeLimit);
        Assert.Equal(8L << 20, SqliteJournalSettings.Create(Block("wal-size-limit = 8MiB")).WalSizeLimit);
        var error = Assert.Throws<ConfigurationException>(() => SqliteJournalSettings.Create(Block("wal-size-limit = -5")));
        Assert.Contains("akka.persistence.journal.sqlite.wal-size-limit", error.Message);
    }

    /// <summary>A persistent actor that records strings and answers "state" with what it has recovered and recorded.</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        private readonly List<string> _events = [];
        public override string PersistenceId { get; }

        public Recorder(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<string>(_events.Add);
            Command<string>(text => text == "state", _ => Sender.Tell(string.Join(",", _events)));
            Command<string>(text => Persist(text, e =>
            {
                _events.Add(e);
                Sender.Tell("ok");
            }));
        }
    }

    [Theory]
    [InlineData("akka.persistence.journal.sql", "akka.persistence.journal.sqlite")]
    [InlineData("akka.persistence.journal.sqlite", "akka.persistence.journal.sql")]
    public async Task A_store_written_by_one_plugin_is_recovered_by_the_other(string writer, string reader)
    {
        var path = Path.Combine(Db.Dir, "compat-" + Guid.NewGuid().ToString("N") + ".db");
        ActorSystemFactory.EnableWal(path);
        async Task<string> Run(string plugin, params string[] commands)
        {
            var config = ConfigurationFactory.ParseString($"akka.persistence.journal.plugin = \"{plugin}\"")
                .WithFallback(ActorSystemFactory.BuildConfig(new NodeOptions(path)));
            var system = ActorSystem.Create("compat", config);
            try
            {
                var recorder = system.ActorOf(Props.Create(() => new Recorder("recorder")));
                foreach (var command in commands)
                    Assert.Equal("ok", await recorder.Ask<string>(command, Timeout));
                return await recorder.Ask<string>("state", Timeout);
            }
            finally
            {
                await system.Terminate();
            }
        }
        Assert.Equal("a,b", await Run(writer, "a", "b"));
        Assert.Equal("a,b,c", await Run(reader, "c"));
        Assert.Equal("a,b,c", await Run(writer));
    }
}
