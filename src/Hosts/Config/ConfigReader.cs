// Reads our HOCON blocks into immutable settings, failing with one line that names the key's full
// path and what was expected. Used by `pmip6 lma`, `pmip6 mag` and `pmip6 config check`.
using Akka.Configuration;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Config;

/// <summary>A configuration problem, named by its key: the daemon prints it and exits non-zero.</summary>
public sealed class ConfigurationError(string key, string problem) : Exception($"configuration key {key}: {problem}")
{
    public string Key { get; } = key;
}

public sealed class ConfigReader(Akka.Configuration.Config config, string path, string file)
{
    public string File { get; } = file;

    public static ConfigReader Load(string file, string path)
    {
        if (!System.IO.File.Exists(file))
            throw new ConfigurationError(path, $"configuration file {file} does not exist");
        Akka.Configuration.Config config;
        try
        {
            config = ConfigurationFactory.ParseString(System.IO.File.ReadAllText(file));
        }
        catch (Exception e)
        {
            throw new ConfigurationError(path, $"{file} is not valid HOCON: {e.Message}");
        }
        if (!config.HasPath(path))
            throw new ConfigurationError(path, $"missing block in {file}");
        return new ConfigReader(config.GetConfig(path), path, file);
    }

    /// <summary>Every key this reader was asked for, present or not: what the settings code knows.</summary>
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    private string Key(string key) => $"{path}.{key}";

    private void Ask(string key) => _asked.Add(key);

    public bool Has(string key)
    {
        Ask(key);
        return config.HasPath(key);
    }

    public string String(string key, string? fallback = null)
    {
        Ask(key);
        if (!config.HasPath(key))
            return fallback ?? throw new ConfigurationError(Key(key), "missing (expected a string)");
        return config.GetString(key) ?? fallback ?? throw new ConfigurationError(Key(key), "expected a string");
    }

    public Ipv6Address Address(string key)
    {
        var text = String(key);
        return Ipv6Address.TryParse(text, out var address)
            ? address
            : throw new ConfigurationError(Key(key), $"expected an IPv6 address, got '{text}'");
    }

    public Ipv6Prefix Prefix(string key)
    {
        var text = String(key);
        try
        {
            return Ipv6Prefix.Parse(text);
        }
        catch (FormatException)
        {
            throw new ConfigurationError(Key(key), $"expected an IPv6 prefix like 2001:db8:a000::/48, got '{text}'");
        }
    }

    public IReadOnlyList<Ipv6Address> Addresses(string key)
    {
        Ask(key);
        if (!config.HasPath(key))
            throw new ConfigurationError(Key(key), "missing (expected a list of IPv6 addresses)");
        IList<string> items;
        try
        {
            items = config.GetStringList(key);
        }
        catch (Exception)
        {
            throw new ConfigurationError(Key(key), "expected a list of IPv6 addresses");
        }
        return items.Select((text, i) => Ipv6Address.TryParse(text, out var a)
            ? a
            : throw new ConfigurationError($"{Key(key)}[{i}]", $"expected an IPv6 address, got '{text}'")).ToList();
    }

    public int Int(string key, int min, int max, int? fallback = null)
    {
        Ask(key);
        if (!config.HasPath(key))
            return fallback ?? throw new ConfigurationError(Key(key), $"missing (expected an integer from {min} to {max})");
        var text = config.GetString(key);
        return int.TryParse(text, out var value) && value >= min && value <= max
            ? value
            : throw new ConfigurationError(Key(key), $"expected an integer from {min} to {max}, got '{text}'");
    }

    public bool Bool(string key, bool fallback)
    {
        Ask(key);
        if (!config.HasPath(key))
            return fallback;
        return config.GetString(key)?.ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            var other => throw new ConfigurationError(Key(key), $"expected on or off, got '{other}'"),
        };
    }

    public TimeSpan Duration(string key, TimeSpan min, TimeSpan max, TimeSpan? fallback = null)
    {
        Ask(key);
        if (!config.HasPath(key))
            return fallback ?? throw new ConfigurationError(Key(key), "missing (expected a duration like 1500ms, 10s, 1h)");
        TimeSpan value;
        try
        {
            value = config.GetTimeSpan(key, allowInfinite: false);
        }
        catch (Exception)
        {
            throw new ConfigurationError(Key(key), $"expected a duration like 1500ms, 10s, 1h, got '{config.GetString(key)}'");
        }
        return value >= min && value <= max
            ? value
            : throw new ConfigurationError(Key(key), $"expected a duration from {min} to {max}, got {value}");
    }

    /// <summary>A path given relative to the configuration file's folder.</summary>
    public string FilePath(string key, string? fallback = null)
    {
        var text = String(key, fallback);
        return Path.IsPathRooted(text) ? text : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(File))!, text));
    }

    /// <summary>host:port for a local HTTP endpoint (empty or "off": none).</summary>
    public Uri? HttpEndpoint(string key)
    {
        var text = String(key, "off");
        if (text is "" or "off")
            return null;
        return Uri.TryCreate($"http://{text}/", UriKind.Absolute, out var uri) && uri.Port > 0
            ? uri
            : throw new ConfigurationError(Key(key), $"expected host:port such as 127.0.0.1:9180 or [::1]:9180, got '{text}'");
    }

    public IEnumerable<ConfigReader> Objects(string key)
    {
        Ask(key);
        if (!config.HasPath(key))
            yield break;
        var list = config.GetValue(key).GetArray();
        for (var i = 0; i < list.Count; i++)
            yield return new ConfigReader(new Akka.Configuration.Config(new Akka.Configuration.Hocon.HoconRoot(list[i])), $"{Key(key)}[{i}]", File);
    }

    public IReadOnlyList<string> Strings(string key)
    {
        Ask(key);
        return config.HasPath(key) ? config.GetStringList(key).ToList() : [];
    }

    private static IEnumerable<string> Leaves(Akka.Configuration.Hocon.HoconObject o, string prefix) =>
        o.Items.SelectMany(kv => kv.Value.IsObject()
            ? Leaves(kv.Value.GetObject(), prefix + kv.Key + ".")
            : [prefix + kv.Key]);

    /// <summary>Refuses the first key (leaf path, in file order) of this block that <paramref name="known"/> does not list.</summary>
    public void RefuseUnknownKeys(IReadOnlySet<string> known)
    {
        foreach (var leaf in Leaves(config.Root.GetObject(), ""))
            if (!known.Contains(leaf))
                throw new ConfigurationError(Key(leaf), $"unknown key in {File} (known: {string.Join(", ", known.Order())})");
    }

    /// <summary>
    /// Called once the settings are read: refuses the first key (leaf path, in file order) that no reader asked for — a
    /// misspelt key (`store-sinc`) or one this version no longer has would otherwise be ignored without a word, and the
    /// daemon would run on the default the operator meant to change. Names the nearest key it does know when one is close.
    /// </summary>
    public void RefuseUnreadKeys()
    {
        foreach (var leaf in Leaves(config.Root.GetObject(), ""))
        {
            if (_asked.Contains(leaf))
                continue;
            var nearest = _asked.Select(k => (Key: k, Distance: EditDistance(leaf, k))).MinBy(k => k.Distance);
            var hint = nearest.Key is not null && nearest.Distance <= Math.Max(2, leaf.Length / 4) ? $"; did you mean {Key(nearest.Key)}?" : "";
            throw new ConfigurationError(Key(leaf), $"unknown key in {File} (this version reads no such key{hint})");
        }
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
