// The result of `lab run --scenario handover`: per move the detach→re-registration time and what the
// mobile node saw of the UDP probe around it (interruption, loss, duplicates, reordering), the whole
// stream's totals and the TCP transfer's verdict; printed for people, as JSON for machines, drawn by
// SvgPlot. The raw series are kept for the plot.
using System.Globalization;
using System.Text.Json.Nodes;

namespace Pmip6Akka.Hosts.Lab;

public sealed record HandoverOptions
{
    public bool Json { get; init; }
    public string? Plot { get; init; }
    public int Moves { get; init; } = 4;
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Gap { get; init; } = TimeSpan.FromMilliseconds(50);
    public int PacketsPerSecond { get; init; } = 1000;
    public long TcpBytesPerSecond { get; init; } = 1 << 20;
    public LabBuffering Buffering { get; init; } = LabBuffering.Default;
}

/// <summary>One move as measured: times in ms since the run's start.</summary>
public sealed record HandoverMove(int Number, string From, string To, double DetachMs, double RegisteredMs, StreamStatistics Udp)
{
    public double DetachToRegistrationMs => RegisteredMs - DetachMs;

    /// <summary>What the LMA's handover buffer did for this move; null when buffering is off.</summary>
    public BufferFigures? Buffer { get; init; }
}

public sealed record HandoverReport(
    string MobileNode,
    string Address,
    HandoverOptions Options,
    IReadOnlyList<HandoverMove> Moves,
    StreamStatistics Udp,
    TcpResult? Tcp,
    string? Error,
    double EndMs,
    IReadOnlyList<double> SendTimesMs,
    IReadOnlyList<Arrival> Arrivals,
    IReadOnlyList<(double TimeMs, int Bytes)> TcpReceipts)
{
    /// <summary>Window of a move's statistics starts this long before its detach (packets in flight then count for it).</summary>
    public const double WindowLeadMs = 100;

    public bool Succeeded => Error is null && Moves.Count == Options.Moves && Tcp is { Ok: true };

    /// <summary>Puts the statistics of each move's window [detach - lead, next detach - lead) onto the measured moves.</summary>
    public static IReadOnlyList<HandoverMove> WithStatistics(IReadOnlyList<HandoverMove> moves, IReadOnlyList<double> sendTimes,
        IReadOnlyList<Arrival> arrivals, double endMs) =>
        [.. moves.Select((m, i) => m with
        {
            Udp = ArrivalStatistics.Compute(sendTimes, arrivals, m.DetachMs - WindowLeadMs,
                i + 1 < moves.Count ? moves[i + 1].DetachMs - WindowLeadMs : endMs),
        })];

    public JsonObject ToJson() => new()
    {
        ["scenario"] = "handover",
        ["ok"] = Succeeded,
        ["error"] = Error,
        ["mobileNode"] = MobileNode,
        ["address"] = Address,
        ["gapMs"] = Options.Gap.TotalMilliseconds,
        ["buffering"] = Options.Buffering.Setting,
        ["udpPacketsPerSecond"] = Options.PacketsPerSecond,
        ["durationMs"] = Math.Round(EndMs, 1),
        ["handovers"] = new JsonArray([.. Moves.Select(m => (JsonNode)new JsonObject
        {
            ["number"] = m.Number,
            ["from"] = m.From,
            ["to"] = m.To,
            ["detachAtMs"] = Math.Round(m.DetachMs, 1),
            ["detachToRegistrationMs"] = Math.Round(m.DetachToRegistrationMs, 1),
            ["interruptionMs"] = Math.Round(m.Udp.LargestGapMs, 1),
            ["sent"] = m.Udp.Sent,
            ["lost"] = m.Udp.Lost,
            ["duplicated"] = m.Udp.Duplicated,
            ["reordered"] = m.Udp.Reordered,
            ["buffer"] = m.Buffer?.ToJson(),
        })]),
        ["udp"] = Stats(Udp),
        ["tcp"] = Tcp is null ? null : new JsonObject
        {
            ["ok"] = Tcp.Ok,
            ["bytesSent"] = Tcp.BytesSent,
            ["bytesReceived"] = Tcp.BytesReceived,
            ["sha256Sent"] = Tcp.SentSha256,
            ["sha256Received"] = Tcp.ReceivedSha256,
            ["error"] = Tcp.Error,
        },
    };

    private static JsonObject Stats(StreamStatistics s) => new()
    {
        ["sent"] = s.Sent,
        ["received"] = s.Received,
        ["lost"] = s.Lost,
        ["duplicated"] = s.Duplicated,
        ["reordered"] = s.Reordered,
        ["largestGapMs"] = Math.Round(s.LargestGapMs, 1),
    };

    public void Print(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"handover scenario: {MobileNode} ({Address}), {Moves.Count} of {Options.Moves} moves, gap {Options.Gap.TotalMilliseconds:F0} ms, UDP {Options.PacketsPerSecond}/s CN -> MN, buffering {Options.Buffering.Setting}"));
        var buffered = Options.Buffering.Enabled;
        output.WriteLine($"{"#",-3} {"move",-14} {"detach->reg ms",14} {"interruption ms",16} {"lost",6} {"dup",5} {"reord",6}"
                         + (buffered ? $" {"peak",6} {"held",6} {"dropped",7} {"flush ms",9} {"delay mean/max ms",17} {"returned",8}" : ""));
        foreach (var m in Moves)
            output.WriteLine(string.Create(c, $"{m.Number,-3} {m.From + "->" + m.To,-14} {m.DetachToRegistrationMs,14:F1} {m.Udp.LargestGapMs,16:F1} {m.Udp.Lost,6} {m.Udp.Duplicated,5} {m.Udp.Reordered,6}")
                             + (buffered && m.Buffer is { } b
                                 ? string.Create(c, $" {b.Peak,6} {b.Packets,6} {b.Dropped,7} {b.FlushMs,9:F1} {b.MeanAddedDelayMs.ToString("F1", c) + "/" + b.MaxAddedDelayMs.ToString("F1", c),17} {b.ReturnedByPreviousMag,8}")
                                 : ""));
        output.WriteLine(string.Create(c, $"UDP: {Udp.Sent} sent, {Udp.Received} received, {Udp.Lost} lost, {Udp.Duplicated} duplicated, {Udp.Reordered} reordered"));
        output.WriteLine(Tcp is null
            ? "TCP: not run"
            : Tcp.Ok
                ? $"TCP: {Tcp.BytesReceived} of {Tcp.BytesSent} bytes received, SHA-256 matches: ok"
                : $"TCP: FAILED: {Tcp.BytesReceived} of {Tcp.BytesSent} bytes received{(Tcp.SentSha256 == Tcp.ReceivedSha256 ? "" : ", SHA-256 differs")}{(Tcp.Error is null ? "" : $" ({Tcp.Error})")}");
        if (Error is not null)
            output.WriteLine($"error: {Error}");
        output.WriteLine(Succeeded ? "result: ok" : "result: FAILED");
    }
}
