// A purpose-built Akka.Persistence journal plugin for the LMA's SQLite store (why: docs/DESIGN-NOTES.md,
// "Where the registration rate stops now"). Same tables and row format as Akka.Persistence.Sql, so stores
// written before stay readable; what differs is the write path: events are serialized here, on the
// journal actor, and committed by one writer thread that groups every waiting request into one
// transaction of prepared inserts (JournalWriter). Reads (recovery, highest sequence number) run on
// pooled read connections; SQLite's WAL lets them proceed while the writer commits.
// Writes do not take AsyncWriteJournal's path (WriteMessagesAsync, a thread-pool continuation, the circuit
// breaker, then its resequencer actor, which forwards each reply): the writer thread tells the persistent
// actor itself, right after the COMMIT. Replies stay in order without a resequencer because one thread commits
// the requests in the order this actor queued them, and Akka delivers one sender's messages in order. Two thread
// hand-offs fewer per persisted event (docs/DESIGN-NOTES.md, "p99 at half the rate"). What the breaker did is
// not replaced: a write is never timed out here, it ends with SQLite's own answer (busy_timeout included).
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;
using Microsoft.Data.Sqlite;

namespace Pmip6Akka.Actors.Persistence.Sqlite;

public sealed class SqliteJournal : AsyncWriteJournal
{
    private readonly SqliteJournalSettings _settings;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly JournalWriter _writer;

    public SqliteJournal(Akka.Configuration.Config config)
    {
        _settings = SqliteJournalSettings.Create(config);
        _serialization = Context.System.Serialization;
        var log = Context.GetLogger();
        _writer = new JournalWriter(_settings, warning => log.Warning(warning));
    }

    protected override void PostStop()
    {
        _writer.Dispose();
        base.PostStop();
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is WriteMessages write)
        {
            Write(write);
            return true;
        }
        return base.AroundReceive(receive, message);
    }

    /// <summary>
    /// The journal protocol's write, answered as AsyncWriteJournal answers it: WriteMessagesSuccessful (or
    /// WriteMessagesFailed), then for every event in order WriteMessageSuccess, WriteMessageRejected (it could not be
    /// serialized: only its atomic write is refused) or WriteMessageFailure, and LoopMessageSuccess for a deferred
    /// message — sent from the writer thread once the rows are committed.
    /// </summary>
    private void Write(WriteMessages message)
    {
        var envelopes = message.Messages as IReadOnlyList<IPersistentEnvelope> ?? [.. message.Messages];
        var (rows, rejections) = Serialize(envelopes);
        var replies = new WriteReplies(message, envelopes, rejections, Self);
        if (rows.Count == 0)
            replies.Send(null);
        else
            _writer.Write(rows, replies.Send);
    }

    /// <summary>The rows of every atomic write that could be serialized, and per envelope the reason one could not (null: none failed).</summary>
    private (List<JournalRow> Rows, Exception?[]? Rejections) Serialize(IReadOnlyList<IPersistentEnvelope> envelopes)
    {
        var rows = new List<JournalRow>(envelopes.Count);
        Exception?[]? rejections = null;
        var now = DateTime.UtcNow.Ticks;
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (envelopes[i] is not AtomicWrite write)
                continue;
            var first = rows.Count;
            try
            {
                var payload = (IImmutableList<IPersistentRepresentation>)write.Payload;
                for (var j = 0; j < payload.Count; j++) // by index: the list's enumerator, boxed, was ~4 % of the LMA's allocations
                    rows.Add(ToRow(AdaptToJournal(payload[j]), now));
            }
            catch (Exception e)
            {
                // Serialization failed: this atomic write is rejected (the actor is told, and goes on); the others are written.
                rows.RemoveRange(first, rows.Count - first);
                (rejections ??= new Exception?[envelopes.Count])[i] = e;
            }
        }
        return (rows, rejections);
    }

    private sealed class WriteReplies(WriteMessages message, IReadOnlyList<IPersistentEnvelope> envelopes, Exception?[]? rejections, IActorRef journal)
    {
        public void Send(Exception? failure)
        {
            var target = message.PersistentActor;
            var instance = message.ActorInstanceId;
            if (failure is null)
                target.Tell(WriteMessagesSuccessful.Instance, journal);
            else
                target.Tell(new WriteMessagesFailed(failure, envelopes.Count(e => e is AtomicWrite)), journal);
            for (var i = 0; i < envelopes.Count; i++)
            {
                if (envelopes[i] is not AtomicWrite write)
                {
                    target.Tell(new LoopMessageSuccess(envelopes[i].Payload, instance), envelopes[i].Sender);
                    continue;
                }
                var rejected = rejections?[i];
                var payload = (IImmutableList<IPersistentRepresentation>)write.Payload;
                for (var j = 0; j < payload.Count; j++)
                {
                    var p = payload[j];
                    target.Tell(failure is not null ? new WriteMessageFailure(p, failure, instance)
                        : rejected is not null ? new WriteMessageRejected(p, rejected, instance)
                        : new WriteMessageSuccess(p, instance), p.Sender);
                }
            }
            ForgetBatch(envelopes);
        }

        /// <summary>
        /// Empties the actor's write batch once every reply is sent. Eventsourced hands the journal its batch list and starts a
        /// new one, so the list a young collection found as the actor's current batch is promoted, then filled with the next
        /// write and dropped. Promoted, it stays until the next gen1 collection and, through the card its store marked, keeps
        /// that write (events, their Persistent and AtomicWrite, payload arrays) alive through every young collection
        /// meanwhile: one write per persistent actor, ~0.3 KB, promoted by every young collection, whatever the load (issue 4:
        /// with the 1,024 binding buckets of then ~0.45 MB, and half of each young pause). Nothing reads the list after the replies.
        /// </summary>
        private static void ForgetBatch(IReadOnlyList<IPersistentEnvelope> envelopes)
        {
            if (envelopes is List<IPersistentEnvelope> batch)
                batch.Clear();
        }
    }

    /// <summary>Not reached (every WriteMessages is taken by <see cref="AroundReceive"/>); the same write, as a task, for the abstract contract.</summary>
    protected override async Task<IImmutableList<Exception?>?> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var envelopes = messages.ToList<IPersistentEnvelope>();
        var (rows, rejections) = Serialize(envelopes);
        if (rows.Count > 0)
            await _writer.Write(rows);
        return rejections?.ToImmutableList();
    }

    private JournalRow ToRow(IPersistentRepresentation representation, long now)
    {
        var (payload, tags) = representation.Payload is Tagged tagged
            ? (tagged.Payload, tagged.Tags.Count == 0 ? null : tagged.Tags)
            : (representation.Payload, (IReadOnlyCollection<string>?)null);
        var serializer = _serialization.FindSerializerFor(payload);
        var bytes = Akka.Serialization.Serialization.WithTransport(_serialization.System, (serializer, payload), s => s.serializer.ToBinary(s.payload));
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        return new JournalRow(representation.PersistenceId, representation.SequenceNr, bytes, manifest, serializer.Identifier,
            representation.WriterGuid, representation.Timestamp == 0 ? now : representation.Timestamp, tags);
    }

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        _writer.DeleteTo(persistenceId, toSequenceNr);

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0 || toSequenceNr < fromSequenceNr)
            return Task.CompletedTask;
        return Task.Run(() =>
        {
            using var connection = OpenReader();
            using var command = connection.CreateCommand();
            command.CommandText = JournalSchema.Replay;
            command.Parameters.AddWithValue("$id", persistenceId);
            command.Parameters.AddWithValue("$from", fromSequenceNr);
            command.Parameters.AddWithValue("$to", toSequenceNr);
            command.Parameters.AddWithValue("$max", max);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var manifest = reader.IsDBNull(2) ? "" : reader.GetString(2);
                var bytes = (byte[])reader.GetValue(1);
                var payload = reader.IsDBNull(3)
                    ? FromTypeName(bytes, manifest)
                    : _serialization.Deserialize(bytes, reader.GetInt32(3), manifest);
                recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, manifest, isDeleted: false, ActorRefs.NoSender,
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5)));
            }
        });
    }

    /// <summary>Rows without a serializer id (written by very old plugins) name their payload's type in the manifest.</summary>
    private object FromTypeName(byte[] bytes, string manifest)
    {
        var type = Type.GetType(manifest, throwOnError: true)!;
        return _serialization.FindSerializerForType(type).FromBinary(bytes, type);
    }

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) => Task.Run(() =>
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = JournalSchema.Highest;
        command.Parameters.AddWithValue("$id", persistenceId);
        return command.ExecuteScalar() is long highest ? highest : 0L;
    }, cancellationToken);

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_settings.ConnectionString);
        connection.Open();
        return connection;
    }
}
