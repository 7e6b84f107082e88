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

    private string Variant(string name, string from, string to)
    {
        File.Copy(Shipped("policies.conf"), Path.Combine(_dir, "policies.conf"), overwrite: true);
        var text = File.ReadAllText(Shipped(name));
        Assert.Contains(from, text);
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text.Replace(from, to));
        return path;
    }

    [Theory]
    [InlineData("lma.conf")]
    [InlineData("mag.conf")]
    [InlineData("policies.conf")]
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
    [InlineData("lma.conf", "required = on", "required = maybe", "pmip6.lma.security.required")]
    [InlineData("mag.conf", "replay-window = 1s", "replay-window = forever", "pmip6.mag.security.replay-window")]
    [InlineData("mag.conf", "keys-file = \"\"", "keys-file = \"no-such-keys.conf\"", "pmip6.mag.security.keys-file")]
    [InlineData("lma.conf", "initiate-max-attempts = 5", "initiate-max-attempts = 50", "pmip6.lma.flow-mobility.initiate-max-attempts")]
    [InlineData("lma.conf", "initiate-retransmit-max = 4s", "initiate-retransmit-max = 10ms", "pmip6.lma.flow-mobility.initiate-retransmit-max")]
    [InlineData("lma.conf", "max-flows = 65536", "max-flows = lots", "pmip6.lma.flow-mobility.max-flows")]
    [InlineData("lma.conf", "flow-idle-timeout = 30s", "flow-idle-timeout = 0s", "pmip6.lma.flow-mobility.flow-idle-timeout")]
    [InlineData("lma.conf", "loss-threshold-percent = 5", "loss-threshold-percent = 0", "pmip6.lma.flow-mobility.loss-threshold-percent")]
    [InlineData("lma.conf", "max-routes-per-mn = 64", "max-routes-per-mn = -1", "pmip6.lma.flow-mobility.max-routes-per-mn")]
    public void A_wrong_or_missing_key_is_named_with_exit_78(string file, string from, string to, string key)
    {
        var path = Variant(file, from, to);
        var check = Cli.Run("config", "check", path);
        Assert.Equal(78, check.ExitCode);
        Assert.Contains($"configuration key {key}:", check.Err);
        Assert.Single(check.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var daemon = Cli.Run(file.Split('.')[0], "--config", path); // the daemon refuses to start the same way
        Assert.Equal(78, daemon.ExitCode);
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

    [Fact]
    public void A_missing_file_is_named()
    {
        var run = Cli.Run("config", "check", Path.Combine(_dir, "nope.conf"));
        Assert.Equal(78, run.ExitCode);
        Assert.Contains("nope.conf", run.Err);
    }
}
