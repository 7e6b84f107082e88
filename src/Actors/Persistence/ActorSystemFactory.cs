using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Pmip6Akka.Actors.Persistence;

/// <summary>Where a node keeps its state and how it is reached.</summary>
/// <param name="SqlitePath">SQLite database file for journal + snapshots (created if absent).</param>
/// <param name="Port">Remoting port on 127.0.0.1; 0 picks a free one.</param>
/// <param name="HoconPath">HOCON file; null uses the persistence.conf embedded in this assembly.</param>
/// <param name="Wal">Switch the SQLite file to WAL journal mode before starting (recommended).</param>
/// <param name="FullSync">
/// SQLite <c>synchronous</c>: false (NORMAL, the default) commits in WAL mode without an fsync per
/// transaction — durable across a crash of the daemon (SIGKILL included), while an OS crash or power
/// loss can lose the last commits; true (FULL) fsyncs every commit, at several times the cost per
/// registration on this machine's disk.
/// </param>
public sealed record NodeOptions(string SqlitePath, int Port = 0, string? HoconPath = null, bool Wal = true, bool FullSync = false)
{
    /// <summary>Cluster membership (hocon/cluster.conf); null: a one-node cluster on 127.0.0.1 that joins itself.</summary>
    public ClusterOptions? Cluster { get; init; }

    /// <summary>
    /// Npgsql connection string: journal and snapshots go to PostgreSQL (Akka.Persistence.Sql, provider
    /// PostgreSQL) and <see cref="SqlitePath"/> is not used; null keeps them in the SQLite file.
    /// </summary>
    public string? PostgresConnectionString { get; init; }
}

/// <summary>Builds the Config of an LMA node and starts it as a cluster member (one node by default).</summary>
public static class ActorSystemFactory
{
    private const string EmbeddedConf = "Pmip6Akka.Actors.hocon.persistence.conf";

    /// <summary>The embedded hocon/persistence.conf (same text as the file shipped beside the binaries).</summary>
    public static string DefaultHocon()
    {
        using var s = typeof(ActorSystemFactory).Assembly.GetManifestResourceStream(EmbeddedConf)
            ?? throw new InvalidOperationException($"missing embedded resource {EmbeddedConf}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>SQLite connection string for a file path (quoted: paths may contain ';').</summary>
    public static string SqliteConnectionString(string sqlitePath) =>
        new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(sqlitePath),
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadWriteCreate,
            // Let SQLite wait on a busy writer lock instead of failing (seconds).
            DefaultTimeout = 30,
        }.ToString();

    /// <summary>
    /// node overrides (port, store) ← cluster membership ← <paramref name="extra"/> ← HOCON file ← Akka.Persistence.Sql defaults.
    /// </summary>
    public static Config BuildConfig(NodeOptions options, Config? extra = null, string systemName = "pmip6-lma")
    {
        var hocon = options.HoconPath is null ? DefaultHocon() : File.ReadAllText(options.HoconPath);
        var postgres = options.PostgresConnectionString is not null;
        var cs = (options.PostgresConnectionString ?? SqliteConnectionString(options.SqlitePath)).Replace("\\", "\\\\").Replace("\"", "\\\"");
        var provider = postgres ? LinqToDB.ProviderName.PostgreSQL15 : LinqToDB.ProviderName.SQLiteMS;
        // SQLite: our journal (group commit); PostgreSQL: Akka.Persistence.Sql's, which several nodes can share.
        var journal = postgres ? "akka.persistence.journal.sql" : "akka.persistence.journal.sqlite";
        var node = ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp.port = {{options.Port}}
            akka.persistence.journal.plugin = "{{journal}}"
            akka.cluster.sharding.journal-plugin-id = "{{journal}}"
            akka.persistence.journal.sqlite.connection-string = "{{cs}}"
            akka.persistence.journal.sqlite.synchronous = "{{(options.FullSync ? "full" : "normal")}}"
            akka.persistence.journal.sql.provider-name = "{{provider}}"
            akka.persistence.journal.sql.connection-string = "{{cs}}"
            akka.persistence.snapshot-store.sql.provider-name = "{{provider}}"
            akka.persistence.snapshot-store.sql.connection-string = "{{cs}}"
            """);
        var config = options.Cluster is { } cluster ? node.WithFallback(cluster.ToConfig(systemName)) : node;
        if (extra is not null) config = config.WithFallback(extra);
        return config
            .WithFallback(ConfigurationFactory.ParseString(hocon))
            .WithFallback(SqlPersistence.DefaultConfiguration)
            // Sharding's and distributed data's serializers known from the start: a peer's replicator
            // gossip can arrive before this node has loaded those extensions.
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.DistributedData.DistributedData.DefaultConfig());
    }

    /// <summary>
    /// Starts the ActorSystem, joins it to itself (no seed nodes) or to its seed nodes, and waits until the
    /// member is Up.
    /// </summary>
    public static async Task<ActorSystem> StartAsync(
        string systemName, NodeOptions options, Config? extra = null, TimeSpan? upTimeout = null)
    {
        var setup = BootstrapSetup.Create().WithConfig(BuildConfig(options, extra, systemName));
        ActorSystem system;
        if (options.PostgresConnectionString is null)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(options.SqlitePath));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            if (options.Wal) EnableWal(options.SqlitePath);
            system = ActorSystem.Create(systemName, setup.And(new Akka.Persistence.Sql.Config.DataOptionsSetup(DataOptions(options))));
        }
        else
            system = ActorSystem.Create(systemName, setup);
        try
        {
            var cluster = Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            var seeds = options.Cluster?.SeedNodes ?? [];
            if (seeds.IsEmpty)
                cluster.Join(cluster.SelfAddress);
            else
                cluster.JoinSeedNodes(seeds.Select(s => Address.Parse(ClusterOptions.SeedAddress(systemName, s))));
            await up.Task.WaitAsync(upTimeout ?? TimeSpan.FromSeconds(20));
            return system;
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>
    /// The journal's and snapshot store's database access: SQLite through Microsoft.Data.Sqlite, with
    /// the synchronous level of <paramref name="options"/> set on every connection the plugin opens
    /// (Microsoft.Data.Sqlite has no connection-string key for it).
    /// </summary>
    public static LinqToDB.DataOptions DataOptions(NodeOptions options)
    {
        // No automatic checkpoint on these connections either: the journal's checkpoint thread owns that (WalCheckpointer).
        var pragma = $"PRAGMA synchronous = {(options.FullSync ? "FULL" : "NORMAL")}; PRAGMA wal_autocheckpoint = 0;";
        return LinqToDB.DataOptionsExtensions.UseAfterConnectionOpened(
            LinqToDB.DataOptionsExtensions.UseConnectionString(new LinqToDB.DataOptions(), LinqToDB.ProviderName.SQLiteMS, SqliteConnectionString(options.SqlitePath)),
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = pragma;
                command.ExecuteNonQuery();
            },
            async (connection, cancel) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = pragma;
                await command.ExecuteNonQueryAsync(cancel);
            });
    }

    /// <summary>
    /// WAL journal mode is a property of the database file; set it once before the plugin
    /// opens it (readers no longer block the writer, and commits fsync far less).
    /// </summary>
    public static void EnableWal(string sqlitePath)
    {
        using var conn = new Microsoft.Data.Sqlite.SqliteConnection(SqliteConnectionString(sqlitePath));
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL;";
        cmd.ExecuteScalar();
    }
}
