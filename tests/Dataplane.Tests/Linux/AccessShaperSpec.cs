// A node's QoS profile on its access link (Context Reflector): the downlink rate as a tbf root qdisc on
// the access device, applied and lifted by the MAG's dataplane through tc, against a real kernel in a
// test namespace.
using Pmip6Akka.Dataplane.Linux;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public sealed class AccessShaperSpec : IDisposable
{
    private readonly NetworkNamespaces _namespaces = new();

    public void Dispose() => _namespaces.Dispose();

    private static string Qdisc(string ns, string device) => NetworkNamespaces.Ip("netns", "exec", ns, "tc", "qdisc", "show", "dev", device, "root");

    [Fact]
    public void The_downlink_rate_becomes_a_token_bucket_on_the_access_device_and_goes_again()
    {
        var mag = _namespaces.Create('m');
        var node = _namespaces.Create('n');
        _namespaces.Veth(mag, "acc0", node, "eth0");
        var shaper = new AccessShaper();

        Assert.True(_namespaces.Run(mag, () => shaper.TryShape("acc0", 20_000, out var error) ? null : error) is null);
        Assert.Matches(@"qdisc tbf \S+ root .*rate 20Mbit", Qdisc(mag, "acc0"));
        Assert.True(_namespaces.Run(mag, () => shaper.TryShape("acc0", 5_000, out _))); // a new profile replaces the old
        Assert.Matches(@"rate 5Mbit", Qdisc(mag, "acc0"));

        Assert.True(_namespaces.Run(mag, () => shaper.TryClear("acc0", out _)));
        Assert.DoesNotContain("tbf", Qdisc(mag, "acc0"));
        Assert.True(_namespaces.Run(mag, () => shaper.TryClear("acc0", out _)), "clearing twice is not an error");
    }

    [Fact]
    public void A_device_that_is_not_there_is_an_error_naming_the_command()
    {
        var mag = _namespaces.Create('m');
        string? error = null;
        Assert.False(_namespaces.Run(mag, () => new AccessShaper().TryShape("nosuchdev", 1_000, out error)));
        Assert.Contains("tc qdisc replace dev nosuchdev root tbf rate 1000kbit", error);
    }

    [Fact]
    public void The_burst_holds_10_ms_at_the_rate_and_never_less_than_3000_bytes()
    {
        Assert.Equal(["qdisc", "replace", "dev", "mn1", "root", "tbf", "rate", "80000kbit", "burst", "100000", "latency", "50ms"],
            AccessShaper.ShapeArguments("mn1", 80_000));
        Assert.Equal("3000", AccessShaper.ShapeArguments("mn1", 64)[9]);
    }
}
