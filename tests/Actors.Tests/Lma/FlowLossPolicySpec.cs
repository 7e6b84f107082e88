// Move on loss (issue 8): which flow leaves a lossy tunnel, and for which MAG.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class FlowLossPolicySpec
{
    private static readonly Ipv6Address Cn = Ipv6Address.Parse("2001:db8:cc::2");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Address Mag3 = Ipv6Address.Parse("2001:db8:3::2");
    private static readonly Ipv6Prefix A1 = Ipv6Prefix.Parse("2001:db8:a000:1::/64"), A2 = Ipv6Prefix.Parse("2001:db8:a000:2::/64");
    private static readonly Ipv6Prefix B1 = Ipv6Prefix.Parse("2001:db8:b000:1::/64");

    private static SessionView Session(int id, Ipv6Prefix prefix, Ipv6Address mag, SessionState state = SessionState.Active) =>
        new(id, [prefix], mag, state, AccessTechnologyType.Ieee8023, $"02000000000{id}", DateTimeOffset.UtcNow.AddHours(1));

    /// <summary>mn-a on two interfaces (MAG1, MAG2); mn-b on one (MAG1).</summary>
    private static readonly ImmutableArray<BindingSnapshot> Bindings =
    [
        new("mn-a", [Session(1, A1, Mag1), Session(2, A2, Mag2)]),
        new("mn-b", [Session(1, B1, Mag1)]),
    ];

    private static FlowSnapshot Flow(ulong id, Ipv6Prefix to, double rate, Ipv6Address via) =>
        new(id, new FlowKey(Cn, new Ipv6Address(to.Address.Value | id), 0, IpProtocol.Udp, 40000, (ushort)(5000 + id), true),
            100, 100_000, rate, TimeSpan.FromSeconds(10), TimeSpan.Zero, via, null);

    [Fact]
    public void The_highest_rate_flow_that_can_leave_the_lossy_tunnel_moves_to_its_nodes_other_mag()
    {
        var flows = new[] { Flow(1, A1, 10_000, Mag1), Flow(2, B1, 900_000, Mag1), Flow(3, A1, 500_000, Mag1), Flow(4, A2, 800_000, Mag2) };
        var move = FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.08, [Mag2] = 0.001 }, 0.05, Bindings);
        // mn-b's flow is faster but mn-b has no other MAG: mn-a's fastest flow on MAG1 goes to MAG2.
        Assert.NotNull(move);
        Assert.Equal(("mn-a", 3UL, Mag1, Mag2, 0.08), (move.MobileNodeId, move.FlowId, move.From, move.To, move.FromLoss));
        Assert.Equal(new RouteFlow("mn-a", flows[2].Key, Mag2, FlowMoveReason.Loss), move.Command);
    }

    [Fact]
    public void Nothing_moves_while_every_tunnel_is_below_the_threshold()
    {
        var flows = new[] { Flow(1, A1, 10_000, Mag1) };
        Assert.Null(FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.049, [Mag2] = 0 }, 0.05, Bindings));
    }

    [Fact]
    public void A_flow_is_not_moved_onto_a_tunnel_that_is_lossy_too_nor_to_a_session_awaiting_its_mag()
    {
        var flows = new[] { Flow(1, A1, 10_000, Mag1) };
        Assert.Null(FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.2, [Mag2] = 0.06 }, 0.05, Bindings));
        ImmutableArray<BindingSnapshot> waiting = [new("mn-a", [Session(1, A1, Mag1), Session(2, A2, Mag2, SessionState.AwaitingNewMag)])];
        Assert.Null(FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.2 }, 0.05, waiting));
    }

    [Fact]
    public void The_most_lossy_tunnel_goes_first_and_the_least_lossy_other_mag_is_chosen()
    {
        ImmutableArray<BindingSnapshot> three = [new("mn-a", [Session(1, A1, Mag1), Session(2, A2, Mag2), Session(3, Ipv6Prefix.Parse("2001:db8:a000:3::/64"), Mag3)])];
        var flows = new[] { Flow(1, A1, 10_000, Mag1), Flow(2, A2, 10_000, Mag2) };
        var move = FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.1, [Mag2] = 0.3, [Mag3] = 0.02 }, 0.05, three);
        Assert.Equal((2UL, Mag2, Mag3), (move!.FlowId, move.From, move.To));
        // A MAG without a loss figure (no verdict yet) is taken as loss-free: preferred to one losing 2 %.
        var unmeasured = FlowLossPolicy.Decide(flows, new Dictionary<Ipv6Address, double> { [Mag1] = 0.1, [Mag3] = 0.02 }, 0.05, three);
        Assert.Equal((1UL, Mag1, Mag2), (unmeasured!.FlowId, unmeasured.From, unmeasured.To));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void A_threshold_outside_0_to_1_is_refused(double threshold) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FlowLossPolicy.Decide([], new Dictionary<Ipv6Address, double>(), threshold, []));
}
