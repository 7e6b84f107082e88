// What the LMA's handover buffer did for each move of the handover scenario (issue 6): its finished
// buffering episodes (LMA /status `buffering.episodes`) matched to the moves by time, and the deltas of
// the tunnel counters around each move (downlink the previous MAG returned to the LMA, downlink the new
// MAG parked). Loss, duplicates and reordering stay counted at the mobile node's receiver; these are the
// daemon's own view, for the buffer's peak, flush duration and the delay it added.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pmip6Akka.Hosts.Lab;

/// <summary>One finished buffering episode as the LMA reported it; <see cref="StartMs"/> in ms since the run's start.</summary>
public sealed record LmaEpisode(string MnId, double StartMs, double HeldMs, int Packets, int Peak, long PeakBytes, int Released, int Dropped,
    double FlushMs, double MaxAddedDelayMs, double MeanAddedDelayMs, string Outcome);

/// <summary>The tunnel counters that matter for a handover, read before a move (and once at the end).</summary>
public sealed record TunnelCounterSnapshot(long ReturnedByMag, IReadOnlyDictionary<string, long> ReturnedToLma, IReadOnlyDictionary<string, long> Parked)
{
    public static readonly TunnelCounterSnapshot Empty = new(0, new Dictionary<string, long>(), new Dictionary<string, long>());
}

/// <summary>The buffer's figures for one move (the sum over its episodes; normally exactly one).</summary>
public sealed record BufferFigures(int Episodes, int Packets, int Peak, long PeakBytes, int Released, int Dropped, double HeldMs, double FlushMs,
    double MeanAddedDelayMs, double MaxAddedDelayMs, string? Outcome, long ReturnedByPreviousMag, long ReturnedToLma, long ParkedAtNewMag)
{
    public JsonObject ToJson() => new()
    {
        ["episodes"] = Episodes,
        ["peak"] = Peak,
        ["peakBytes"] = PeakBytes,
        ["held"] = Packets,
        ["released"] = Released,
        ["dropped"] = Dropped,
        ["heldMs"] = Math.Round(HeldMs, 1),
        ["flushMs"] = Math.Round(FlushMs, 1),
        ["meanAddedDelayMs"] = Math.Round(MeanAddedDelayMs, 1),
        ["maxAddedDelayMs"] = Math.Round(MaxAddedDelayMs, 1),
        ["outcome"] = Outcome,
        ["returnedByPreviousMag"] = ReturnedByPreviousMag,
        ["returnedToLmaByPreviousMag"] = ReturnedToLma,
        ["parkedAtNewMag"] = ParkedAtNewMag,
    };
}

public static class HandoverBufferFigures
{
    /// <summary>An episode starting this long before a detach still counts for that move (clock mapping slack).</summary>
    public const double StartToleranceMs = 20;

    /// <summary>
    /// The figures per move: each episode of <paramref name="mnId"/> goes to the latest move detached before it started;
    /// counters are the differences between the snapshot before the move and the one before the next (or the final one).
    /// <paramref name="snapshots"/> has one entry per move plus the final one.
    /// </summary>
    public static IReadOnlyList<BufferFigures> Match(IReadOnlyList<HandoverMove> moves, string mnId, IReadOnlyList<LmaEpisode> episodes,
        IReadOnlyList<TunnelCounterSnapshot> snapshots)
    {
        var assigned = moves.Select(_ => new List<LmaEpisode>()).ToList();
        foreach (var e in episodes.Where(e => e.MnId == mnId))
        {
            var index = -1;
            for (var i = 0; i < moves.Count; i++)
                if (moves[i].DetachMs <= e.StartMs + StartToleranceMs)
                    index = i;
            if (index >= 0)
                assigned[index].Add(e);
        }
        var result = new List<BufferFigures>();
        for (var i = 0; i < moves.Count; i++)
        {
            var list = assigned[i].OrderBy(e => e.StartMs).ToList();
            var before = i < snapshots.Count ? snapshots[i] : TunnelCounterSnapshot.Empty;
            var after = i + 1 < snapshots.Count ? snapshots[i + 1] : before;
            var released = list.Sum(e => e.Released);
            result.Add(new BufferFigures(
                list.Count,
                list.Sum(e => e.Packets),
                list.Count == 0 ? 0 : list.Max(e => e.Peak),
                list.Count == 0 ? 0 : list.Max(e => e.PeakBytes),
                released,
                list.Sum(e => e.Dropped),
                list.Sum(e => e.HeldMs),
                list.Sum(e => e.FlushMs),
                released == 0 ? 0 : list.Sum(e => e.MeanAddedDelayMs * e.Released) / released,
                list.Count == 0 ? 0 : list.Max(e => e.MaxAddedDelayMs),
                list.Count == 0 ? null : string.Join('+', list.Select(e => e.Outcome)),
                after.ReturnedByMag - before.ReturnedByMag,
                Delta(before.ReturnedToLma, after.ReturnedToLma, moves[i].From),
                Delta(before.Parked, after.Parked, moves[i].To)));
        }
        return result;
    }

    private static long Delta(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after, string mag) =>
        after.GetValueOrDefault(mag) - before.GetValueOrDefault(mag);

    /// <summary>The episodes in an LMA /status document (none when buffering is off); start times relative to <paramref name="originUtc"/>.</summary>
    public static IReadOnlyList<LmaEpisode> Episodes(JsonElement? lmaStatus, DateTimeOffset originUtc)
    {
        if (lmaStatus is not { } s || !s.TryGetProperty("buffering", out var b) || b.ValueKind != JsonValueKind.Object
            || !b.TryGetProperty("episodes", out var list) || list.ValueKind != JsonValueKind.Array)
            return [];
        return [.. list.EnumerateArray().Select(e => new LmaEpisode(
            e.GetProperty("mnId").GetString() ?? "",
            (DateTimeOffset.Parse(e.GetProperty("startedAt").GetString()!, CultureInfo.InvariantCulture) - originUtc).TotalMilliseconds,
            e.GetProperty("heldMs").GetDouble(), e.GetProperty("packets").GetInt32(), e.GetProperty("peak").GetInt32(),
            e.GetProperty("peakBytes").GetInt64(), e.GetProperty("released").GetInt32(), e.GetProperty("dropped").GetInt32(),
            e.GetProperty("flushMs").GetDouble(), e.GetProperty("maxAddedDelayMs").GetDouble(), e.GetProperty("meanAddedDelayMs").GetDouble(),
            e.GetProperty("outcome").GetString() ?? ""))];
    }

    /// <summary>A tunnel counter (no reason label) from a daemon's /status `tunnel.counters`; 0 when absent.</summary>
    public static long TunnelCounter(JsonElement? status, string name)
    {
        if (status is not { } s || !s.TryGetProperty("tunnel", out var t) || t.ValueKind != JsonValueKind.Object
            || !t.TryGetProperty("counters", out var counters) || counters.ValueKind != JsonValueKind.Array)
            return 0;
        return counters.EnumerateArray()
            .Where(c => c.GetProperty("name").GetString() == name && c.GetProperty("reason").GetString() is null or "")
            .Sum(c => c.GetProperty("count").GetInt64());
    }

    /// <summary>Reads the LMA's and every MAG's tunnel counters now.</summary>
    public static TunnelCounterSnapshot Snapshot(LabPlan plan, CancellationToken cancel)
    {
        var lma = DaemonHttp.TryGetJson(LabPlan.LmaNamespace, LabPlan.LmaHttpPort, "/status?limit=1", cancel);
        var returned = new Dictionary<string, long>(StringComparer.Ordinal);
        var parked = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var mag in plan.MagList)
        {
            var status = DaemonHttp.TryGetJson(mag.Namespace, mag.HttpPort, "/status", cancel);
            returned[mag.Name] = TunnelCounter(status, "tunnel_returned_to_lma_total");
            parked[mag.Name] = TunnelCounter(status, "tunnel_parked_total");
        }
        return new TunnelCounterSnapshot(TunnelCounter(lma, "tunnel_returned_by_mag_total"), returned, parked);
    }
}
