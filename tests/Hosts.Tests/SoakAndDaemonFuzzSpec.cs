using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Tests;

/// <summary>`pmip6 bench soak` and `pmip6 fuzz daemons`: their options and the verdicts they print.</summary>
public class SoakAndDaemonFuzzSpec
{
    private static T Parse<T>(Func<Arguments, T> parse, string line)
    {
        var args = Arguments.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var options = parse(args);
        args.EnsureAllUsed();
        return options;
    }

    [Fact]
    public void The_soak_defaults_to_an_hour_at_half_the_sustainable_rate()
    {
        var o = Parse(SoakOptions.Parse, "--against-self");
        Assert.Equal((TimeSpan.FromHours(1), 2500L, 20_000, TimeSpan.FromSeconds(30)), (o.Duration, o.Rate, o.Population, o.Interval));
        Assert.Equal(TimeSpan.FromMinutes(10), Parse(SoakOptions.Parse, "--against-self --duration 10m").Duration);
        Assert.Equal(TimeSpan.FromSeconds(90), Parse(SoakOptions.Parse, "--against-self --duration 90s --interval 20").Duration);
        Assert.Equal(["snapshot-every = 200"], Parse(SoakOptions.Parse, "--against-self --lma-settings snapshot-every=200").LmaSettings);
    }

    [Theory]
    [InlineData("--against-self --duration 10x", "--duration must be a whole number of seconds, minutes or hours up to 168 h (600, 90s, 10m, 1h), got '10x'")]
    [InlineData("--against-self --duration -5m", "--duration must be a whole number")]
    [InlineData("--against-self --duration 8d", "--duration must be a whole number")]
    [InlineData("--against-self --duration 60 --interval 30", "--interval (30 s) must leave at least four samples under load in --duration (60 s)")]
    [InlineData("--lma 2001:db8::1", "--pid is required with --lma")]
    [InlineData("--against-self --store /tmp/x.db", "--store is for an external LMA")]
    [InlineData("--against-self --rate 0", "--rate must be an integer from 1")]
    public void A_bad_soak_option_is_named(string line, string message)
    {
        var e = Assert.Throws<UsageException>(() => Parse(SoakOptions.Parse, line));
        Assert.StartsWith(message, e.Message);
    }

    private static SoakSample S(int seconds, long rssMib, int fds, long dbMib, long bindings, long operations) =>
        new(TimeSpan.FromSeconds(seconds), rssMib << 20, fds, dbMib << 20, 1 << 20, bindings, operations);

    [Fact]
    public void The_soak_passes_when_only_the_journal_grows_and_levels_off()
    {
        var samples = new[] { S(0, 100, 200, 0, 0, 0), S(30, 150, 210, 20, 20_000, 75_000), S(60, 160, 210, 35, 20_100, 150_000), S(90, 158, 211, 40, 20_050, 225_000),
            S(120, 161, 210, 41, 20_080, 300_000), S(150, 160, 211, 41, 20_090, 375_000), S(180, 162, 210, 41, 20_070, 450_000), S(210, 160, 211, 41, 20_060, 525_000),
            S(240, 161, 210, 41, 20_100, 600_000) };
        var (passed, lines) = SoakVerdict.Judge(samples);
        Assert.True(passed, string.Join("\n", lines));
        Assert.Contains(lines, l => l.StartsWith("journal") && l.Contains("levelling off"));
    }

    [Theory]
    [InlineData("resident memory", 100, 0, 0)]
    [InlineData("open descriptors", 0, 3, 0)]
    [InlineData("journal", 0, 0, 10)]
    public void The_soak_fails_when_memory_descriptors_or_the_journal_keep_growing(string figure, int rssStep, int fdStep, int dbStep)
    {
        var samples = Enumerable.Range(1, 8).Select(k => S(30 * k, 150 + rssStep * k, 210 + fdStep * k, 20 + dbStep * k, 20_000, 75_000L * k)).ToList();
        var (passed, lines) = SoakVerdict.Judge(samples);
        Assert.False(passed);
        Assert.Contains(lines, l => l.StartsWith(figure) && (l.Contains("GREW") || l.Contains("STILL GROWING")));
    }

    [Fact]
    public void A_warm_up_in_the_first_quarter_followed_by_a_plateau_is_not_growth_and_a_rise_after_it_is()
    {
        // The shape of the 1 h soak of 2026-11-26: resident memory rises through the first quarter, then stays.
        int[] plateau = [214, 215, 220, 240, 261, 300, 311, 312, 311, 313, 318, 320, 321, 320, 321, 320];
        var samples = plateau.Select((rss, k) => S(30 * (k + 1), rss, 215, 335, 23_000, 180_000L * (k + 1))).ToList();
        var (passed, lines) = SoakVerdict.Judge(samples);
        Assert.True(passed, string.Join("\n", lines));
        Assert.Contains(lines, l => l.StartsWith("resident memory") && l.Contains("warm-up quarter") && l.Contains("bounded"));

        int[] rising = [214, 215, 220, 240, 261, 270, 280, 290, 300, 310, 320, 330, 340, 350, 360, 370];
        (passed, lines) = SoakVerdict.Judge([.. rising.Select((rss, k) => S(30 * (k + 1), rss, 215, 335, 23_000, 180_000L * (k + 1)))]);
        Assert.False(passed);
        Assert.Contains(lines, l => l.StartsWith("resident memory") && l.Contains("GREW"));
    }

    [Fact]
    public void Fewer_than_four_samples_under_load_are_no_verdict()
    {
        var (passed, lines) = SoakVerdict.Judge([S(0, 1, 1, 1, 0, 0), S(30, 1, 1, 1, 1, 10)]);
        Assert.False(passed);
        Assert.Contains("at least four are needed", Assert.Single(lines));
    }

    [Fact]
    public void Daemon_fuzz_options_default_to_ten_minutes()
    {
        var o = Parse(DaemonFuzzOptions.Parse, "--seed 7");
        Assert.Equal((TimeSpan.FromMinutes(10), 2000L, 5, 7), (o.Duration, o.Rate, o.MobileNodes, o.Seed));
        var e = Assert.Throws<UsageException>(() => Parse(DaemonFuzzOptions.Parse, "--duration soon"));
        Assert.StartsWith("--duration must be a whole number", e.Message);
    }

    private const string LmaStatus = """
        {"role":"lma","bindings":[
          {"mnId":"b@x","sessionId":1,"hnps":["2001:db8:a000:1::/64"],"proxyCoa":"2001:db8:1::2","state":"registered","lifetimeSeconds":3599},
          {"mnId":"a@x","sessionId":1,"hnps":["2001:db8:a000:2::/64"],"proxyCoa":"2001:db8:1::2","state":"registered","lifetimeSeconds":3500}]}
        """;

    [Fact]
    public void Bindings_are_compared_without_their_lifetimes()
    {
        var before = BindingFacts.FromStatus(LmaStatus);
        Assert.Equal(["a@x", "b@x"], before.Select(b => b.MobileNodeId));
        var older = BindingFacts.FromStatus(LmaStatus.Replace("3599", "12").Replace("3500", "1"));
        Assert.Empty(BindingFacts.Changes(before, older, ["a@x", "b@x"]));
    }

    [Fact]
    public void A_binding_gone_moved_or_with_another_prefix_is_a_change()
    {
        var before = BindingFacts.FromStatus(LmaStatus);
        var after = BindingFacts.FromStatus(LmaStatus.Replace("2001:db8:a000:2::/64", "2001:db8:a000:9::/64").Replace("""{"mnId":"b@x","sessionId":1,"hnps":["2001:db8:a000:1::/64"],"proxyCoa":"2001:db8:1::2","state":"registered","lifetimeSeconds":3599},""", ""));
        var changes = BindingFacts.Changes(before, after, ["a@x", "b@x"]);
        Assert.Equal(2, changes.Count);
        Assert.StartsWith("a@x: before [2001:db8:a000:2::/64 via 2001:db8:1::2 registered], after [2001:db8:a000:9::/64", changes[0]);
        Assert.StartsWith("b@x: before [2001:db8:a000:1::/64 via 2001:db8:1::2 registered], after []", changes[1]);
        var mag = BindingFacts.FromStatus("""{"role":"mag","bindingUpdateList":[{"mnId":"a@x","hnps":["2001:db8:a000:2::/64"],"proxyCoa":"2001:db8:1::2","state":"registered","lifetimeSeconds":5}]}""");
        Assert.Single(mag);
    }
}
