// The journal's only writer: one thread, one connection, prepared statements, group commit. Every write
// request (the rows of one WriteMessages, or one delete) queues here; the thread takes everything that
// is waiting (up to max-rows-per-commit rows) into one transaction and completes each request only after
// its COMMIT returned, so an acknowledged event is in the WAL file — it survives a crash of the process
// (SIGKILL included) with synchronous = NORMAL, and a power loss too with FULL.
// A write's completion runs on this thread, right after the COMMIT (SqliteJournal uses it to tell the
// persistent actor itself, without a thread-pool continuation or another actor in between).
// When a grouped transaction fails (a duplicate sequence number, say), it is rolled back and its requests
// are replayed one transaction each, so only the request at fault fails.
// Checkpoints: not on this thread's commits (wal_autocheckpoint off). WalCheckpointer copies and syncs on a thread of
// its own; once the WAL is long, it asks this thread to checkpoint the last few frames between two groups, so the
// next commit restarts the WAL (see WalCheckpointer for why both).
// The WAL file never shrinks by itself: a checkpoint that cannot restart it (the snapshot store's connection
// reading or writing at that moment) lets the next commits append, and the file keeps its largest size ever.
// journal_size_limit truncates it back to twice wal-size-limit whenever the writer restarts it.
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Pmip6Akka.Actors.Persistence.Sqlite;

/// <summary>One event as the journal stores it.</summary>
internal readonly record struct JournalRow(
    string PersistenceId, long SequenceNr, byte[] Message, string Manifest, int SerializerId, string? WriterUuid, long Created,
    IReadOnlyCollection<string>? Tags);

internal sealed class JournalWriter : IDisposable
{
    private abstract class Request
    {
        public abstract int Rows { get; }
        /// <summary>Runs on the writer thread: null once committed, else why not.</summary>
        public abstract void Complete(Exception? error);
    }

    private sealed class Insert(List<JournalRow> rows, Action<Exception?> completed) : Request
    {
        public readonly List<JournalRow> Batch = rows;
        public override int Rows => Batch.Count;
        public override void Complete(Exception? error) => completed(error);
    }

    private sealed class Delete(string persistenceId, long toSequenceNr) : Request
    {
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly string PersistenceId = persistenceId;
        public readonly long ToSequenceNr = toSequenceNr;
        public override int Rows => 1;

        public override void Complete(Exception? error)
        {
            if (error is null)
                Done.TrySetResult();
            else
                Done.TrySetException(error);
        }
    }

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _insert, _insertTag, _begin, _commit, _rollback;
    private readonly int _maxRows;
    private readonly object _sync = new();
    private readonly Queue<Request> _queue = new();
    private readonly List<Request> _group = [];
    private readonly Thread _thread;
    private readonly WalCheckpointer _checkpointer;
    private volatile bool _restartWanted;
    private long _restarts;
    private bool _stopping;

    /// <param name="warn">Where a failed checkpoint is reported (the journal's log); nowhere by default.</param>
    public JournalWriter(SqliteJournalSettings settings, Action<string>? warn = null)
    {
        _maxRows = settings.MaxRowsPerCommit;
        _connection = new SqliteConnection(settings.ConnectionString);
        _connection.Open();
        Execute("PRAGMA journal_mode = WAL;");
        // The snapshot store writes to the same file: wait for its lock (SQLite's own busy handler, which
        // the raw statements below use too; Microsoft.Data.Sqlite's retry covers only its own commands).
        Execute("PRAGMA busy_timeout = 30000;");
        Execute(settings.Synchronous == SqliteSync.Full ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
        // Truncated only past twice the restart size: a restart at the limit finds the file just past it, and truncating it
        // cost the writer 3-6 ms every time (strace, issue 4); a restart that was held up and let the file grow still shrinks it.
        // (0 keeps its meaning: truncated to nothing at every restart.)
        Execute($"PRAGMA journal_size_limit = {(settings.WalSizeLimit > 0 ? 2 * settings.WalSizeLimit : settings.WalSizeLimit)};");
        Execute("PRAGMA wal_autocheckpoint = 0;");
        if (settings.AutoInitialize)
            Execute(JournalSchema.Create);
        _insert = Prepare(JournalSchema.Insert);
        _insertTag = Prepare(JournalSchema.InsertTag);
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
        // The checkpoint thread first: if it cannot start, no writer thread is left parked behind a failed constructor.
        _checkpointer = new WalCheckpointer(settings.ConnectionString, settings.Synchronous, CheckpointInterval, RestartFrames(settings.WalSizeLimit),
            () => _restartWanted = true, warn ?? (_ => { }));
        _thread = new Thread(Run) { IsBackground = true, Name = "journal-writer" };
        _thread.Start();
    }

    /// <summary>
    /// WAL frames after which the WAL is restarted: wal-size-limit's worth (no limit: the default's), at least 256. Each
    /// restart makes the writer copy what the checkpoint thread has not (its passes never close in below the ~150 frames
    /// appended while one runs) and wait for both files' fsyncs: ~25 ms under strace on this machine's disk. So not too
    /// often: at 10,000 refreshes/s the WAL grows ~30 MB/s (every small commit writes whole pages), so the default 256 MiB
    /// is one restart every ~8 s (64 MiB: every ~2 s, and refresh p99 13.0 ms against 6.4; issue 4).
    /// </summary>
    private int RestartFrames(long walSizeLimit)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA page_size;";
        var pageSize = Math.Max(512L, (long)command.ExecuteScalar()!);
        var bytes = walSizeLimit > 0 ? walSizeLimit : SqliteJournalSettings.DefaultWalSizeLimit;
        return (int)Math.Clamp(bytes / pageSize, 256, int.MaxValue);
    }

    /// <summary>How often the checkpoint thread copies the WAL into the database file.</summary>
    internal static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Restarts of the WAL this thread prepared (each one a checkpoint that left nothing to copy).</summary>
    internal long WalRestarts => Interlocked.Read(ref _restarts);

    /// <summary>
    /// Queues <paramref name="rows"/>; <paramref name="completed"/> runs on the writer thread once they are committed
    /// (null) or could not be (the exception). It must be short and must not block: the next group waits for it.
    /// </summary>
    public void Write(List<JournalRow> rows, Action<Exception?> completed)
    {
        if (!TryEnqueue(new Insert(rows, completed)))
            completed(Stopping());
    }

    /// <summary>Completes once every row is committed; faults when they could not be.</summary>
    public Task Write(List<JournalRow> rows)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Write(rows, error =>
        {
            if (error is null)
                done.TrySetResult();
            else
                done.TrySetException(error);
        });
        return done.Task;
    }

    /// <summary>Deletes a persistence id's events up to <paramref name="toSequenceNr"/>, keeping its highest sequence number.</summary>
    public Task DeleteTo(string persistenceId, long toSequenceNr)
    {
        var delete = new Delete(persistenceId, toSequenceNr);
        return TryEnqueue(delete) ? delete.Done.Task : Task.FromException(Stopping());
    }

    private static ObjectDisposedException Stopping() => new(nameof(JournalWriter), "the journal is stopping");

    private bool TryEnqueue(Request request)
    {
        lock (_sync)
        {
            if (_stopping)
                return false;
            _queue.Enqueue(request);
            if (_queue.Count == 1)
                Monitor.Pulse(_sync);
        }
        return true;
    }

    private void Run()
    {
        while (true)
        {
            _group.Clear();
            lock (_sync)
            {
                while (_queue.Count == 0 && !_stopping)
                    Monitor.Wait(_sync);
                if (_queue.Count == 0)
                    return;
                var rows = 0;
                while (_queue.TryPeek(out var next) && (_group.Count == 0 || rows + next.Rows <= _maxRows))
                {
                    _group.Add(_queue.Dequeue());
                    rows += next.Rows;
                }
            }
            if (_restartWanted)
                PrepareRestart();
            try
            {
                Commit(_group);
                foreach (var request in _group)
                    Finish(request, null);
            }
            catch (Exception) when (_group.Count > 1)
            {
                foreach (var request in _group)
                    CommitAlone(request);
            }
            catch (Exception e)
            {
                Finish(_group[0], e);
            }
        }
    }

    /// <summary>
    /// Checkpoints what the checkpoint thread has not copied yet (the frames of its last ~interval), so the next commit
    /// finds the WAL fully copied and starts it from the beginning. Once per request: when it cannot copy everything (the
    /// checkpoint thread is at it, a reader holds old frames) the checkpoint thread asks again on its next pass, rather
    /// than every group paying for a checkpoint meanwhile.
    /// </summary>
    private void PrepareRestart()
    {
        _restartWanted = false;
        try
        {
            if (WalCheckpointer.Passive(_connection) is { } wal && wal.Log == wal.Checkpointed)
                Interlocked.Increment(ref _restarts);
        }
        catch (SqliteException)
        {
            // The checkpoint thread counts and reports what fails; the commit that follows reports its own error.
        }
    }

    /// <summary>A completion that throws must not stop the writer (nor fail the requests grouped with it).</summary>
    private static void Finish(Request request, Exception? error)
    {
        try
        {
            request.Complete(error);
        }
        catch (Exception)
        {
            // The request's own completion failed after its outcome was decided; nothing is left to tell.
        }
    }

    private void CommitAlone(Request request)
    {
        try
        {
            Commit([request]);
        }
        catch (Exception e)
        {
            Finish(request, e);
            return;
        }
        Finish(request, null);
    }

    private void Commit(List<Request> group)
    {
        Step(_begin);
        try
        {
            foreach (var request in group)
            {
                if (request is Insert insert)
                    foreach (var row in insert.Batch)
                        InsertRow(row);
                else if (request is Delete delete)
                    DeleteRows(delete.PersistenceId, delete.ToSequenceNr);
            }
            Step(_commit);
        }
        catch
        {
            if (raw.sqlite3_get_autocommit(_connection.Handle) == 0)
                Step(_rollback);
            throw;
        }
    }

    private void InsertRow(in JournalRow row)
    {
        raw.sqlite3_bind_int64(_insert, 1, row.Created);
        raw.sqlite3_bind_text(_insert, 2, row.PersistenceId);
        raw.sqlite3_bind_int64(_insert, 3, row.SequenceNr);
        raw.sqlite3_bind_blob(_insert, 4, row.Message);
        raw.sqlite3_bind_text(_insert, 5, row.Manifest);
        raw.sqlite3_bind_int(_insert, 6, row.SerializerId);
        if (row.WriterUuid is null)
            raw.sqlite3_bind_null(_insert, 7);
        else
            raw.sqlite3_bind_text(_insert, 7, row.WriterUuid);
        Step(_insert);
        if (row.Tags is null)
            return;
        foreach (var tag in row.Tags)
        {
            raw.sqlite3_bind_text(_insertTag, 1, tag);
            raw.sqlite3_bind_int64(_insertTag, 2, row.SequenceNr);
            raw.sqlite3_bind_text(_insertTag, 3, row.PersistenceId);
            Step(_insertTag);
        }
    }

    private void DeleteRows(string persistenceId, long toSequenceNr)
    {
        using var highest = _connection.CreateCommand();
        highest.CommandText = JournalSchema.HighestUpTo;
        highest.Parameters.AddWithValue("$id", persistenceId);
        highest.Parameters.AddWithValue("$to", toSequenceNr);
        if (highest.ExecuteScalar() is not long max)
            return;
        foreach (var sql in (ReadOnlySpan<string>)[JournalSchema.MarkDeleted, JournalSchema.DeleteBelow, JournalSchema.DeleteTagsBelow])
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$id", persistenceId);
            command.Parameters.AddWithValue("$max", max);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Runs a prepared statement to its end and resets it; an error throws <see cref="SqliteException"/>.</summary>
    private void Step(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v2(_connection.Handle, sql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        return statement;
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Commits what is queued, then stops the thread and closes the connection.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_stopping)
                return;
            _stopping = true;
            Monitor.Pulse(_sync);
        }
        _thread.Join();
        _checkpointer.Dispose();
        foreach (var statement in (ReadOnlySpan<sqlite3_stmt>)[_insert, _insertTag, _begin, _commit, _rollback])
            statement.Dispose();
        _connection.Dispose();
    }
}
