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

    [Fact]
    public void The_lmas_flow_warm_up_moves_a_flow_through_the_http_handler_and_reads_the_event_back_through_our_serializer()
    {
        using var system = Akka.Actor.ActorSystem.Create("warmup", Akka.Configuration.ConfigurationFactory.ParseString(
            Pmip6Akka.Actors.Persistence.ActorSystemFactory.DefaultHocon()));
        Assert.Equal(1, Warmup.RunFlows(system));
    }
}
