// Operations keys both daemons share: `log { ... }` (plain text or JSON lines, and the level) and
// `shutdown { ... }` (what SIGTERM does and how long it may take).
namespace Pmip6Akka.Hosts.Config;

public enum LogFormat { Text, Json }

/// <summary>`log { format = text|json, level = debug|info|warning|error }`.</summary>
public sealed record LogSettings(LogFormat Format, string Level)
{
    public static readonly LogSettings Default = new(LogFormat.Text, "info");

    private static readonly string[] Levels = ["debug", "info", "warning", "error"];

    public static LogSettings Read(ConfigReader c, string path)
    {
        var format = c.String("log.format", "text");
        var level = c.String("log.level", Default.Level).ToLowerInvariant();
        if (!Levels.Contains(level))
            throw new ConfigurationError($"{path}.log.level", $"expected one of {string.Join(", ", Levels)}, got '{level}'");
        return new LogSettings(format switch
        {
            "text" => LogFormat.Text,
            "json" => LogFormat.Json,
            _ => throw new ConfigurationError($"{path}.log.format", $"expected text or json, got '{format}'"),
        }, level);
    }

    /// <summary>The Akka.NET logging configuration: the level, and in JSON mode our JSON-lines loggers (also before the logger starts and after it stops).</summary>
    public string ToHocon() => Format == LogFormat.Json
        ? $"""
           akka.loglevel = {Level.ToUpperInvariant()}
           akka.stdout-loglevel = {Level.ToUpperInvariant()}
           akka.stdout-logger-class = "{typeof(Daemons.JsonStandardOutLogger).FullName}, {typeof(Daemons.JsonLogger).Assembly.GetName().Name}"
           akka.loggers = ["{typeof(Daemons.JsonLogger).FullName}, {typeof(Daemons.JsonLogger).Assembly.GetName().Name}"]
           """
        : $"""
           akka.loglevel = {Level.ToUpperInvariant()}
           akka.stdout-loglevel = {Level.ToUpperInvariant()}
           """;
}

/// <summary>
/// `shutdown { revoke-bindings = on|off, timeout = 10s }`: on SIGTERM the MAG sends one global Binding
/// Revocation for its sessions (RFC 5846 §8.1) or, with off, leaves its bindings to age at the LMA; each
/// daemon gives its actor system (and the LMA its journal) at most `timeout` to finish.
/// </summary>
public sealed record ShutdownSettings(bool RevokeBindings, TimeSpan Timeout)
{
    public static readonly ShutdownSettings Default = new(true, TimeSpan.FromSeconds(20));

    public static ShutdownSettings Read(ConfigReader c, string path, bool revocationAllowed)
    {
        if (!revocationAllowed && c.Has("shutdown.revoke-bindings"))
            throw new ConfigurationError($"{path}.shutdown.revoke-bindings", "only a MAG revokes its bindings at shutdown (the LMA keeps them in its journal)");
        return new ShutdownSettings(
            c.Bool("shutdown.revoke-bindings", Default.RevokeBindings),
            c.Duration("shutdown.timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), Default.Timeout));
    }
}
