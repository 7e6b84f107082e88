// The LMA and MAG daemons in two network namespaces, talking Mobility Header over raw sockets.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Tests.Linux;

namespace Pmip6Akka.EndToEnd.Tests;

public sealed class DaemonsSpec : IDisposable
{
    private readonly DaemonDomain _domain = new();

    public void Dispose() => _domain.Dispose();

    [Fact]
    public void A_mag_daemon_registers_a_mobile_node_with_the_lma_daemon_over_raw_sockets()
    {
        _domain.StartLma();
        _domain.StartMag();
        _domain.Attach("mn1@pmip6.example");

        DaemonDomain.Eventually(() => Assert.True(_domain.LmaBindings().ContainsKey("mn1@pmip6.example")), TimeSpan.FromSeconds(15));
        var binding = _domain.LmaStatus().GetProperty("bindings")[0];
        Assert.Equal(DaemonDomain.MagAddress, binding.GetProperty("proxyCoa").GetString());
        Assert.Equal("registered", binding.GetProperty("state").GetString());
        var prefix = binding.GetProperty("hnps")[0].GetString()!;
        Assert.True(Pmip6Akka.Dataplane.Wire.Ipv6Prefix.Parse("2001:db8:a000::/40").Contains(Pmip6Akka.Dataplane.Wire.Ipv6Prefix.Parse(prefix).Address), prefix);
        DaemonDomain.Eventually(() => Assert.Equal(prefix, _domain.MagRegistered()["mn1@pmip6.example"]), TimeSpan.FromSeconds(5));

        var metrics = _domain.Http(_domain.LmaNamespace, DaemonDomain.LmaHttp, "GET", "/metrics").Body;
        Assert.Contains("pmip6_lma_bindings 1", metrics);
        // At least one accepting PBA (a slow first answer may have been asked for twice).
        Assert.Matches(@"pmip6_lma_pba_sent_total\{status=""0""\} [1-9]", metrics);
    }

    [Fact]
    public void The_operator_verbs_attach_status_and_revoke_work_against_the_daemons()
    {
        _domain.StartLma();
        _domain.StartMag();
        var attach = _domain.Cli(_domain.MagNamespace, "attach", "mn1@pmip6.example", "--link-layer-id", "020000000101");
        Assert.Equal(0, attach.ExitCode);
        DaemonDomain.Eventually(() => Assert.True(_domain.LmaBindings().ContainsKey("mn1@pmip6.example")), TimeSpan.FromSeconds(15));

        var status = _domain.Cli(_domain.LmaNamespace, "status");
        Assert.Equal(0, status.ExitCode);
        var row = Assert.Single(status.Out.Split('\n'), line => line.StartsWith("mn1@pmip6.example"));
        Assert.Contains(DaemonDomain.MagAddress, row);
        Assert.Contains("registered", row);
        Assert.Contains("1 mobile nodes, 1 sessions", status.Out);
        var json = _domain.Cli(_domain.MagNamespace, "status", "--json", "--endpoint", $"http://127.0.0.1:{DaemonDomain.MagHttp}");
        Assert.Equal(0, json.ExitCode);
        Assert.Equal("mag", System.Text.Json.JsonDocument.Parse(json.Out).RootElement.GetProperty("role").GetString());

        Assert.Equal(0, _domain.Cli(_domain.LmaNamespace, "revoke", "mn1@pmip6.example").ExitCode);
        DaemonDomain.Eventually(() => Assert.Empty(_domain.LmaBindings()), TimeSpan.FromSeconds(10));
        var again = _domain.Cli(_domain.LmaNamespace, "revoke", "mn1@pmip6.example");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("has no binding", again.Err);
        var unreachable = _domain.Cli(_domain.LmaNamespace, "status", "--endpoint", "http://127.0.0.1:1");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.Err);
    }

    [Fact]
    public void Malformed_mobility_headers_are_dropped_and_counted_by_reason_and_the_lma_keeps_serving()
    {
        _domain.StartLma();
        _domain.StartMag();
        _domain.SendRawToLma(
            Convert.FromHexString("3B05050000000007820003840102000000000000"), // Header Len beyond the packet
            Convert.FromHexString("3B01050000000007820003840828016101020000"), // an option longer than the header
            Convert.FromHexString("3B0063000000000000000000000000000000"),     // an unknown MH type
            Convert.FromHexString("0601050000000007820003840102000000000000")); // payload proto not 59
        DaemonDomain.Eventually(() =>
        {
            var metrics = _domain.Http(_domain.LmaNamespace, DaemonDomain.LmaHttp, "GET", "/metrics").Body;
            Assert.Contains("pmip6_lma_mh_decode_errors_total{reason=\"length-overrun\"} 2", metrics);
            Assert.Contains("pmip6_lma_mh_decode_errors_total{reason=\"unknown-mandatory-field\"} 1", metrics);
            Assert.Contains("pmip6_lma_mh_decode_errors_total{reason=\"bad-value\"} 1", metrics);
        }, TimeSpan.FromSeconds(10));

        _domain.Attach("mn1@pmip6.example");
        DaemonDomain.Eventually(() => Assert.True(_domain.LmaBindings().ContainsKey("mn1@pmip6.example")), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void A_flood_from_a_mag_is_held_to_its_rate_on_the_receive_thread_and_the_mag_is_served_again_after_it()
    {
        _domain.StartLma();
        _domain.StartMag();
        // 20,000 messages as fast as one socket sends them: far past the per-MAG burst (5,000) and rate (5,000/s).
        var junk = Convert.FromHexString("3B0063000000000000000000000000000000"); // an unknown MH type: cheap to send, counted if admitted
        _domain.SendRawToLma([.. Enumerable.Repeat(junk, 20_000)]);
        DaemonDomain.Eventually(() =>
        {
            var metrics = _domain.Http(_domain.LmaNamespace, DaemonDomain.LmaHttp, "GET", "/metrics").Body;
            var limited = System.Text.RegularExpressions.Regex.Match(metrics, @"pmip6_lma_mh_rate_limited_total\{scope=""peer""\} (\d+)");
            Assert.True(limited.Success && long.Parse(limited.Groups[1].Value) >= 5_000, "the flood was not limited: " +
                string.Join(" ", metrics.Split('\n').Where(l => l.Contains("rate_limited") || l.Contains("mh_received"))));
        }, TimeSpan.FromSeconds(10));

        _domain.Attach("mn1@pmip6.example"); // the same MAG, once the flood is over
        DaemonDomain.Eventually(() => Assert.True(_domain.LmaBindings().ContainsKey("mn1@pmip6.example")), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void An_unknown_mobile_node_is_refused_with_153_and_counted()
    {
        _domain.StartLma();
        _domain.StartMag();
        _domain.Attach("stranger@elsewhere.example");
        DaemonDomain.Eventually(() =>
            Assert.Contains("pmip6_lma_pba_sent_total{status=\"153\"} 1", _domain.Http(_domain.LmaNamespace, DaemonDomain.LmaHttp, "GET", "/metrics").Body),
            TimeSpan.FromSeconds(15));
        Assert.Empty(_domain.LmaBindings());
    }

    [Fact]
    public void Revocation_through_the_lma_endpoint_removes_the_binding_at_both_daemons()
    {
        _domain.StartLma();
        _domain.StartMag();
        _domain.Attach("mn1@pmip6.example");
        DaemonDomain.Eventually(() => Assert.True(_domain.MagRegistered().ContainsKey("mn1@pmip6.example")), TimeSpan.FromSeconds(15));

        var (status, body) = _domain.Http(_domain.LmaNamespace, DaemonDomain.LmaHttp, "POST", "/revoke?mn-id=mn1%40pmip6.example");
        Assert.Equal(200, status);
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("sessions").GetInt32());
        DaemonDomain.Eventually(() => Assert.Empty(_domain.MagStatus().GetProperty("bindingUpdateList").EnumerateArray()), TimeSpan.FromSeconds(10));
        Assert.Empty(_domain.LmaBindings());
    }

    [Fact]
    public void An_lma_killed_with_sigkill_under_load_keeps_every_acknowledged_binding_and_never_reassigns_a_prefix()
    {
        const int mobileNodes = 150;
        _domain.StartLma();
        _domain.StartMag();
        for (var i = 0; i < mobileNodes; i++)
        {
            _domain.Attach($"mn{i}@load.pmip6.example");
            if (i == mobileNodes / 2)
                DaemonDomain.Eventually(() => Assert.True(_domain.MagRegistered().Count >= 20), TimeSpan.FromSeconds(15));
        }

        _domain.KillLma(); // while registrations are still in flight
        var acknowledged = _domain.MagRegistered(); // PBAs received before the kill
        Assert.NotEmpty(acknowledged);

        _domain.StartLma();
        DaemonDomain.Eventually(() => // remembered entities recover from the journal
        {
            var recovered = _domain.LmaBindings();
            foreach (var (mn, prefix) in acknowledged)
                Assert.True(recovered.TryGetValue(mn, out var after) && after == prefix, $"{mn} lost its binding {prefix} in the crash");
        }, TimeSpan.FromSeconds(30));

        // The MAG retransmits what was in flight and re-registers on the new restart counter: everyone ends up bound.
        DaemonDomain.Eventually(() => Assert.Equal(mobileNodes, _domain.LmaBindings().Count), TimeSpan.FromSeconds(60));
        var final = _domain.LmaBindings();
        Assert.Equal(final.Count, final.Values.Distinct().Count());
        foreach (var (mn, prefix) in acknowledged)
            Assert.Equal(prefix, final[mn]);
        DaemonDomain.Eventually(() => Assert.Equal(mobileNodes, _domain.MagRegistered().Count), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void An_lma_refuses_at_start_a_store_written_with_another_bucket_layout()
    {
        _domain.StartLma(); // creates the store
        _domain.KillLma();
        // What an LMA of the former layout (1,024 buckets) left: no layout record, events of a bucket this layout does not have.
        using (var store = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_domain.LmaStore};Pooling=False"))
        {
            store.Open();
            using var insert = store.CreateCommand();
            insert.CommandText = "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
                                 "SELECT created, deleted, 'bce-bucket-700', 1, message, manifest, identifier, writer_uuid FROM journal LIMIT 1";
            Assert.Equal(1, insert.ExecuteNonQuery());
            using var forget = store.CreateCommand();
            forget.CommandText = $"DELETE FROM journal WHERE persistence_id = '{Pmip6Akka.Actors.Lma.BucketLayout.RecordId}'";
            Assert.Equal(1, forget.ExecuteNonQuery()); // the new store recorded its layout at its first start
        }

        var (code, output, error) = _domain.Cli(_domain.LmaNamespace, "lma", "--config", _domain.LmaConfig);

        Assert.NotEqual(0, code);
        Assert.Contains($"cannot be served by this LMA ({Pmip6Akka.Actors.Lma.BindingBuckets.Count} binding buckets): it holds events of ", output + error);
        Assert.Contains($"but no record of a {Pmip6Akka.Actors.Lma.BindingBuckets.Count}-bucket layout", output + error);
    }

    [Fact]
    public void The_namespaces_are_gone_after_the_domain_is_disposed()
    {
        var names = new[] { _domain.LmaNamespace, _domain.MagNamespace };
        _domain.Dispose();
        Assert.DoesNotContain(NetworkNamespaces.List(), n => names.Contains(n));
    }
}
