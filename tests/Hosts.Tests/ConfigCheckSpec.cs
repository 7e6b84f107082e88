// `pmip6 config check` and the daemons' start-up: a wrong or missing key is named in one line, exit 78.
namespace Pmip6Akka.Hosts.Tests;

public sealed class ConfigCheckSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Shipped(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pmip6Akka.sln")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "hocon", name);
    }

    private string Variant(string name, string from, string to) => Variant(name, [from, to]);

    /// <summary>A copy of a shipped file (beside copies of the files it names) with each (from, to) pair replaced.</summary>
    private string Variant(string name, string[] edits)
    {
        foreach (var beside in new[] { "policies.conf", "cluster.conf" })
            if (beside != name)
                File.Copy(Shipped(beside), Path.Combine(_dir, beside), overwrite: true);
        var text = File.ReadAllText(Shipped(name));
        for (var i = 0; i < edits.Length; i += 2)
        {
            Assert.Contains(edits[i], text);
            text = text.Replace(edits[i], edits[i + 1]);
        }
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("lma.conf")]
    [InlineData("mag.conf")]
    [InlineData("policies.conf")]
    [InlineData("cluster.conf")]
    public void The_shipped_configuration_files_check_out(string name)
    {
        var run = Cli.Run("config", "check", Shipped(name));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(": ok", run.Out);
    }

    [Theory]
    [InlineData("lma.conf", "prefix-length = 64", "prefix-length = 300", "pmip6.lma.prefix-length")]
    [InlineData("lma.conf", "address = \"2001:db8:100::1\"", "address = \"not-an-address\"", "pmip6.lma.address")]
    [InlineData("lma.conf", "timestamp-validity-window = 300ms", "timestamp-validity-window = soon", "pmip6.lma.timestamp-validity-window")]
    [InlineData("lma.conf", "prefix-pool = \"2001:db8:a000::/40\"", "prefix-pool = \"2001:db8:a000::/60\"", "pmip6.lma.prefix-pool")]
    [InlineData("lma.conf", "authorized-mags = [\"2001:db8:1::2\", \"2001:db8:2::2\"]", "authorized-mags = [\"2001:db8:1::2\", \"mag2\"]", "pmip6.lma.authorized-mags[1]")]
    [InlineData("lma.conf", "store-sync = \"normal\"", "store-sync = \"sometimes\"", "pmip6.lma.store-sync")]
    [InlineData("mag.conf", "access-technology = \"802.3\"", "access-technology = \"carrier-pigeon\"", "pmip6.mag.access-technology")]
    [InlineData("mag.conf", "lma = \"2001:db8:100::1\"", "", "pmip6.mag.lma")]
    [InlineData("lma.conf", "downlink = \"forward\"", "downlink = \"sideways\"", "pmip6.lma.context-reflector.downlink")]
    [InlineData("lma.conf", "retransmit-max = 4s", "retransmit-max = 10ms", "pmip6.lma.context-reflector.retransmit-max")]
    [InlineData("mag.conf", "aaa-delay = 0s", "aaa-delay = 2h", "pmip6.mag.aaa-delay")]
    [InlineData("lma.conf", "others-rate = 200", "others-rate = -5", "pmip6.lma.admission.others-rate")]
    [InlineData("mag.conf", "global-burst = 20000", "global-burst = plenty", "pmip6.mag.admission.global-burst")]
    [InlineData("lma.conf", "max-queued-messages = 8192", "max-queued-messages = 0", "pmip6.lma.admission.max-queued-messages")]
    [InlineData("lma.conf", "snapshot-every = 8000", "snapshot-every = 1", "pmip6.lma.snapshot-every")]
    [InlineData("mag.conf", "max-queued-messages = 8192", "max-queued-messages = many", "pmip6.mag.admission.max-queued-messages")]
    [InlineData("lma.conf", "required = on", "required = maybe", "pmip6.lma.security.required")]
    [InlineData("mag.conf", "replay-window = 1s", "replay-window = forever", "pmip6.mag.security.replay-window")]
    [InlineData("mag.conf", "keys-file = \"\"", "keys-file = \"no-such-keys.conf\"", "pmip6.mag.security.keys-file")]
    [InlineData("lma.conf", "initiate-max-attempts = 5", "initiate-max-attempts = 50", "pmip6.lma.flow-mobility.initiate-max-attempts")]
    [InlineData("lma.conf", "initiate-retransmit-max = 4s", "initiate-retransmit-max = 10ms", "pmip6.lma.flow-mobility.initiate-retransmit-max")]
    [InlineData("lma.conf", "max-flows = 65536", "max-flows = lots", "pmip6.lma.flow-mobility.max-flows")]
    [InlineData("lma.conf", "flow-idle-timeout = 30s", "flow-idle-timeout = 0s", "pmip6.lma.flow-mobility.flow-idle-timeout")]
    [InlineData("lma.conf", "loss-threshold-percent = 5", "loss-threshold-percent = 0", "pmip6.lma.flow-mobility.loss-threshold-percent")]
    [InlineData("lma.conf", "loss-devices = []", "loss-devices = [ { mag = \"2001:db8:ff::1:2\", device = \"eth/2\" } ]", "pmip6.lma.flow-mobility.loss-devices[0].device")]
    [InlineData("lma.conf", "loss-devices = []", "loss-devices = [ { mag = \"not-an-address\", device = \"eth2\" } ]", "pmip6.lma.flow-mobility.loss-devices[0].mag")]
    [InlineData("lma.conf", "loss-interval = 1s", "loss-interval = 10ms", "pmip6.lma.flow-mobility.loss-interval")]
    [InlineData("lma.conf", "max-routes-per-mn = 64", "max-routes-per-mn = -1", "pmip6.lma.flow-mobility.max-routes-per-mn")]
    [InlineData("lma.conf", "format = \"text\"", "format = \"xml\"", "pmip6.lma.log.format")]
    [InlineData("mag.conf", "level = \"info\"", "level = \"chatty\"", "pmip6.mag.log.level")]
    [InlineData("mag.conf", "revoke-bindings = on", "revoke-bindings = sometimes", "pmip6.mag.shutdown.revoke-bindings")]
    [InlineData("mag.conf", "timeout = 20s", "timeout = 0s", "pmip6.mag.shutdown.timeout")]
    [InlineData("lma.conf", "timeout = 20s", "timeout = 20s, revoke-bindings = on", "pmip6.lma.shutdown.revoke-bindings")]
    [InlineData("policies.conf", "mn-id = \"mn1@pmip6.example\"", "mn-id = \"mn1@pmip6.example\", mn-id-suffix = \"@pmip6.example\"", "pmip6.policies.profiles[].mn-id-suffix")]
    public void A_wrong_or_missing_key_is_named_with_exit_78(string file, string from, string to, string key)
    {
        var path = Variant(file, from, to);
        var check = Cli.Run("config", "check", path);
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}:", check.Err);
        Assert.Single(check.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        if (file is "policies.conf")
            return; // read by both daemons through their policy-file
        var daemon = Cli.Run(file.Split('.')[0], "--config", path); // the daemon refuses to start the same way
        Assert.Equal(78, daemon.ExitCode);
    }

    [Theory]
    [InlineData("lma.conf", "store-sync = \"normal\"", "store-sinc = \"full\"", "pmip6.lma.store-sinc", "did you mean pmip6.lma.store-sync?")]
    [InlineData("lma.conf", "max-flows = 65536", "max-flows = 65536\n    max-flow = 10", "pmip6.lma.flow-mobility.max-flow", "did you mean pmip6.lma.flow-mobility.max-flows?")]
    [InlineData("lma.conf", "store-sync = \"normal\"", "store-sync = \"normal\"\n  store-checkpoint = \"writer\"", "pmip6.lma.store-checkpoint", "this version reads no such key")]
    [InlineData("mag.conf", "aaa-delay = 0s", "aaa-delay = 0s\n  colour = \"blue\"", "pmip6.mag.colour", "this version reads no such key)")]
    [InlineData("lma.conf", "loss-devices = []", "loss-devices = [ { mag = \"2001:db8:ff::1:2\", device = \"eth2\", devise = \"eth3\" } ]", "pmip6.lma.flow-mobility.loss-devices[0].devise", "did you mean pmip6.lma.flow-mobility.loss-devices[0].device?")]
    [InlineData("policies.conf", "hnp-count = 1", "hnp-cont = 1", "pmip6.policies.profiles[0].hnp-cont", "did you mean pmip6.policies.profiles[0].hnp-count?")]
    [InlineData("policies.conf", "traffic-class = 46", "trafic-class = 46", "pmip6.policies.profiles[0].qos.trafic-class", "did you mean pmip6.policies.profiles[0].qos.traffic-class?")]
    public void A_key_the_daemon_does_not_read_is_named_with_exit_78_not_ignored(string file, string from, string to, string key, string says)
    {
        var path = Variant(file, from, to);
        var check = Cli.Run("config", "check", path);
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}: unknown key in {path}", check.Err);
        Assert.Contains(says, check.Err);
        Assert.Single(check.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData(KeysFileSpec.Secret1, UnixFileMode.UserRead | UnixFileMode.UserWrite, null)]
    [InlineData("hex:0001", UnixFileMode.UserRead | UnixFileMode.UserWrite, "pmip6.keys[0].secret")]
    [InlineData(KeysFileSpec.Secret1, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead, "pmip6.lma.security.keys-file")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Config_check_reads_the_keys_file_and_names_its_bad_key(string secret, UnixFileMode mode, string? key)
    {
        var path = Variant("lma.conf", "keys-file = \"\"", "keys-file = \"keys.conf\"");
        KeysFileSpec.Write(_dir, "keys.conf", mode, KeysFileSpec.Entry(secret: secret));
        var check = Cli.Run("config", "check", path);
        if (key is null)
        {
            Assert.Equal(0, check.ExitCode);
            Assert.Contains(": ok", check.Out);
            return;
        }
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}:", check.Err);
        Assert.Contains(Path.Combine(_dir, "keys.conf"), check.Err);
    }

    private const string Port = "port = 0";
    private const string Seeds = "seed-nodes = []";
    private const string Provider = "provider = \"sqlite\"";
    private const string ConnectionString = "connection-string = \"\"";

    [Theory]
    [InlineData("pmip6.cluster.journal.provider", Port, "port = 2552", Seeds, "seed-nodes = [\"127.0.0.1:2552\", \"127.0.0.1:2553\", \"127.0.0.1:2554\"]")]
    [InlineData("pmip6.cluster.journal.provider", Port, "port = 2552", Seeds, "seed-nodes = [\"127.0.0.1:2553\"]")]
    [InlineData("pmip6.cluster.port", Seeds, "seed-nodes = [\"127.0.0.1:2552\"]")]
    [InlineData("pmip6.cluster.seed-nodes[1]", Port, "port = 2552", Seeds, "seed-nodes = [\"127.0.0.1:2552\", \"2001:db8::1:2552\"]")]
    [InlineData("pmip6.cluster.seed-nodes[1]", Port, "port = 2552", Seeds, "seed-nodes = [\"127.0.0.1:2552\", \"127.0.0.1:2552\"]")]
    [InlineData("pmip6.cluster.hostname", "hostname = \"127.0.0.1\"", "hostname = \"0.0.0.0\"")]
    [InlineData("pmip6.cluster.min-members", "min-members = 1", "min-members = 3")]
    [InlineData("pmip6.cluster.roles", "roles = [\"lma\"]", "roles = [\"mag\"]")]
    [InlineData("pmip6.cluster.split-brain-resolver.strategy", "strategy = \"keep-majority\"", "strategy = \"auto-down\"")]
    [InlineData("pmip6.cluster.split-brain-resolver.stable-after", "stable-after = 20s", "stable-after = 100ms")]
    [InlineData("pmip6.cluster.split-brain-resolver.down-all-when-unstable", "down-all-when-unstable = on", "down-all-when-unstable = perhaps")]
    [InlineData("pmip6.cluster.sharding.shards", "shards = 50", "shards = 5000")]
    [InlineData("pmip6.cluster.sharding.remember-entities-store", "remember-entities-store = \"eventsourced\"", "remember-entities-store = \"ddata\"")]
    [InlineData("pmip6.cluster.journal.provider", Provider, "provider = \"mysql\"")]
    [InlineData("pmip6.cluster.journal.postgresql.connection-string", Provider, "provider = \"postgresql\"")]
    [InlineData("pmip6.cluster.journal.postgresql.connection-string", Provider, "provider = \"postgresql\"", ConnectionString, "connection-string = \"Port=5432;Database=pmip6\"")]
    [InlineData("pmip6.cluster.journal.postgresql.connection-string", Provider, "provider = \"postgresql\"", ConnectionString, "connection-string = \"Host=127.0.0.1;Port=many\"")]
    [InlineData("pmip6.cluster.seed-node", Seeds, "seed-node = []")]
    [InlineData("pmip6.cluster.sharding.remember-entities", "shards = 50", "shards = 50\n    remember-entities = on")]
    [InlineData("pmip6.cluster.failure-detector.acceptable-heartbeat-pause", "acceptable-heartbeat-pause = 3s", "acceptable-heartbeat-pause = 1500ms")]
    [InlineData("pmip6.cluster.failure-detector.heartbeat-interval", "heartbeat-interval = 1s", "heartbeat-interval = often")]
    public void A_wrong_cluster_key_or_combination_is_named_by_config_check_and_refused_by_the_lma(string key, params string[] edits)
    {
        var cluster = Variant("cluster.conf", edits);
        var check = Cli.Run("config", "check", cluster);
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}:", check.Err);
        Assert.Single(check.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        File.Copy(Shipped("lma.conf"), Path.Combine(_dir, "lma.conf"), overwrite: true); // names cluster.conf
        var throughLma = Cli.Run("config", "check", Path.Combine(_dir, "lma.conf"));
        Assert.Equal(78, throughLma.ExitCode);
        Assert.Contains($"configuration key {key}:", throughLma.Err);
        var daemon = Cli.Run("lma", "--config", Path.Combine(_dir, "lma.conf"));
        Assert.Equal(78, daemon.ExitCode);
        Assert.Contains($"configuration key {key}:", daemon.Err);
    }

    [Fact]
    public void A_three_node_postgresql_cluster_checks_out()
    {
        var cluster = Variant("cluster.conf", [Port, "port = 2553", Seeds, "seed-nodes = [\"127.0.0.1:2552\", \"127.0.0.1:2553\", \"127.0.0.1:2554\"]",
            "min-members = 1", "min-members = 2", Provider, "provider = \"postgresql\"",
            ConnectionString, "connection-string = \"Host=127.0.0.1;Port=5432;Database=pmip6;Username=pmip6;Password=x\""]);
        var check = Cli.Run("config", "check", cluster);
        Assert.Equal(0, check.ExitCode);
        Assert.Contains(": ok", check.Out);
    }

    [Theory]
    [InlineData("pmip6.lma.cluster-file", "cluster-file = \"cluster.conf\"", "cluster-file = \"no-such-cluster.conf\"")]
    [InlineData("pmip6.lma.cluster-hostname", "cluster-hostname = \"\"", "cluster-hostname = \"::\"")]
    [InlineData("pmip6.lma.cluster-hostname", "cluster-hostname = \"\"", "cluster-hostname = \"10.0.0.1\"", "cluster-file = \"cluster.conf\"", "cluster-file = \"\"")]
    [InlineData("pmip6.lma.cluster-port", "cluster-port = 0", "cluster-port = 70000")]
    public void The_lma_names_a_missing_cluster_file_and_a_wrong_node_address(string key, params string[] edits)
    {
        var path = Variant("lma.conf", edits);
        var check = Cli.Run("config", "check", path);
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}:", check.Err);
    }

    [Fact]
    public void An_unknown_flow_mobility_model_in_a_policy_profile_is_named()
    {
        var check = Cli.Run("config", "check", Variant("policies.conf", "flow-mobility-model = \"weak-host\"", "flow-mobility-model = \"strong-host\""));
        Assert.Equal(78, check.ExitCode);
        Assert.Contains("configuration key pmip6.policies.profiles[].flow-mobility-model: expected \"weak-host\" or \"shared-prefix\", got 'strong-host'", check.Err);
    }

    [Fact]
    public void Three_nodes_share_one_cluster_file_and_each_names_its_own_address_in_its_lma_conf()
    {
        var shared = Variant("cluster.conf", [Seeds, "seed-nodes = [\"10.9.0.1:2552\", \"10.9.0.2:2552\", \"10.9.0.3:2552\"]",
            Provider, "provider = \"postgresql\"", ConnectionString, "connection-string = \"Host=127.0.0.1;Port=5432;Database=pmip6;Username=pmip6;Password=x\""]);
        // On its own, the shared file names no node: port 0 with seed nodes is refused, pointing at cluster-port.
        var alone = Cli.Run("config", "check", shared);
        Assert.Equal(78, alone.ExitCode);
        Assert.Contains("configuration key pmip6.cluster.port:", alone.Err);
        Assert.Contains("cluster-port", alone.Err);
        foreach (var node in new[] { 1, 2, 3 })
        {
            var lma = Path.Combine(_dir, $"lma{node}.conf");
            File.WriteAllText(lma, File.ReadAllText(Shipped("lma.conf"))
                .Replace("cluster-hostname = \"\"", $"cluster-hostname = \"10.9.0.{node}\"")
                .Replace("cluster-port = 0", "cluster-port = 2552")
                .Replace("http = \"127.0.0.1:9180\"", $"http = \"127.0.0.1:{9180 + node}\""));
            var check = Cli.Run("config", "check", lma);
            Assert.True(check.ExitCode == 0, check.Err);
            Assert.Contains(": ok", check.Out);
        }
        // A node whose lma.conf forgets its port is refused, and the error names the lma.conf key too.
        var forgot = Path.Combine(_dir, "lma4.conf");
        File.WriteAllText(forgot, File.ReadAllText(Shipped("lma.conf")).Replace("cluster-hostname = \"\"", "cluster-hostname = \"10.9.0.4\""));
        var refused = Cli.Run("config", "check", forgot);
        Assert.Equal(78, refused.ExitCode);
        Assert.Contains("configuration key pmip6.cluster.port:", refused.Err);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var run = Cli.Run("config", "check", Path.Combine(_dir, "nope.conf"));
        Assert.Equal(78, run.ExitCode);
        Assert.Contains("nope.conf", run.Err);
    }
}
