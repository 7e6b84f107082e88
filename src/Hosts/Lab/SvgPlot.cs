// `lab run --plot FILE.svg`: the handover run as a picture without any plotting library. Top panel:
// the sequence number of every received UDP packet against its arrival time (a handover shows as a
// step: a flat stretch of silence, then the stream resumes); bottom panel: UDP packets/s and TCP
// Mbit/s in 100 ms bins. Each handover is marked: its detach (red) and its re-registration (green).
// Written through XmlWriter, so the file is always well-formed.
using System.Globalization;
using System.Text;
using System.Xml;

namespace Pmip6Akka.Hosts.Lab;

public static class SvgPlot
{
    private const int Width = 960, PanelHeight = 260, Left = 70, Right = 70, Top = 40, Between = 60;
    private const double BinMs = 100;
    private const int MaxPoints = 6000;

    public static string Render(HandoverReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var endMs = Math.Max(report.EndMs, 1);
        var plotWidth = Width - Left - Right;
        double X(double ms) => Left + ms / endMs * plotWidth;
        var height = Top + 2 * PanelHeight + Between + 50;
        var top2 = Top + PanelHeight + Between;

        var file = new MemoryStream();
        using (var svg = Document(file, height, string.Create(c,
                   $"handover scenario: {report.MobileNode} {report.Address}, {report.Moves.Count} moves, UDP {report.Udp.Received}/{report.Udp.Sent} received, TCP {(report.Tcp?.Ok == true ? "ok" : "failed")}")))
        {

            // Panel 1: received sequence numbers.
            var maxSeq = Math.Max(1, report.SendTimesMs.Count);
            Frame(svg, Top, "UDP sequence number received", "time (s)", endMs, 0, maxSeq, "F0");
            var step = Math.Max(1, report.Arrivals.Count / MaxPoints);
            var dots = new StringBuilder();
            for (var i = 0; i < report.Arrivals.Count; i += step)
            {
                var a = report.Arrivals[i];
                dots.Append(c, $"M{X(a.TimeMs):F1} {Top + PanelHeight - (double)a.Sequence / maxSeq * PanelHeight:F1}h1.5");
            }
            Path(svg, dots.ToString(), "#1f5fbf", 1.5, null);

            // Panel 2: rates.
            var udpRate = ArrivalStatistics.Rate(report.Arrivals.Select(a => a.TimeMs), BinMs, endMs);
            var tcpBins = new double[udpRate.Length];
            foreach (var (time, bytes) in report.TcpReceipts)
                if ((int)(time / BinMs) is var i && i >= 0 && i < tcpBins.Length)
                    tcpBins[i] += bytes * 8 / 1e6 * (1000 / BinMs);
            var udpMax = Math.Max(1, udpRate.DefaultIfEmpty(0).Max() * 1.1);
            var tcpMax = Math.Max(0.1, tcpBins.DefaultIfEmpty(0).Max() * 1.1);
            Frame(svg, top2, "UDP packets/s (blue), TCP Mbit/s (orange)", "time (s)", endMs, 0, udpMax, "F0");
            Text(svg, Width - Right + 6, top2 + 4, tcpMax.ToString("F1", c) + " Mbit/s", "start", 11);
            Text(svg, Width - Right + 6, top2 + PanelHeight, "0", "start", 11);
            Path(svg, Polyline(udpRate, v => top2 + PanelHeight - v / udpMax * PanelHeight, X), "#1f5fbf", 1.2, "none");
            Path(svg, Polyline(tcpBins, v => top2 + PanelHeight - v / tcpMax * PanelHeight, X), "#e07b00", 1.2, "none");

            // Handover marks across both panels.
            foreach (var m in report.Moves)
            {
                foreach (var (panelTop, _) in new[] { (Top, 0), (top2, 1) })
                {
                    Line(svg, X(m.DetachMs), panelTop, X(m.DetachMs), panelTop + PanelHeight, "#c0392b", "4 3");
                    Line(svg, X(m.RegisteredMs), panelTop, X(m.RegisteredMs), panelTop + PanelHeight, "#27ae60", "2 2");
                }
                Text(svg, X(m.DetachMs) + 3, Top + 12, string.Create(c, $"{m.From}→{m.To} {m.DetachToRegistrationMs:F0} ms"), "start", 10);
            }
            svg.WriteEndElement();
        }
        return Encoding.UTF8.GetString(file.ToArray());
    }

    /// <summary>
    /// `lab run --scenario flow --plot`: the UDP flow's sequence numbers as received, coloured by the node's
    /// interface (eth0 blue, eth1 orange); each flow's throughput at the node (UDP packets/s scaled, TCP 1 and
    /// TCP 2 Mbit/s); every event marked (command moves grey, the loss trigger red, the outage black).
    /// </summary>
    public static string Render(FlowReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var endMs = Math.Max(report.EndMs, 1);
        var plotWidth = Width - Left - Right;
        double X(double ms) => Left + ms / endMs * plotWidth;
        var height = Top + 2 * PanelHeight + Between + 50;
        var top2 = Top + PanelHeight + Between;
        var file = new MemoryStream();
        using (var svg = Document(file, height, string.Create(c,
                   $"flow scenario: {report.MobileNode}, {report.Events.Count} events, command moves median {report.CommandMedianMs?.ToString("F1", c) ?? "-"} ms to the first packet on the new path")))
        {
            var maxSeq = Math.Max(1, report.UdpSent);
            Frame(svg, Top, "sequence position, % of each flow's total: UDP datagrams by interface (eth0 blue, eth1 orange), TCP 1 green, TCP 2 purple",
                "time (s)", endMs, 0, 100, "F0");
            foreach (var (receipts, colour) in new[] { (report.TcpReceipts[0], "#27ae60"), (report.TcpReceipts[1], "#8e44ad") })
            {
                var total = Math.Max(1, receipts.Sum(r => (long)r.Bytes));
                var line = new StringBuilder();
                long seen = 0;
                var stepTcp = Math.Max(1, receipts.Count / MaxPoints);
                for (var i = 0; i < receipts.Count; i++)
                {
                    seen += receipts[i].Bytes;
                    if (i % stepTcp == 0 || i == receipts.Count - 1)
                        line.Append(c, $"{(line.Length == 0 ? "M" : "L")}{X(receipts[i].TimeMs):F1} {Top + PanelHeight - (double)seen / total * PanelHeight:F1}");
                }
                Path(svg, line.ToString(), colour, 1.2, "none");
            }
            foreach (var (device, colour) in new[] { ("eth0", "#1f5fbf"), ("eth1", "#e07b00") })
            {
                var mine = report.UdpArrivals.Where(a => report.Name(a.Interface) == device).ToList();
                var step = Math.Max(1, mine.Count / MaxPoints);
                var dots = new StringBuilder();
                for (var i = 0; i < mine.Count; i += step)
                    dots.Append(c, $"M{X(mine[i].TimeMs):F1} {Top + PanelHeight - (double)mine[i].Sequence / maxSeq * PanelHeight:F1}h1.5");
                Path(svg, dots.ToString(), colour, 1.5, null);
            }

            var bins = (int)Math.Ceiling(endMs / BinMs);
            double[] Rate(IEnumerable<(double TimeMs, int Bytes)> receipts)
            {
                var r = new double[bins];
                foreach (var (time, bytes) in receipts)
                    if ((int)(time / BinMs) is var i && i >= 0 && i < bins)
                        r[i] += bytes * 8 / 1e6 * (1000 / BinMs);
                return r;
            }
            var series = new[]
            {
                (Name: "udp", Rate: Rate(report.UdpArrivals.Select(a => (a.TimeMs, 128 + 48))), Colour: "#1f5fbf"),
                (Name: "tcp1", Rate: Rate(report.TcpReceipts[0]), Colour: "#27ae60"),
                (Name: "tcp2", Rate: Rate(report.TcpReceipts[1]), Colour: "#8e44ad"),
            };
            var max = Math.Max(0.1, series.SelectMany(s => s.Rate).DefaultIfEmpty(0).Max() * 1.1);
            Frame(svg, top2, "throughput at the node, Mbit/s: UDP (blue), TCP 1 (green), TCP 2 (purple)", "time (s)", endMs, 0, max, "F1");
            foreach (var s in series)
                Path(svg, Polyline(s.Rate, v => top2 + PanelHeight - v / max * PanelHeight, X), s.Colour, 1.2, "none");

            foreach (var e in report.Events)
            {
                var colour = e.Kind switch { "loss" => "#c0392b", "outage" => "#000000", _ => "#7f8c8d" };
                foreach (var panelTop in new[] { Top, top2 })
                    Line(svg, X(e.TriggerMs), panelTop, X(e.TriggerMs), panelTop + PanelHeight, colour, "4 3");
                var label = e.Kind + (e.Moved.Count > 0 ? " " + string.Join(",", e.Moved.Select(m => m.Flow)) : "");
                Text(svg, X(e.TriggerMs) + 3, Top + 12, label, "start", 10);
            }
            svg.WriteEndElement();
        }
        return Encoding.UTF8.GetString(file.ToArray());
    }

    /// <summary>
    /// `lab run --scenario reflector --plot`: one panel per mode around the same handover (the second, a warm
    /// one): every UDP packet received each way — CN→MN (blue) and MN→CN at the CN (orange) — as its sequence
    /// number against its arrival time, from 200 ms before the detach to 600 ms after; detach (red), layer-2
    /// attach (purple) and registration (green) marked.
    /// </summary>
    public static string Render(ReflectorReport report)
    {
        var c = CultureInfo.InvariantCulture;
        const double Before = 200, After = 600;
        var plotWidth = Width - Left - Right;
        var height = Top + report.Runs.Count * (PanelHeight + Between) + 10;
        var file = new MemoryStream();
        using (var svg = Document(file, height, string.Create(c,
                   $"reflector scenario: gap {report.Options.Gap.TotalMilliseconds:F0} ms, MAG AAA {report.AaaDelay.TotalMilliseconds:F0} ms; UDP received CN→MN (blue), MN→CN (orange)")))
        {
            var top = (double)Top;
            foreach (var run in report.Runs)
            {
                Rect(svg, Left, top, plotWidth, PanelHeight, "none", "#888");
                var move = run.Moves.Count > 1 ? run.Moves[1] : run.Moves.FirstOrDefault();
                if (move is null)
                {
                    Text(svg, Left, top - 8, $"{ReflectorReport.Name(run.Mode)}: no handover measured", "start", 12);
                    top += PanelHeight + Between;
                    continue;
                }
                var (detach, attach, registered) = move.Times;
                double X(double ms) => Left + (ms - detach + Before) / (Before + After) * plotWidth;
                Text(svg, Left, top - 8, string.Create(c,
                    $"{ReflectorReport.Name(run.Mode)}: move {move.Number} {move.From}→{move.To}, CN→MN lost {move.Downlink.Lost}, MN→CN lost {move.Uplink.Lost}, attach→1st uplink {(move.AttachToFirstUplinkMs is { } a ? a.ToString("F1", c) + " ms" : "-")}"),
                    "start", 12);
                foreach (var (arrivals, colour) in new[] { (run.DownlinkArrivals, "#1f5fbf"), (run.UplinkArrivals, "#e07b00") })
                {
                    var shown = arrivals.Where(x => x.TimeMs >= detach - Before && x.TimeMs <= detach + After).ToList();
                    if (shown.Count == 0)
                        continue;
                    var low = shown.Min(x => x.Sequence);
                    var span = Math.Max(1, shown.Max(x => x.Sequence) - low);
                    var dots = new StringBuilder();
                    foreach (var x in shown)
                        dots.Append(c, $"M{X(x.TimeMs):F1} {top + PanelHeight - (double)(x.Sequence - low) / span * PanelHeight:F1}h1.5");
                    Path(svg, dots.ToString(), colour, 1.5, null);
                }
                foreach (var (at, colour, label) in new[] { (detach, "#c0392b", "detach"), (attach, "#8e44ad", "attach"), (registered, "#27ae60", "PBA") })
                {
                    Line(svg, X(at), top, X(at), top + PanelHeight, colour, "4 3");
                    Text(svg, X(at) + 3, top + 12 + (label == "attach" ? 12 : label == "PBA" ? 24 : 0), label, "start", 10);
                }
                for (var ms = -Before; ms <= After; ms += 100)
                {
                    Line(svg, X(detach + ms), top + PanelHeight, X(detach + ms), top + PanelHeight + 4, "#888", null);
                    Text(svg, X(detach + ms), top + PanelHeight + 16, ms.ToString("F0", c), "middle", 10);
                }
                Text(svg, Width - Right, top + PanelHeight + 30, "ms from the detach", "end", 11);
                top += PanelHeight + Between;
            }
            svg.WriteEndElement();
        }
        return Encoding.UTF8.GetString(file.ToArray());
    }

    /// <summary>An SVG document of the plot's width and <paramref name="height"/> on white, with its title; the caller closes the root.</summary>
    private static XmlWriter Document(Stream file, double height, string title)
    {
        var svg = XmlWriter.Create(file, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) });
        svg.WriteStartElement("svg", "http://www.w3.org/2000/svg");
        Attr(svg, "width", Width); Attr(svg, "height", height);
        svg.WriteAttributeString("viewBox", $"0 0 {Width} {height}");
        svg.WriteAttributeString("font-family", "sans-serif");
        svg.WriteAttributeString("font-size", "12");
        Rect(svg, 0, 0, Width, height, "white", null);
        Text(svg, Left, 20, title, "start", 14);
        return svg;
    }

    private static string Polyline(double[] bins, Func<double, double> y, Func<double, double> x)
    {
        var c = CultureInfo.InvariantCulture;
        var path = new StringBuilder();
        for (var i = 0; i < bins.Length; i++)
            path.Append(c, $"{(i == 0 ? 'M' : 'L')}{x((i + 0.5) * BinMs):F1} {y(bins[i]):F1}");
        return path.ToString();
    }

    private static void Frame(XmlWriter svg, double top, string title, string xLabel, double endMs, double yMin, double yMax, string yFormat)
    {
        var c = CultureInfo.InvariantCulture;
        Rect(svg, Left, top, Width - Left - Right, PanelHeight, "none", "#888");
        Text(svg, Left, top - 8, title, "start", 12);
        Text(svg, Left - 6, top + 4, yMax.ToString(yFormat, c), "end", 11);
        Text(svg, Left - 6, top + PanelHeight, yMin.ToString(yFormat, c), "end", 11);
        var seconds = endMs / 1000;
        var tick = seconds > 60 ? 10 : seconds > 20 ? 5 : 1;
        for (var s = 0; s <= seconds; s += tick)
        {
            var x = Left + s * 1000 / endMs * (Width - Left - Right);
            Line(svg, x, top + PanelHeight, x, top + PanelHeight + 4, "#888", null);
            Text(svg, x, top + PanelHeight + 16, s.ToString(c), "middle", 10);
        }
        Text(svg, Width - Right, top + PanelHeight + 30, xLabel, "end", 11);
    }

    private static void Attr(XmlWriter svg, string name, double value) => svg.WriteAttributeString(name, value.ToString("0.#", CultureInfo.InvariantCulture));

    private static void Rect(XmlWriter svg, double x, double y, double w, double h, string fill, string? stroke)
    {
        svg.WriteStartElement("rect");
        Attr(svg, "x", x); Attr(svg, "y", y); Attr(svg, "width", w); Attr(svg, "height", h);
        svg.WriteAttributeString("fill", fill);
        if (stroke is not null) svg.WriteAttributeString("stroke", stroke);
        svg.WriteEndElement();
    }

    private static void Line(XmlWriter svg, double x1, double y1, double x2, double y2, string stroke, string? dash)
    {
        svg.WriteStartElement("line");
        Attr(svg, "x1", x1); Attr(svg, "y1", y1); Attr(svg, "x2", x2); Attr(svg, "y2", y2);
        svg.WriteAttributeString("stroke", stroke);
        if (dash is not null) svg.WriteAttributeString("stroke-dasharray", dash);
        svg.WriteEndElement();
    }

    private static void Path(XmlWriter svg, string d, string stroke, double width, string? fill)
    {
        if (d.Length == 0) return;
        svg.WriteStartElement("path");
        svg.WriteAttributeString("d", d);
        svg.WriteAttributeString("stroke", stroke);
        Attr(svg, "stroke-width", width);
        svg.WriteAttributeString("fill", fill ?? "none");
        svg.WriteEndElement();
    }

    private static void Text(XmlWriter svg, double x, double y, string content, string anchor, int size)
    {
        svg.WriteStartElement("text");
        Attr(svg, "x", x); Attr(svg, "y", y);
        svg.WriteAttributeString("text-anchor", anchor);
        svg.WriteAttributeString("font-size", size.ToString(CultureInfo.InvariantCulture));
        svg.WriteString(content);
        svg.WriteEndElement();
    }
}
