// What a mobile node saw of a numbered packet stream: from the send time of every sequence number and
// the arrivals in the order they came, the loss, duplicates, reordering and the longest silence
// (the interruption a handover caused). Pure, so the report's arithmetic is tested on its own.
namespace Pmip6Akka.Hosts.Lab;

/// <summary>Sequence number <see cref="Sequence"/> arrived at <see cref="TimeMs"/> (ms since the run's start).</summary>
/// <param name="Interface">The receiving interface's index when the stream records it (flow scenario), else 0.</param>
public readonly record struct Arrival(long Sequence, double TimeMs, int Interface = 0);

public sealed record StreamStatistics(long Sent, long Received, long Lost, long Duplicated, long Reordered, double LargestGapMs, double? GapStartMs);

public static class ArrivalStatistics
{
    /// <summary>
    /// Statistics of the packets sent in [<paramref name="fromMs"/>, <paramref name="toMs"/>): lost = sent but never arrived,
    /// duplicated = arrivals beyond the first, reordered = first arrivals with a lower sequence number than one already seen.
    /// The largest gap is between consecutive arrivals (any packet) whose silence overlaps the window; an arrival-less tail
    /// up to <paramref name="toMs"/> counts as a gap too.
    /// </summary>
    public static StreamStatistics Compute(IReadOnlyList<double> sendTimesMs, IReadOnlyList<Arrival> arrivals, double fromMs, double toMs)
    {
        bool InWindow(long seq) => seq >= 0 && seq < sendTimesMs.Count && sendTimesMs[(int)seq] >= fromMs && sendTimesMs[(int)seq] < toMs;

        long sent = 0;
        foreach (var t in sendTimesMs)
            if (t >= fromMs && t < toMs)
                sent++;

        var seen = new HashSet<long>();
        long received = 0, duplicated = 0, reordered = 0, highest = -1;
        foreach (var arrival in arrivals)
        {
            var first = seen.Add(arrival.Sequence);
            if (InWindow(arrival.Sequence))
            {
                if (!first)
                    duplicated++;
                else
                {
                    received++;
                    if (arrival.Sequence < highest)
                        reordered++;
                }
            }
            if (first)
                highest = Math.Max(highest, arrival.Sequence);
        }

        double largest = 0;
        double? gapStart = null;
        for (var i = 0; i + 1 < arrivals.Count; i++)
        {
            var (start, end) = (arrivals[i].TimeMs, arrivals[i + 1].TimeMs);
            if (end > fromMs && start < toMs && end - start > largest)
                (largest, gapStart) = (end - start, start);
        }
        var lastBefore = arrivals.Where(a => a.TimeMs < toMs).Select(a => (double?)a.TimeMs).LastOrDefault();
        var tailStart = Math.Max(lastBefore ?? fromMs, fromMs);
        if (!arrivals.Any(a => a.TimeMs >= toMs) && toMs - tailStart > largest)
            (largest, gapStart) = (toMs - tailStart, tailStart);
        return new StreamStatistics(sent, received, sent - received, duplicated, reordered, largest, gapStart);
    }

    /// <summary>Packets per second in consecutive bins of <paramref name="binMs"/> from 0 to <paramref name="endMs"/>.</summary>
    public static double[] Rate(IEnumerable<double> timesMs, double binMs, double endMs)
    {
        var bins = new double[Math.Max(1, (int)Math.Ceiling(endMs / binMs))];
        foreach (var t in timesMs)
        {
            var i = (int)(t / binMs);
            if (i >= 0 && i < bins.Length)
                bins[i]++;
        }
        for (var i = 0; i < bins.Length; i++)
            bins[i] *= 1000 / binMs;
        return bins;
    }
}
