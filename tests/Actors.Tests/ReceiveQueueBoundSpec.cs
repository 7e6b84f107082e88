// The bound between the Mobility Header receive thread and the node's actors (issue 10): the receive
// thread enters before it hands a message over; the signalling guard gives the place back for what it
// drops, the protocol handler for every message it takes. Past the capacity the receive thread drops.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests;

public sealed class ReceiveQueueBoundSpec() : TestKit("akka.actor.serialize-messages = off")
{
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");

    [Fact]
    public void Past_the_capacity_a_message_is_refused_and_counted_until_one_leaves()
    {
        var bound = new ReceiveQueueBound(2);
        Assert.True(bound.TryEnter());
        Assert.True(bound.TryEnter());
        Assert.False(bound.TryEnter());
        Assert.False(bound.TryEnter());
        Assert.Equal((2, 2L), (bound.Depth, bound.Dropped));
        bound.Leave();
        Assert.True(bound.TryEnter());
        Assert.Equal((2, 2L), (bound.Depth, bound.Dropped));
    }

    [Fact]
    public void Leaving_more_often_than_entering_never_makes_room_beyond_the_capacity()
    {
        var bound = new ReceiveQueueBound(1);
        bound.Leave();
        bound.Leave();
        Assert.Equal(0, bound.Depth);
        Assert.True(bound.TryEnter());
        Assert.False(bound.TryEnter());
    }

    [Fact]
    public void A_capacity_below_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReceiveQueueBound(0));
    }

    [Fact]
    public void The_protocol_handler_gives_back_the_place_of_every_message_it_takes_malformed_ones_included()
    {
        var bound = new ReceiveQueueBound(8);
        var lma = Sys.ActorOf(LmaNode.Props(new LmaNodeSettings(Lma, new LmaAdmissionSettings([Mag]), 1) { ReceiveQueue = bound },
            new InMemoryPolicyStore([]), CreateTestProbe().Ref, CreateTestProbe().Ref, new Counters()));
        for (var i = 0; i < 5; i++)
            Assert.True(bound.TryEnter());
        for (var i = 0; i < 5; i++)
            lma.Tell(new MobilityMessageReceived([0xFF, 0x00, (byte)i], Mag, Lma, DateTimeOffset.UtcNow));
        AwaitAssert(() => Assert.Equal(0, bound.Depth), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void The_signalling_guard_gives_back_the_place_of_a_message_it_drops_and_passes_the_others_on()
    {
        var bound = new ReceiveQueueBound(8);
        var counters = new Counters();
        var endpoint = CreateTestProbe();
        var guard = Sys.ActorOf(SignallingGuard.Props(CreateTestProbe().Ref, new FixedKeys(KeyRing.Empty), new AuthenticationSettings(true, TimeSpan.FromSeconds(1)),
            new SignallingGuard.SignallingGuardSettings(TimeSpan.FromHours(1)) { ReceiveQueue = bound }, counters));
        guard.Tell(new RegisterEndpoint(Lma), endpoint.Ref);
        Assert.True(bound.TryEnter());
        Assert.True(bound.TryEnter());
        guard.Tell(new MobilityMessageReceived([0x3B, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00], Mag, Lma, DateTimeOffset.UtcNow)); // no authentication option
        AwaitAssert(() => Assert.Equal(1, bound.Depth), TimeSpan.FromSeconds(5)); // the dropped one left; the other is still on its way
        Assert.Equal(1, counters.Snapshot().Counters.Where(c => c.Name == "mh_auth_rejected_total").Sum(c => c.Value));
        endpoint.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_message_the_receive_thread_authenticated_passes_the_guard_as_it_is()
    {
        var counters = new Counters();
        var endpoint = CreateTestProbe();
        var guard = Sys.ActorOf(SignallingGuard.Props(CreateTestProbe().Ref, new FixedKeys(KeyRing.Empty), new AuthenticationSettings(true, TimeSpan.FromSeconds(1)),
            new SignallingGuard.SignallingGuardSettings(TimeSpan.FromHours(1)), counters));
        guard.Tell(new RegisterEndpoint(Lma), endpoint.Ref);
        var checkedOnReceipt = new MobilityMessageReceived([0x3B, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00], Mag, Lma, DateTimeOffset.UtcNow, Authenticated: true);
        guard.Tell(checkedOnReceipt);
        Assert.Same(checkedOnReceipt.Message, endpoint.ExpectMsg<MobilityMessageReceived>().Message);
        guard.Tell(checkedOnReceipt with { Authenticated = false }); // the same bytes unchecked: no option, dropped
        endpoint.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Empty(counters.Snapshot().Counters.Where(c => c.Name == "mh_auth_accepted_total"));
    }

    private sealed class FixedKeys(KeyRing ring) : IKeyRingSource
    {
        public KeyRing Current { get; } = ring;
        public KeyRingPoll Poll() => KeyRingPoll.Unchanged;
    }
}
