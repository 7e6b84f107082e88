// What a binding bucket spec reads off the test probe standing in for the dataplane: everything in a window, everything
// until a condition holds, or everything the probe already holds.
using Akka.TestKit;

namespace Pmip6Akka.Actors.Tests.Lma;

internal static class DataplaneProbe
{
    /// <summary>At most this long for what a spec waits for.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static List<object> Collect(TestProbe dataplane, TimeSpan window) =>
        [.. dataplane.ReceiveWhile<object>(window, o => o, msgs: int.MaxValue)];

    /// <summary>What the bucket sends until <paramref name="complete"/> holds of it (at most <see cref="Timeout"/>), then a short quiet period's worth.</summary>
    public static List<object> CollectUntil(TestProbe dataplane, Func<List<object>, bool> complete)
    {
        var received = new List<object>();
        var deadline = DateTime.UtcNow + Timeout;
        while (!complete(received) && DateTime.UtcNow < deadline)
            received.Add(dataplane.ReceiveOne(deadline - DateTime.UtcNow) ?? throw new Xunit.Sdk.XunitException("nothing more from the bucket"));
        received.AddRange(Collect(dataplane, TimeSpan.FromMilliseconds(100)));
        return received;
    }

    /// <summary>
    /// What the probe holds already. Called once the region has answered a question asked after some messages, it takes
    /// everything the bucket sent before it took them: what the probe receives next was sent after.
    /// </summary>
    public static List<object> TakeAll(TestProbe dataplane)
    {
        var taken = new List<object>();
        while (dataplane.HasMessages)
            taken.Add(dataplane.ReceiveOne(TimeSpan.Zero)!);
        return taken;
    }
}
