// Bytes a loop allocates on this thread once the runtime has settled: the JIT's own work (tiering up,
// on-stack replacement of a hot loop) can land on the measuring thread during the first rounds, so the
// loop runs a few times and the fewest bytes count. A per-packet allocation shows in every round.
namespace Pmip6Akka.Dataplane.Tests.Forwarding;

public static class Allocations
{
    public static long SteadyState(Action loop, int rounds = 5)
    {
        var fewest = long.MaxValue;
        for (var i = 0; i < rounds && fewest > 0; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            loop();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
