// The cluster failover spec on PostgreSQL (Akka.Persistence.Sql, provider PostgreSQL.15), the store a
// cluster of LMA nodes runs on. The spec starts its own server with scripts/postgres.sh (which installs
// PostgreSQL 15 with apt-get when it is missing) and always stops and removes it. A server that cannot
// be started fails the spec with the script's reason: it is never skipped.
using System.Diagnostics;
using Pmip6Akka.Actors.Persistence;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

/// <summary>A PostgreSQL server of scripts/postgres.sh in a temporary folder, for one spec class.</summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pmip6-pg-" + Guid.NewGuid().ToString("N"));

    public PostgresServer()
    {
        var (code, stdout, stderr) = Script("start");
        if (code != 0)
        {
            Script("stop");
            throw new InvalidOperationException($"scripts/postgres.sh start failed (exit {code}): {stderr.Trim()}");
        }
        ConnectionString = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        Assert.StartsWith("Host=127.0.0.1;", ConnectionString);
    }

    public string ConnectionString { get; }

    private static string ScriptPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pmip6Akka.sln")))
            dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), "scripts", "postgres.sh");
    }

    private (int Code, string Stdout, string Stderr) Script(string action)
    {
        var start = new ProcessStartInfo("bash", [ScriptPath(), action, _dir]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot run bash");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8))) // an apt-get install included
        {
            process.Kill(entireProcessTree: true);
            return (-1, stdout.Result, $"scripts/postgres.sh {action} timed out");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        var (code, _, stderr) = Script("stop");
        if (code != 0)
            throw new InvalidOperationException($"scripts/postgres.sh stop failed (exit {code}): {stderr.Trim()}");
    }
}

public sealed class ClusterFailoverPostgresSpec(PostgresServer postgres, ITestOutputHelper output)
    : ClusterFailoverSpecBase(output), IClassFixture<PostgresServer>
{
    private readonly string _unusedSqlite = Path.Combine(Path.GetTempPath(), $"pmip6-unused-{Guid.NewGuid():N}.db");

    protected override NodeOptions Store(int port) => new(_unusedSqlite, port) { PostgresConnectionString = postgres.ConnectionString };

    protected override IReadOnlySet<string> JournaledBuckets()
    {
        Assert.False(File.Exists(_unusedSqlite), "a SQLite file was created although the store is PostgreSQL");
        using var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand("SELECT DISTINCT persistence_id FROM journal WHERE persistence_id LIKE 'bce-bucket-%'", connection);
        using var reader = command.ExecuteReader();
        var ids = new HashSet<string>();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return ids;
    }

    [Fact]
    public Task Buckets_spread_over_three_nodes_and_a_killed_oldest_nodes_buckets_come_back_on_the_survivors_on_postgresql() =>
        Buckets_spread_over_three_nodes_and_a_killed_nodes_buckets_come_back_on_the_survivors(victimIndex: 0);
}
