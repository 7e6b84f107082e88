// The keys file of authenticated signalling (docs/PROTOCOL.md, "Authenticated signalling"): one HOCON
// list `pmip6.keys` of security associations. It holds secrets, so the daemon refuses a file that is
// not owned by root or that group or other may read or write, and names the entry and field of any
// malformed key. While the daemon runs the file is watched (checked every reload-interval): a changed
// file that reads well replaces the key ring; one that does not leaves the old ring in use.
using System.Collections.Immutable;
using System.Globalization;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;

namespace Pmip6Akka.Hosts.Config;

public sealed class KeysFile : IKeyRingSource
{
    public const string Path = "pmip6.keys";

    private readonly string _file;
    private FileIdentity _loaded;

    private KeysFile(string file, KeyRing keys, FileIdentity identity)
    {
        _file = file;
        Current = keys;
        _loaded = identity;
    }

    public KeyRing Current { get; private set; }

    public string File => _file;

    /// <summary>Reads and checks the keys file; <paramref name="settingKey"/> is the configuration key that named it (for errors about the file itself).</summary>
    public static KeysFile Open(string file, string settingKey)
    {
        var identity = CheckAccess(file, settingKey);
        return new KeysFile(file, Read(file), identity);
    }

    public KeyRingPoll Poll()
    {
        if (!TryIdentify(_file, out var now, out var problem))
            return new KeyRingPoll(null, problem);
        if (now == _loaded)
            return KeyRingPoll.Unchanged;
        _loaded = now; // a broken file is reported once, not at every poll
        try
        {
            CheckAccess(_file, "security.keys-file");
            Current = Read(_file);
            return new KeyRingPoll(Current, null);
        }
        catch (ConfigurationError e)
        {
            return new KeyRingPoll(null, e.Message);
        }
    }

    /// <summary>What tells one version of the file from the next: inode, size, modification and change times.</summary>
    private readonly record struct FileIdentity(ulong Inode, long Size, long ModifiedNs, long ChangedNs, uint Owner, uint Mode);

    private static unsafe bool TryIdentify(string file, out FileIdentity identity, out string? problem)
    {
        stat st;
        var path = System.Text.Encoding.UTF8.GetBytes(file + "\0");
        int result;
        fixed (byte* p = path)
            result = LibC.stat(p, &st);
        if (result != 0)
        {
            identity = default;
            problem = $"cannot read the keys file {file}: {new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()).Message}";
            return false;
        }
        identity = new FileIdentity((ulong)st.st_ino, (long)st.st_size, (long)st.st_mtim.tv_sec * 1_000_000_000L + (long)st.st_mtim.tv_nsec,
            (long)st.st_ctim.tv_sec * 1_000_000_000L + (long)st.st_ctim.tv_nsec, (uint)st.st_uid, (uint)st.st_mode);
        problem = null;
        return true;
    }

    private static FileIdentity CheckAccess(string file, string settingKey)
    {
        if (!TryIdentify(file, out var identity, out var problem))
            throw new ConfigurationError(settingKey, problem!);
        if (identity.Owner != 0)
            throw new ConfigurationError(settingKey, $"the keys file {file} is owned by uid {identity.Owner}, not root: chown root {file}");
        if ((identity.Mode & 0x3F) != 0) // S_IRWXG | S_IRWXO
            throw new ConfigurationError(settingKey, $"the keys file {file} is open to group or other (mode {Convert.ToString(identity.Mode & 0xFFF, 8)}): chmod 600 {file}");
        return identity;
    }

    /// <summary>Parses the keys: every malformed field is named by its key path, e.g. pmip6.keys[1].secret.</summary>
    public static KeyRing Read(string file)
    {
        var c = ConfigReader.Load(file, "pmip6");
        if (!c.Has("keys"))
            throw new ConfigurationError(Path, $"missing in {file} (expected a list of keys)");
        var keys = new List<SecurityAssociation>();
        var index = 0;
        foreach (var k in c.Objects("keys"))
        {
            var at = $"{Path}[{index++}]";
            var spiText = k.String("spi", "");
            if (!uint.TryParse(spiText, NumberStyles.None, CultureInfo.InvariantCulture, out var spi) || spi < SecurityAssociation.MinSpi)
                throw new ConfigurationError($"{at}.spi", $"expected an integer from {SecurityAssociation.MinSpi} to {uint.MaxValue} (0-255 are reserved), got '{spiText}' in {file}");
            if (keys.Any(other => other.Spi == spi))
                throw new ConfigurationError($"{at}.spi", $"SPI {spi} is used by an earlier key in {file}");
            var peerText = k.String("peer", "");
            if (!Ipv6Address.TryParse(peerText, out var peer))
                throw new ConfigurationError($"{at}.peer", $"expected the peer's IPv6 address, got '{peerText}' in {file}");
            var algorithm = k.String("algorithm", "hmac-sha256");
            if (algorithm != "hmac-sha256")
                throw new ConfigurationError($"{at}.algorithm", $"expected hmac-sha256, got '{algorithm}' in {file}");
            var secret = Secret(k.String("secret", ""), $"{at}.secret", file);
            var notBefore = Time(k, "not-before", at, file);
            var notAfter = Time(k, "not-after", at, file);
            if (notBefore is { } from && notAfter is { } until && until <= from)
                throw new ConfigurationError($"{at}.not-after", $"{until:O} is not after not-before {from:O} in {file}");
            keys.Add(new SecurityAssociation(spi, peer, AuthenticationAlgorithm.HmacSha256, secret, notBefore, notAfter));
        }
        return new KeyRing(keys);
    }

    private static ImmutableArray<byte> Secret(string text, string key, string file)
    {
        byte[]? bytes = null;
        try
        {
            if (text.StartsWith("hex:", StringComparison.Ordinal))
                bytes = Convert.FromHexString(text[4..]);
            else if (text.StartsWith("base64:", StringComparison.Ordinal))
                bytes = Convert.FromBase64String(text[7..]);
        }
        catch (FormatException)
        {
        }
        if (bytes is null)
            throw new ConfigurationError(key, $"expected hex:<octets> or base64:<octets> in {file}");
        if (bytes.Length < SecurityAssociation.MinSecretLength)
            throw new ConfigurationError(key, $"{bytes.Length} octets is too short: at least {SecurityAssociation.MinSecretLength} (RFC 4868 §2.1.1) in {file}");
        return [.. bytes];
    }

    private static DateTimeOffset? Time(ConfigReader k, string name, string at, string file)
    {
        if (!k.Has(name))
            return null;
        var text = k.String(name);
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) && text.Contains('T')
            ? time
            : throw new ConfigurationError($"{at}.{name}", $"expected an ISO 8601 time such as 2026-12-01T00:00:00Z, got '{text}' in {file}");
    }
}
