// The LMA's binding buckets as the daemon runs them: sharded (one-node cluster, remember-entities),
// journaled on SQLite through Pmip6Serializer, every message crossing the serializer.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

public sealed class PersistentShardingSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output), IDisposable
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly BindingEntitySettings Settings = new(Lma, BindingSettings.Default, Ipv6Prefix.Parse("2001:db8:a000::/40"), 64);
    private readonly TempDb _db = new();
    private readonly List<Akka.TestKit.TestProbe> _errorProbes = [];

    private async Task<(ActorSystem Node, IActorRef Region, Akka.TestKit.TestProbe Dataplane)> StartNode(string mode)
    {
        var node = await ActorSystemFactory.StartAsync("lma", _db.Node(), SpecConfig.Strict(mode));
        var errors = CreateTestProbe(node);
        node.EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));
        _errorProbes.Add(errors);
        var dataplane = CreateTestProbe(node);
        var region = await ClusterSharding.Get(node).StartAsync("binding",
            bucket => BindingBucket.Props(bucket, Settings, dataplane.Ref, null), ClusterShardingSettings.Create(node), new MnIdMessageExtractor());
        return (node, region, dataplane);
    }

    private void AssertNoErrorsLogged()
    {
        foreach (var p in _errorProbes)
            if (p.HasMessages) Assert.Fail("error logged: " + p.ReceiveOne(TimeSpan.Zero));
    }

    private static HandleProxyBindingUpdate Pbu() => new(
        new ProxyBindingUpdate(Mag, 1, TimeSpan.FromHours(1), Mn, [new Ipv6Prefix(default, 0)], HandoffIndicator.AttachmentOverNewInterface,
            AccessTechnologyType.Ieee8023, "020000000101", null, Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)),
        new MobileNodePolicy(Mn));

    /// <summary>Registers the MN and returns the prefix of the accepting PBA the bucket sent to the dataplane.</summary>
    private static async Task<Ipv6Prefix> Register(IActorRef region, Akka.TestKit.TestProbe dataplane)
    {
        region.Tell(Pbu());
        var send = await dataplane.FishForMessageAsync<SendMobilityMessage>(_ => true, Timeout);
        Assert.True(BindingAcknowledgement.TryDecode(send.Message, out var pba, out _));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, pba.Status);
        foreach (var hnp in pba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
            return HomeNetworkPrefixOption.Read(hnp.Data);
        throw new Xunit.Sdk.XunitException("PBA without a home network prefix");
    }

    [Theory]
    [InlineData("ddata")]
    [InlineData("persistence")]
    public async Task A_binding_survives_a_new_actor_system_on_the_same_sqlite_file(string mode)
    {
        var (node1, region1, dataplane1) = await StartNode(mode);
        var prefix = await Register(region1, dataplane1);
        await node1.Terminate();

        var (node2, region2, _) = await StartNode(mode);
        try
        {
            var binding = await region2.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout);
            var session = Assert.Single(binding.Sessions);
            Assert.Equal(prefix, Assert.Single(session.Prefixes));
            Assert.Equal(Mag, session.ProxyCoa);
        }
        finally { await node2.Terminate(); }
        AssertNoErrorsLogged();
    }

    [Theory]
    [InlineData("ddata")]
    [InlineData("persistence")]
    public async Task A_remembered_bucket_starts_again_after_a_restart_and_reinstalls_its_bindings_without_any_message(string mode)
    {
        var (node1, region1, dataplane1) = await StartNode(mode);
        var prefix = await Register(region1, dataplane1);
        await node1.Terminate();

        var (node2, _, dataplane2) = await StartNode(mode);
        try
        {
            var install = await dataplane2.FishForMessageAsync<InstallBinding>(i => i.MobileNodeId == Mn, Timeout);
            Assert.Equal(prefix, Assert.Single(install.Prefixes));
        }
        finally { await node2.Terminate(); }
        AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Binding_events_are_journaled_by_Pmip6Serializer_with_a_versioned_manifest()
    {
        var (node, region, dataplane) = await StartNode("ddata");
        try
        {
            await Register(region, dataplane);
        }
        finally { await node.Terminate(); }
        AssertNoErrorsLogged();

        var rows = _db.JournalRows().Where(r => r.PersistenceId == "bce-bucket-" + BindingBuckets.EntityId(Mn)).ToList();
        var row = Assert.Single(rows);
        Assert.Equal(("bce-registered.v1", Pmip6Serializer.Id), (row.Manifest, row.SerializerId));
    }

    public new void Dispose()
    {
        base.Dispose();
        _db.Dispose();
    }
}
