// The daemons' warm-up drives one synthetic node through attach, handover and de-registration with
// the real pure code; every step must succeed, or the warm-up would be exercising an error path.
using Pmip6Akka.Hosts.Daemons;
using Xunit;

namespace Pmip6Akka.Hosts.Tests;

public sealed class WarmupSpec
{
    [Fact]
    public void The_warm_up_registers_hands_over_de_registers_and_decodes_a_solicitation()
    {
        Assert.Equal(4, Warmup.Run());
    }
}
