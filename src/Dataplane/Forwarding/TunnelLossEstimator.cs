// Per-tunnel loss for flow moves on loss (issue 8), kept pure: the estimator is fed cumulative counters
// by whoever reads them — egress qdisc statistics over rtnetlink (packets sent, packets dropped) or
// the tunnel probe bookkeeping (probes sent, probes unanswered after their timeout) — and turns them into
// a smoothed loss ratio per window with a hysteresis verdict. No syscalls, no clock: times are passed in.
// See docs/DESIGN-NOTES.md, "Per-tunnel loss".
namespace Pmip6Akka.Dataplane.Forwarding;

public sealed record LossEstimatorSettings
{
    public static readonly LossEstimatorSettings Default = new();

    /// <summary>Counters are compared once per window.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Windows with fewer packets than this say nothing (too little evidence) and are skipped.</summary>
    public long MinimumPackets { get; init; } = 20;
    /// <summary>Smoothing across windows: loss = a × window loss + (1 − a) × loss.</summary>
    public double Smoothing { get; init; } = 0.5;
    /// <summary>The tunnel turns lossy when the smoothed loss reaches this...</summary>
    public double EnterThreshold { get; init; } = 0.05;
    /// <summary>...for this many windows in a row...</summary>
    public int EnterWindows { get; init; } = 2;
    /// <summary>...and is clear again once it falls below this (lower: no flapping around one value).</summary>
    public double LeaveThreshold { get; init; } = 0.01;

    public void Validate()
    {
        if (Window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Window), Window, "must be positive");
        if (MinimumPackets < 1) throw new ArgumentOutOfRangeException(nameof(MinimumPackets), MinimumPackets, "at least 1");
        if (Smoothing is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Smoothing), Smoothing, "in (0, 1]");
        if (EnterThreshold is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(EnterThreshold), EnterThreshold, "in (0, 1]");
        if (LeaveThreshold < 0 || LeaveThreshold >= EnterThreshold)
            throw new ArgumentOutOfRangeException(nameof(LeaveThreshold), LeaveThreshold, "in [0, enter threshold)");
        if (EnterWindows < 1) throw new ArgumentOutOfRangeException(nameof(EnterWindows), EnterWindows, "at least 1");
    }
}

/// <summary>What one <see cref="TunnelLossEstimator.Observe"/> call concluded.</summary>
public enum LossEvent : byte
{
    /// <summary>Nothing changed (the window has not ended, or it had too few packets).</summary>
    None,
    /// <summary>A window closed; the tunnel's state is unchanged.</summary>
    Measured,
    /// <summary>The tunnel just became lossy: time to move its highest-rate flow elsewhere.</summary>
    BecameLossy,
    /// <summary>The tunnel is clear again.</summary>
    Recovered,
    /// <summary>A counter went backwards (qdisc replaced, daemon restarted): the baseline was reset.</summary>
    CountersReset,
}

/// <summary>One tunnel's loss estimate. Single-threaded: the owner (one actor or thread) calls it.</summary>
public sealed class TunnelLossEstimator
{
    private readonly LossEstimatorSettings _settings;
    private bool _started;
    private long _windowStart, _sentBase, _lostBase;
    private int _windowsAbove;

    public TunnelLossEstimator(LossEstimatorSettings? settings = null)
    {
        _settings = settings ?? LossEstimatorSettings.Default;
        _settings.Validate();
    }

    /// <summary>Smoothed fraction of packets lost, 0 to 1, over the windows measured so far.</summary>
    public double Loss { get; private set; }
    /// <summary>The last window's own loss fraction.</summary>
    public double LastWindowLoss { get; private set; }
    public bool IsLossy { get; private set; }
    public long WindowsMeasured { get; private set; }
    public long WindowsSkipped { get; private set; }

    /// <summary>
    /// Feeds the cumulative counters read at <paramref name="now"/>: packets offered to the tunnel and packets
    /// of those lost (dropped by the qdisc, or probes unanswered). Counters may be read as often as convenient.
    /// </summary>
    public LossEvent Observe(TimeSpan now, long sentTotal, long lostTotal)
    {
        if (!_started || sentTotal < _sentBase || lostTotal < _lostBase)
        {
            var reset = _started;
            Restart(now, sentTotal, lostTotal);
            return reset ? LossEvent.CountersReset : LossEvent.None;
        }
        if (now - TimeSpan.FromTicks(_windowStart) < _settings.Window)
            return LossEvent.None;
        var sent = sentTotal - _sentBase;
        var lost = Math.Min(lostTotal - _lostBase, sent);
        _windowStart = now.Ticks;
        _sentBase = sentTotal;
        _lostBase = lostTotal;
        if (sent < _settings.MinimumPackets)
        {
            WindowsSkipped++;
            return LossEvent.None;
        }
        WindowsMeasured++;
        LastWindowLoss = (double)lost / sent;
        var a = _settings.Smoothing;
        Loss = WindowsMeasured == 1 ? LastWindowLoss : a * LastWindowLoss + (1 - a) * Loss;
        if (!IsLossy)
        {
            _windowsAbove = Loss >= _settings.EnterThreshold ? _windowsAbove + 1 : 0;
            if (_windowsAbove < _settings.EnterWindows)
                return LossEvent.Measured;
            IsLossy = true;
            return LossEvent.BecameLossy;
        }
        if (Loss >= _settings.LeaveThreshold)
            return LossEvent.Measured;
        IsLossy = false;
        _windowsAbove = 0;
        return LossEvent.Recovered;
    }

    private void Restart(TimeSpan now, long sentTotal, long lostTotal)
    {
        _started = true;
        _windowStart = now.Ticks;
        _sentBase = sentTotal;
        _lostBase = lostTotal;
    }
}
