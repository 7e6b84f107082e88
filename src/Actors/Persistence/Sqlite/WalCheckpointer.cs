// Checkpoints the journal's WAL on a thread of its own, so the writer never waits for a checkpoint's fsyncs (issue 4).
// SQLite's automatic checkpoint runs inside the commit that fills the WAL past 1000 pages: it copies ~4 MiB into the
// database file and syncs the WAL and the database, ~30 ms on this machine's disk, while every write queued behind that
// commit (and so every PBA) waits. Here every connection has the automatic checkpoint off, and this thread runs a PASSIVE
// checkpoint every interval: it copies and syncs without taking the write lock, so the writer keeps committing.
// A passive checkpoint alone never lets the WAL restart under steady load (the writer has always appended a few frames
// since), and the file would grow without end (measured: an earlier checkpoint thread made refresh p99 three times
// worse). So once the WAL holds wal-size-limit's worth of frames this thread asks the writer to finish the job: between two
// commits the writer checkpoints the frames appended since this thread's last pass (150-900 under load, seen with strace:
// a copy and two fsyncs during which no commit goes out), and its next commit starts the WAL from the beginning.
using Microsoft.Data.Sqlite;

namespace Pmip6Akka.Actors.Persistence.Sqlite;

internal sealed class WalCheckpointer : IDisposable
{
    /// <summary>Frames not yet copied that the writer may be left to copy (and sync) itself when it restarts the WAL.</summary>
    private const int SmallRemainder = 32;

    private readonly SqliteConnection _connection;
    private readonly Thread _thread;
    private readonly TimeSpan _interval;
    private readonly int _restartFrames;
    private readonly Action _askWriterToRestart;
    private readonly Action<string> _warn;
    private readonly ManualResetEventSlim _stop = new();
    private long _failures;
    private DateTime _lastWarning = DateTime.MinValue;

    /// <param name="askWriterToRestart">Called on this thread when the WAL is long enough to restart; the writer then checkpoints the rest itself.</param>
    /// <param name="warn">A failed checkpoint (logged at most once a minute; the next pass retries).</param>
    public WalCheckpointer(string connectionString, SqliteSync synchronous, TimeSpan interval, int restartFrames, Action askWriterToRestart, Action<string> warn)
    {
        _interval = interval > TimeSpan.Zero ? interval : throw new ArgumentOutOfRangeException(nameof(interval), "a positive interval");
        _restartFrames = restartFrames > 0 ? restartFrames : throw new ArgumentOutOfRangeException(nameof(restartFrames), "at least one frame");
        _askWriterToRestart = askWriterToRestart;
        _warn = warn;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        // The checkpoint syncs as the writer's commits do: NORMAL syncs the WAL and the database file at each checkpoint.
        Execute(synchronous == SqliteSync.Full ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
        Execute("PRAGMA wal_autocheckpoint = 0;");
        _thread = new Thread(Run) { IsBackground = true, Name = "journal-checkpoint" };
        _thread.Start();
    }

    /// <summary>Passes that failed (the database unreadable, the disk full).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>One PASSIVE checkpoint on <paramref name="connection"/>: (frames in the WAL, frames copied into the database), or null when busy.</summary>
    public static (long Log, long Checkpointed)? Passive(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.GetInt64(0) != 0)
            return null;
        return (reader.GetInt64(1), reader.GetInt64(2));
    }

    private void Run()
    {
        while (!_stop.Wait(_interval))
        {
            try
            {
                if (Passive(_connection) is not { } wal || wal.Log < _restartFrames)
                    continue; // busy (the writer's checkpoint is running), or not long enough to restart yet
                // Close in on the writer first, pass after pass, so what it has left to copy and sync is small (the fsyncs it
                // waits on are of what changed since this thread's last pass). Under steady load a pass (two fsyncs) lasts as
                // long as it takes the writer to append ~150 frames (strace, issue 4), so once a pass no longer shrinks the
                // remainder, more passes only cost fsyncs.
                for (var pass = 0; pass < 10 && wal.Log - wal.Checkpointed > SmallRemainder; pass++)
                {
                    if (Passive(_connection) is not { } closer || closer.Log - closer.Checkpointed >= wal.Log - wal.Checkpointed)
                        break;
                    wal = closer;
                }
                _askWriterToRestart();
            }
            catch (Exception e)
            {
                // Nothing else checkpoints: the writer is asked to try too (its commits go on either way), and the
                // failure is told at most once a minute. Never let an exception end this thread (or the process).
                Interlocked.Increment(ref _failures);
                _askWriterToRestart();
                if (DateTime.UtcNow - _lastWarning > TimeSpan.FromMinutes(1))
                {
                    _lastWarning = DateTime.UtcNow;
                    try
                    {
                        _warn($"journal WAL checkpoint failed ({Failures} so far; retried every {_interval.TotalMilliseconds:0} ms): {e.Message}");
                    }
                    catch (Exception)
                    {
                        // The log is gone (shutting down): the counter still holds it.
                    }
                }
            }
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (_stop.IsSet)
            return;
        _stop.Set();
        _thread.Join();
        _connection.Dispose();
        _stop.Dispose();
    }
}
