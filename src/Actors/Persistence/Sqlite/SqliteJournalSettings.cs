using Akka.Configuration;

namespace Pmip6Akka.Actors.Persistence.Sqlite;

/// <summary>How SQLite commits: NORMAL (WAL write per commit, no fsync) or FULL (fsync per commit).</summary>
public enum SqliteSync
{
    Normal,
    Full,
}

/// <summary>The <c>akka.persistence.journal.sqlite</c> block, read once when the plugin starts.</summary>
/// <param name="CheckpointInterval">Zero: SQLite checkpoints the WAL on the writer's own commits (its default, every 1000 pages).
/// Else a thread of its own runs a passive checkpoint this often and the writer never does.</param>
public sealed record SqliteJournalSettings(string ConnectionString, SqliteSync Synchronous, bool AutoInitialize, int MaxRowsPerCommit,
    TimeSpan CheckpointInterval = default)
{
    public const string ConfigPath = "akka.persistence.journal.sqlite";

    /// <summary>Reads the plugin's own config block; a missing or wrong key fails with its path.</summary>
    public static SqliteJournalSettings Create(Config config)
    {
        string Key(string key) => $"{ConfigPath}.{key}";
        var connectionString = config.GetString("connection-string", "");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ConfigurationException($"{Key("connection-string")}: a Microsoft.Data.Sqlite connection string is required");
        var synchronous = config.GetString("synchronous", "normal") switch
        {
            "normal" => SqliteSync.Normal,
            "full" => SqliteSync.Full,
            var other => throw new ConfigurationException($"{Key("synchronous")}: expected \"normal\" or \"full\", got \"{other}\""),
        };
        var maxRows = config.GetInt("max-rows-per-commit", 0);
        if (maxRows is < 1 or > 1_000_000)
            throw new ConfigurationException($"{Key("max-rows-per-commit")}: expected 1-1000000, got {maxRows}");
        var checkpoint = config.GetString("background-checkpoint-interval", "off") is "off" or "" ? TimeSpan.Zero
            : config.GetTimeSpan("background-checkpoint-interval", TimeSpan.Zero);
        if (checkpoint < TimeSpan.Zero || checkpoint > TimeSpan.FromMinutes(1))
            throw new ConfigurationException($"{Key("background-checkpoint-interval")}: expected off or a duration up to 1 min, got {checkpoint}");
        return new SqliteJournalSettings(connectionString, synchronous, config.GetBoolean("auto-initialize", true), maxRows, checkpoint);
    }
}
