// The keys file of authenticated signalling: only root may read it, every malformed field is named by
// its key, and a changed file replaces the keys while the daemon runs (a broken one does not).
// Runs as root, like the rest of this suite (the files it writes are owned by root).
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Config;

namespace Pmip6Akka.Hosts.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysFileSpec : IDisposable
{
    private const string Setting = "pmip6.lma.security.keys-file";
    private readonly string _dir = Directory.CreateTempSubdirectory("pmip6-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal const string Secret1 = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    internal const string Secret2 = "base64:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    internal static string Entry(uint spi = 4096, string peer = "2001:db8:1::2", string secret = Secret1, string extra = "") =>
        $$"""  { spi = {{spi}}, peer = "{{peer}}", algorithm = "hmac-sha256", secret = "{{secret}}" {{extra}} }""";

    internal static string Write(string dir, string name, UnixFileMode mode, params string[] entries)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "pmip6.keys = [\n" + string.Join("\n", entries) + "\n]\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private string Write(params string[] entries) => Write(_dir, "keys.conf", UnixFileMode.UserRead | UnixFileMode.UserWrite, entries);

    private static ConfigurationError Refused(Action open) => Assert.Throws<ConfigurationError>(open);

    [Fact]
    public void A_root_only_file_loads_every_key_with_hex_or_base64_secrets_and_validity()
    {
        var path = Write(Entry(), Entry(4097, secret: Secret2, extra: """, not-before = "2026-12-01T00:00:00Z", not-after = "2027-01-01T00:00:00Z" """));
        var keys = KeysFile.Open(path, Setting).Current;
        Assert.Equal(2, keys.Count);
        var rolled = keys.Find(4097)!;
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::2"), rolled.Peer);
        Assert.Equal(Enumerable.Range(32, 32).Select(i => (byte)i), rolled.Secret);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), rolled.NotBefore);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i), keys.Find(4096)!.Secret);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, "mode 640")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherRead, "mode 404")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherWrite, "mode 402")]
    public void A_file_open_to_group_or_other_is_refused_naming_the_setting_and_the_file(UnixFileMode mode, string shown)
    {
        var path = Write(_dir, "keys.conf", mode, Entry());
        var error = Refused(() => KeysFile.Open(path, Setting));
        Assert.Equal(Setting, error.Key);
        Assert.Contains(path, error.Message);
        Assert.Contains(shown, error.Message);
        Assert.Contains("chmod 600", error.Message);
    }

    [Fact]
    public void A_file_not_owned_by_root_is_refused()
    {
        var path = Write(Entry());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(0, Chown(path, 65534));
        var error = Refused(() => KeysFile.Open(path, Setting));
        Assert.Contains("owned by uid 65534, not root", error.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var error = Refused(() => KeysFile.Open(Path.Combine(_dir, "nope.conf"), Setting));
        Assert.Equal(Setting, error.Key);
        Assert.Contains("nope.conf", error.Message);
    }

    [Theory]
    [InlineData("spi = 4096", "spi = 12", "pmip6.keys[1].spi")]
    [InlineData("spi = 4096", "spi = 4097", "pmip6.keys[1].spi")] // twice
    [InlineData("spi = 4096", "spi = -1", "pmip6.keys[1].spi")]
    [InlineData("peer = \"2001:db8:1::2\"", "peer = \"mag1\"", "pmip6.keys[1].peer")]
    [InlineData("algorithm = \"hmac-sha256\"", "algorithm = \"hmac-md5\"", "pmip6.keys[1].algorithm")]
    [InlineData(Secret1, "hex:0001", "pmip6.keys[1].secret")] // too short
    [InlineData(Secret1, "hex:zz", "pmip6.keys[1].secret")]
    [InlineData(Secret1, "s3cret-in-clear", "pmip6.keys[1].secret")]
    [InlineData("}", ", not-before = \"tomorrow\" }", "pmip6.keys[1].not-before")]
    [InlineData("}", ", not-before = \"2027-01-01T00:00:00Z\", not-after = \"2026-01-01T00:00:00Z\" }", "pmip6.keys[1].not-after")]
    public void A_malformed_key_is_named_by_its_entry_and_field(string from, string to, string key)
    {
        var path = Write(Entry(4097, secret: Secret2), Entry().Replace(from, to));
        var error = Refused(() => KeysFile.Open(path, Setting));
        Assert.Equal(key, error.Key);
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain(Secret1[4..], error.Message); // never echo a secret
    }

    [Fact]
    public void A_changed_file_replaces_the_keys_and_a_broken_one_leaves_them_in_use()
    {
        var path = Write(Entry());
        var file = KeysFile.Open(path, Setting);
        Assert.Equal(KeyRingPoll.Unchanged, file.Poll());

        Write(Entry(), Entry(4097, secret: Secret2, extra: """, not-before = "2026-12-01T00:00:00Z" """));
        var reloaded = file.Poll();
        Assert.Null(reloaded.Error);
        Assert.Equal(2, reloaded.Keys!.Count);
        Assert.Same(reloaded.Keys, file.Current);

        Write(Entry(4097), Entry(4097)); // an SPI twice
        var broken = file.Poll();
        Assert.Null(broken.Keys);
        Assert.Contains("pmip6.keys[1].spi", broken.Error);
        Assert.Same(reloaded.Keys, file.Current);
        Assert.Equal(KeyRingPoll.Unchanged, file.Poll()); // reported once, not at every poll

        File.SetUnixFileMode(Write(Entry(4098)), UnixFileMode.UserRead | UnixFileMode.GroupRead);
        Assert.Contains("chmod 600", file.Poll().Error);
        Assert.Equal(2, file.Current.Count);

        Write(Entry(4099));
        Assert.Equal(4099u, Assert.Single(file.Poll().Keys!.Keys).Spi);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int chown(string path, uint owner, uint group);

    private static int Chown(string path, uint uid) => chown(path, uid, uid);
}
