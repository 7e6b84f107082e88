using Akka.Configuration;

namespace Pmip6Akka.Actors.Persistence.Sqlite;

/// <summary>How SQLite commits: NORMAL (WAL write per commit, no fsync) or FULL (fsync per commit).</summary>
public enum SqliteSync
{
    Normal,
    Full,
}

/// <summary>The <c>akka.persistence.journal.sqlite</c> block, read once when the plugin starts.</summary>
/// <param name="WalSizeLimit">
/// WAL bytes after which the writer restarts the WAL; at a restart the file is truncated back to twice this (it never shrinks
/// otherwise; 0: truncated to nothing at every restart, and the restart at the default size).
/// </param>
public sealed record SqliteJournalSettings(string ConnectionString, SqliteSync Synchronous, bool AutoInitialize, int MaxRowsPerCommit,
    long WalSizeLimit = SqliteJournalSettings.DefaultWalSizeLimit)
{
    public const string ConfigPath = "akka.persistence.journal.sqlite";
    public const long DefaultWalSizeLimit = 256L << 20;

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
        var walLimit = config.GetByteSize("wal-size-limit") ?? DefaultWalSizeLimit;
        if (walLimit is < 0 or > 1L << 40)
            throw new ConfigurationException($"{Key("wal-size-limit")}: expected a size from 0 to 1 TiB, got {walLimit} bytes");
        return new SqliteJournalSettings(connectionString, synchronous, config.GetBoolean("auto-initialize", true), maxRows, walLimit);
    }
}
