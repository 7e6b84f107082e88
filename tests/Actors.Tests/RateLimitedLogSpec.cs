// Rejected signalling is logged without letting a flood write a line per packet.
using Pmip6Akka.Actors.Observability;

namespace Pmip6Akka.Actors.Tests;

public class RateLimitedLogSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_first_of_a_kind_is_logged_then_one_line_a_minute_with_the_count()
    {
        var log = new RateLimitedLog(TimeSpan.FromMinutes(1));
        Assert.True(log.ShouldLog("bad-mac", T0, out var count));
        Assert.Equal(1, count);
        for (var i = 1; i <= 1000; i++)
            Assert.False(log.ShouldLog("bad-mac", T0.AddMilliseconds(i * 50), out _));
        Assert.True(log.ShouldLog("bad-mac", T0.AddMinutes(1), out count));
        Assert.Equal(1001, count); // the thousand suppressed ones and this one
        Assert.False(log.ShouldLog("bad-mac", T0.AddMinutes(1.5), out _));
    }

    [Fact]
    public void Each_kind_has_its_own_allowance()
    {
        var log = new RateLimitedLog(TimeSpan.FromMinutes(1));
        Assert.True(log.ShouldLog("bad-mac", T0, out _));
        Assert.True(log.ShouldLog("replay", T0, out _));
        Assert.False(log.ShouldLog("bad-mac", T0.AddSeconds(1), out _));
    }
}
