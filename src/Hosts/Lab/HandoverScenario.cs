// `pmip6 lab run --scenario handover`: a 2-MAG, 1-MN lab; a UDP probe (1000 packets/s) and a paced
// TCP transfer from the CN to the mobile node; M moves alternating mag2/mag1 an interval apart; then
// the report. The lab is taken down by the caller whatever happens (LabCommand.Run's finally).
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Pmip6Akka.Hosts.Lab;

public static class HandoverScenario
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Drain = TimeSpan.FromMilliseconds(500);

    public static HandoverReport Run(string runDirectory, HandoverOptions options, TextWriter progress, CancellationToken cancel)
    {
        var plan = LabPlan.Create(2, 1);
        LabUp.Run(plan, runDirectory, TimeSpan.FromSeconds(60), progress, cancel, options.Buffering);
        var mn = LabPlan.MobileNode(1);
        var address = NodeAddresses.InPool(mn.Namespace)[0];
        var origin = Stopwatch.GetTimestamp();
        var originUtc = DateTimeOffset.UtcNow;
        var snapshots = new List<TunnelCounterSnapshot>();

        using var udp = new UdpStream(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(address), options.PacketsPerSecond, origin);
        using var tcp = new TcpTransfer(LabPlan.CnNamespace, mn.Namespace, IPAddress.Parse(address), options.TcpBytesPerSecond, origin);
        udp.Start();
        var moves = new List<HandoverMove>();
        string? error = null;
        TcpResult? tcpResult = null;
        using var ticker = new ProgressLine(progress, () => Line(origin, udp, tcp, moves.Count, options.Moves));
        try
        {
            tcp.Start(TimeSpan.FromSeconds(10));
            Sleep(Warmup, cancel);
            for (var i = 1; i <= options.Moves; i++)
            {
                var target = i % 2 == 1 ? "mag2" : "mag1";
                snapshots.Add(HandoverBufferFigures.Snapshot(plan, cancel));
                var moved = LabMove.Run(runDirectory, mn.Name, target, options.Gap, cancel);
                moves.Add(new HandoverMove(i, moved.From, moved.To, Ms(origin, moved.DetachTimestamp), Ms(origin, moved.RegisteredTimestamp),
                    new StreamStatistics(0, 0, 0, 0, 0, 0, null)));
                Sleep(options.Interval, cancel);
            }
        }
        catch (LabFailure e)
        {
            error = e.Message;
        }
        var end = udp.Stop(Drain);
        snapshots.Add(HandoverBufferFigures.Snapshot(plan, cancel));
        var episodes = HandoverBufferFigures.Episodes(DaemonHttp.TryGetJson(LabPlan.LmaNamespace, LabPlan.LmaHttpPort, "/status?limit=1", cancel), originUtc);
        if (error is null || tcp.BytesSent > 0)
            tcpResult = tcp.Finish(TimeSpan.FromSeconds(10));
        ticker.Dispose();

        var sendTimes = udp.SendTimes;
        var arrivals = udp.Arrivals;
        var measured = HandoverReport.WithStatistics(moves, sendTimes, arrivals, end);
        if (options.Buffering.Enabled)
            measured = [.. measured.Zip(HandoverBufferFigures.Match(measured, mn.MnId, episodes, snapshots), (m, b) => m with { Buffer = b })];
        return new HandoverReport(mn.Name, address, options, measured,
            ArrivalStatistics.Compute(sendTimes, arrivals, 0, end), tcpResult, error, end, sendTimes, arrivals,
            tcp.Receipts);
    }

    private static double Ms(long origin, long timestamp) => Stopwatch.GetElapsedTime(origin, timestamp).TotalMilliseconds;

    private static void Sleep(TimeSpan span, CancellationToken cancel)
    {
        if (cancel.WaitHandle.WaitOne(span))
            cancel.ThrowIfCancellationRequested();
    }

    private static string Line(long origin, UdpStream udp, TcpTransfer tcp, int moves, int total) => string.Create(CultureInfo.InvariantCulture,
        $"lab run: {Stopwatch.GetElapsedTime(origin).TotalSeconds,5:F1} s  udp {udp.Received}/{udp.Sent} received  tcp {tcp.BytesReceived / 1048576.0:F1} MiB  moves {moves}/{total}");

    /// <summary>A live progress line on stderr: rewritten in place on a terminal, one line every few seconds otherwise.</summary>
    private sealed class ProgressLine : IDisposable
    {
        private readonly TextWriter _output;
        private readonly Timer _timer;
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private int _ticks;
        private bool _disposed;
        private readonly Lock _lock = new();

        public ProgressLine(TextWriter output, Func<string> line)
        {
            _output = output;
            _timer = new Timer(_ =>
            {
                lock (_lock)
                {
                    if (_disposed) return;
                    if (_terminal)
                        _output.Write("\r" + line() + "   ");
                    else if (_ticks++ % 10 == 0)
                        _output.WriteLine(line());
                }
            }, null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        }

        public void Dispose()
        {
            lock (_lock)
            {
                if (_disposed) return;
                _disposed = true;
                _timer.Dispose();
                if (_terminal)
                    _output.WriteLine();
            }
        }
    }
}
