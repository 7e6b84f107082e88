using Akka.Actor;
using Pmip6Akka.Actors.Persistence;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

public sealed class PersistentShardingSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output), IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempDb _db = new();

    private readonly List<Akka.TestKit.TestProbe> _errorProbes = [];

    private async Task<ActorSystem> StartNode(string mode)
    {
        var node = await ActorSystemFactory.StartAsync("lma", _db.Node(), SpecConfig.Strict(mode));
        var errors = CreateTestProbe(node);
        node.EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));
        _errorProbes.Add(errors);
        return node;
    }

    /// <summary>No error was logged (e.g. a serialize-messages verification failure).</summary>
    private void AssertNoErrorsLogged()
    {
        foreach (var p in _errorProbes)
            if (p.HasMessages) Assert.Fail("error logged: " + p.ReceiveOne(TimeSpan.Zero));
    }

    private static Task<TestCount> Send(IActorRef region, string id, IPmip6Serializable msg) =>
        region.Ask<TestCount>(new ShardEnvelope(id, msg), Timeout);

    [Theory]
    [InlineData("ddata")]
    [InlineData("persistence")]
    public async Task A_counter_entity_recovers_its_state_in_a_new_actor_system_on_the_same_sqlite_file(string mode)
    {
        var node1 = await StartNode(mode);
        var region1 = CounterEntity.StartRegion(node1);
        await Send(region1, "a", new TestIncrement(2));
        await Send(region1, "a", new TestIncrement(3));
        var b = await Send(region1, "b", new TestIncrement(10));
        Assert.Equal(10, b.Count);
        Assert.Equal(5, (await Send(region1, "a", TestGet.Instance)).Count);
        await node1.Terminate();

        var node2 = await StartNode(mode);
        try
        {
            var region2 = CounterEntity.StartRegion(node2);
            Assert.Equal(new TestCount("a", 5), await Send(region2, "a", TestGet.Instance));
            Assert.Equal(new TestCount("b", 11), await Send(region2, "b", new TestIncrement(1)));
        }
        finally { await node2.Terminate(); }
        AssertNoErrorsLogged();
    }

    [Theory]
    [InlineData("ddata")]
    [InlineData("persistence")]
    public async Task A_remembered_entity_is_started_again_after_restart_without_any_message(string mode)
    {
        var node1 = await StartNode(mode);
        var region1 = CounterEntity.StartRegion(node1);
        await Send(region1, "remembered", new TestIncrement(4));
        await node1.Terminate();

        var node2 = await StartNode(mode);
        try
        {
            var probe = CreateTestProbe(node2);
            node2.EventStream.Subscribe(probe.Ref, typeof(TestEntityStarted));
            CounterEntity.StartRegion(node2);
            var started = await probe.ExpectMsgAsync<TestEntityStarted>(TimeSpan.FromSeconds(15));
            Assert.Equal(new TestEntityStarted("remembered", 4), started);
        }
        finally { await node2.Terminate(); }
        AssertNoErrorsLogged();
    }

    [Fact]
    public async Task Events_are_written_to_the_journal_by_Pmip6Serializer_with_a_versioned_manifest()
    {
        var node = await StartNode("ddata");
        try
        {
            var region = CounterEntity.StartRegion(node);
            await Send(region, "ser", new TestIncrement(1));
            await Send(region, "ser", new TestIncrement(1));
        }
        finally { await node.Terminate(); }
        AssertNoErrorsLogged();

        var rows = _db.JournalRows().Where(r => r.PersistenceId == "test-ser").ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(("test-event.v1", Pmip6Serializer.Id), (r.Manifest, r.SerializerId)));
    }

    public new void Dispose()
    {
        base.Dispose();
        _db.Dispose();
    }
}
