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

    [Fact]
    public void The_lmas_compile_ahead_finds_every_namespace_it_names_and_compiles_the_buckets_and_the_codecs()
    {
        // A renamed namespace would silently leave its code to be compiled under the first PBUs again.
        var ours = new[] { typeof(Pmip6Akka.Actors.Lma.BindingBucket), typeof(Pmip6Akka.Dataplane.Wire.Ipv6Address), typeof(Warmup) }
            .SelectMany(t => t.Assembly.GetTypes()).Select(t => t.Namespace).ToHashSet();
        Assert.All(Warmup.LmaNamespaces, n => Assert.Contains(n, ours));

        var (methods, _, error) = Warmup.CompileLmaPath();
        Assert.Null(error);
        Assert.InRange(methods, 3000, 20_000); // ~6,000 today; far fewer means the filter lost most of the LMA's code

        // Nested types (the bucket's persisting continuations, lambdas' closures) are compiled with their declaring type.
        const System.Reflection.BindingFlags all = System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Instance
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        var bucket = typeof(Pmip6Akka.Actors.Lma.BindingBucket);
        var bucketOnly = Warmup.Compile([bucket]);
        var declared = bucket.GetMethods(all).Count(m => !m.IsAbstract && !m.ContainsGenericParameters) + bucket.GetConstructors(all).Length;
        Assert.True(bucketOnly > declared, $"{bucketOnly} compiled, {declared} methods and constructors declared by the bucket itself");
    }
}
