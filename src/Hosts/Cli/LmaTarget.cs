// Which LMA a bench loads: ours, started by the bench in its namespace (--against-self), or one at
// --lma ADDRESS, whose process (--pid, for /proc) and admin endpoint (--lma-http) may be given.
using System.Net;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Cli;

public sealed record LmaTarget(Ipv6Address Lma, bool AgainstSelf, int? Pid, string? LmaHttp)
{
    public static readonly Ipv6Address DefaultSelfLma = Ipv6Address.Parse("2001:db8:100::1");

    public static LmaTarget Parse(Arguments args)
    {
        var againstSelf = args.Flag("against-self");
        var lmaText = args.String("lma");
        var pid = args.Integer("pid", 0, 1, int.MaxValue);
        var lmaHttp = args.String("lma-http");
        Ipv6Address lma;
        if (lmaText is null)
            lma = againstSelf ? DefaultSelfLma : throw new UsageException("missing option --lma (or --against-self)");
        else if (againstSelf)
            throw new UsageException("--lma and --against-self exclude each other (--against-self starts our LMA at 2001:db8:100::1)");
        else if (!Ipv6Address.TryParse(lmaText, out lma) || lma == default)
            throw new UsageException($"--lma must be an IPv6 address, got '{lmaText}'");
        if (againstSelf && (pid > 0 || lmaHttp is not null))
            throw new UsageException("--pid and --lma-http are for an external LMA; --against-self knows its LMA");
        if (lmaHttp is not null && !IPEndPoint.TryParse(lmaHttp, out _))
            throw new UsageException($"--lma-http must be HOST:PORT, got '{lmaHttp}'");
        return new LmaTarget(lma, againstSelf, pid > 0 ? (int)pid : null, lmaHttp);
    }

    /// <summary>"admission.per-peer-rate=1000,snapshot-every=200" as HOCON lines inside `pmip6.lma { }`; an item without a key or a value is a usage error.</summary>
    public static IReadOnlyList<string> ParseSettings(string? text)
    {
        if (text is null)
            return [];
        var lines = new List<string>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var eq = item.IndexOf('=');
            if (eq <= 0 || eq == item.Length - 1 || item[..eq].Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.')))
                throw new UsageException($"--lma-settings must be KEY=VALUE[,KEY=VALUE...] with keys inside pmip6.lma (e.g. admission.per-peer-rate=1000), got '{item}'");
            lines.Add($"{item[..eq]} = {item[(eq + 1)..]}");
        }
        return lines;
    }

    /// <summary>A duration as 600, 90s, 10m or 1h; a usage error naming <paramref name="option"/> otherwise.</summary>
    public static TimeSpan ParseDuration(string option, string text, TimeSpan max)
    {
        var unit = text.Length > 0 && char.IsAsciiLetter(text[^1]) ? text[^1] : 's';
        var digits = char.IsAsciiLetter(unit) && text.Length > 0 && char.IsAsciiLetter(text[^1]) ? text[..^1] : text;
        var scale = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        if (scale == 0 || !long.TryParse(digits, System.Globalization.NumberStyles.None, null, out var n) || n < 1 || n * scale > max.TotalSeconds)
            throw new UsageException($"--{option} must be a whole number of seconds, minutes or hours up to {max.TotalHours:0} h (600, 90s, 10m, 1h), got '{text}'");
        return TimeSpan.FromSeconds(n * scale);
    }
}
