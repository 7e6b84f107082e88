using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Pmip6Akka.Actors.Persistence;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Pmip6Akka.Actors.Tests;

/// <summary>A temp directory holding one spec's SQLite file; deleted on dispose.</summary>
public sealed class TempDb : IDisposable
{
    public TempDb()
    {
        Dir = Path.Combine(Path.GetTempPath(), "pmip6-spec-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    public string Dir { get; }
    public string Path_ => System.IO.Path.Combine(Dir, "lma.db");

    public NodeOptions Node(int port = 0) => new(Path_, port);

    public List<(string PersistenceId, string Manifest, int SerializerId)> JournalRows()
    {
        using var conn = new SqliteConnection(ActorSystemFactory.SqliteConnectionString(Path_));
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT persistence_id, manifest, identifier FROM journal ORDER BY ordering";
        using var r = cmd.ExecuteReader();
        var rows = new List<(string, string, int)>();
        while (r.Read()) rows.Add((r.GetString(0), r.GetString(1), r.GetInt32(2)));
        return rows;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class SpecConfig
{
    /// <summary>Spec overrides: every message crosses the serializer; quiet logs.</summary>
    public static Config Strict(string stateStoreMode = "ddata") => ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.actor.serialize-messages = on
        akka.cluster.sharding.state-store-mode = {{stateStoreMode}}
        akka.actor.serializers.spec-local-ref = "Pmip6Akka.Actors.Tests.LocalReferenceSerializer, Pmip6Akka.Actors.Tests"
        akka.actor.serialization-bindings {
          "Akka.Persistence.Sql.Journal.Types.WriteFinished, Akka.Persistence.Sql" = spec-local-ref
        }
        """);
}
