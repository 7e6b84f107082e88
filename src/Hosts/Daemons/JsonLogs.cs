// Logs as JSON lines (`log { format = json }`): one object a line with time, level, source and
// message, for journald, Loki or jq. Akka.NET's log events go through JsonLogger; the daemon's own
// start-up and shutdown lines go through JsonLineWriter, so standard output holds nothing else.
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Pmip6Akka.Hosts.Daemons;

public static class JsonLogLine
{
    /// <summary>{"time":"…Z","level":"info","source":"…","message":"…"} (plus "error" when there is one).</summary>
    public static string Format(DateTimeOffset time, string level, string source, string message, string? error = null)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", level);
            json.WriteString("source", source);
            json.WriteString("message", message);
            if (error is not null)
                json.WriteString("error", error);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>The Akka.NET logger of `log { format = json }`: writes every log event to standard output as one JSON line.</summary>
public sealed class JsonLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public JsonLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    public static void Write(LogEvent e)
    {
        {
            var level = e.LogLevel() switch
            {
                LogLevel.DebugLevel => "debug",
                LogLevel.InfoLevel => "info",
                LogLevel.WarningLevel => "warning",
                _ => "error",
            };
            string message;
            try
            {
                message = e.Message?.ToString() ?? "";
            }
            catch (FormatException)
            {
                message = e.Message?.GetType().Name ?? "";
            }
            var line = JsonLogLine.Format(new DateTimeOffset(e.Timestamp.ToUniversalTime(), TimeSpan.Zero), level, e.LogSource, message, e.Cause?.ToString());
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}

/// <summary>
/// What Akka.NET logs before JsonLogger starts and after it stops (the last lines of a shutdown), in
/// JSON as well (`akka.stdout-logger-class`).
/// </summary>
public sealed class JsonStandardOutLogger : MinimalLogger
{
    protected override void Log(object message)
    {
        if (message is LogEvent e)
            JsonLogger.Write(e);
    }
}

/// <summary>Turns every line written to it into a JSON line (level info, the given source) on <paramref name="inner"/>.</summary>
public sealed class JsonLineWriter(TextWriter inner, string source) : TextWriter
{
    private readonly StringBuilder _line = new();
    private readonly object _gate = new();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        lock (_gate)
        {
            if (value == '\n')
                Emit();
            else if (value != '\r')
                _line.Append(value);
        }
    }

    public override void Write(string? value)
    {
        if (value is null)
            return;
        lock (_gate)
            foreach (var ch in value)
                Write(ch);
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            Write(value);
            Emit();
        }
    }

    public override void Flush()
    {
        lock (_gate)
            inner.Flush();
    }

    private void Emit()
    {
        var text = _line.ToString();
        _line.Clear();
        // The daemon's own lines say "pmip6 lma: WARNING ..." when they warn.
        var level = text.Contains(": WARNING ", StringComparison.Ordinal) ? "warning" : "info";
        inner.WriteLine(JsonLogLine.Format(DateTimeOffset.UtcNow, level, source, text));
        inner.Flush();
    }
}
