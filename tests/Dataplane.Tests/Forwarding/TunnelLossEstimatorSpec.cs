// The per-tunnel loss estimate that will trigger flow moves on loss (issue 8): windows of cumulative
// counters, smoothing, too-thin windows skipped, hysteresis, and counters that go backwards.
using Pmip6Akka.Dataplane.Forwarding;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public sealed class TunnelLossEstimatorSpec
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static TunnelLossEstimator Estimator(int enterWindows = 2) => new(new LossEstimatorSettings
    {
        Window = S(1), MinimumPackets = 20, Smoothing = 0.5, EnterThreshold = 0.05, EnterWindows = enterWindows, LeaveThreshold = 0.01,
    });

    [Fact]
    public void Loss_is_the_share_of_a_windows_packets_lost_smoothed_across_windows()
    {
        var loss = Estimator();
        Assert.Equal(LossEvent.None, loss.Observe(S(0), 1000, 10)); // the baseline
        Assert.Equal(LossEvent.None, loss.Observe(S(0.5), 1050, 10)); // the window has not ended
        Assert.Equal(LossEvent.Measured, loss.Observe(S(1), 1100, 12));
        Assert.Equal(0.02, loss.Loss, 9); // 2 of 100; the first window is taken as it is
        Assert.Equal(LossEvent.Measured, loss.Observe(S(2), 1200, 16));
        Assert.Equal(0.04, loss.LastWindowLoss, 9);
        Assert.Equal(0.03, loss.Loss, 9); // 0.5 × 0.04 + 0.5 × 0.02
        Assert.False(loss.IsLossy);
    }

    [Fact]
    public void A_tunnel_turns_lossy_only_after_enough_windows_above_the_threshold_and_clears_below_the_lower_one()
    {
        var loss = Estimator(enterWindows: 2);
        loss.Observe(S(0), 0, 0);
        Assert.Equal(LossEvent.Measured, loss.Observe(S(1), 100, 10));    // 0.10: one window above
        Assert.Equal(LossEvent.BecameLossy, loss.Observe(S(2), 200, 20)); // 0.10 again: lossy
        Assert.True(loss.IsLossy);
        Assert.Equal(LossEvent.Measured, loss.Observe(S(3), 300, 20));    // 0.05: still above the leave threshold
        Assert.Equal(LossEvent.Measured, loss.Observe(S(4), 400, 20));    // 0.025
        Assert.Equal(LossEvent.Measured, loss.Observe(S(5), 500, 20));    // 0.0125
        Assert.Equal(LossEvent.Recovered, loss.Observe(S(6), 600, 20));   // 0.00625 < 0.01
        Assert.False(loss.IsLossy);
    }

    [Fact]
    public void A_single_loss_burst_does_not_make_a_tunnel_lossy_when_two_windows_are_required()
    {
        var loss = Estimator(enterWindows: 2);
        loss.Observe(S(0), 0, 0);
        Assert.Equal(LossEvent.Measured, loss.Observe(S(1), 100, 0));
        Assert.Equal(LossEvent.Measured, loss.Observe(S(2), 200, 12)); // 0.06 smoothed: one window above
        Assert.Equal(LossEvent.Measured, loss.Observe(S(3), 300, 12)); // 0.03: the streak is broken
        Assert.False(loss.IsLossy);
    }

    [Fact]
    public void A_window_with_too_few_packets_says_nothing()
    {
        var loss = Estimator(enterWindows: 1);
        loss.Observe(S(0), 0, 0);
        Assert.Equal(LossEvent.None, loss.Observe(S(1), 10, 5)); // half lost, but of only 10 packets
        Assert.Equal(1, loss.WindowsSkipped);
        Assert.Equal(0, loss.WindowsMeasured);
        Assert.False(loss.IsLossy);
    }

    [Fact]
    public void Counters_that_go_backwards_reset_the_baseline_instead_of_counting_negative_loss()
    {
        var loss = Estimator();
        loss.Observe(S(0), 5000, 100);
        Assert.Equal(LossEvent.CountersReset, loss.Observe(S(1), 30, 0)); // the qdisc was replaced
        Assert.Equal(LossEvent.Measured, loss.Observe(S(2), 130, 1));
        Assert.Equal(0.01, loss.Loss, 9);
    }

    [Fact]
    public void Settings_that_cannot_work_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TunnelLossEstimator(new LossEstimatorSettings { LeaveThreshold = 0.1, EnterThreshold = 0.05 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TunnelLossEstimator(new LossEstimatorSettings { Window = TimeSpan.Zero }));
    }
}
