// A node moving between two MAGs as the access links see it: its link comes up at MAG 1, it answers
// the probe, gets registered, routed and advertised; its link goes away and comes up at MAG 2, which
// registers it again with the same home network prefix while MAG 1 removes its routes. The access
// dataplanes are test probes; signalling runs over the in-memory network.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public class AccessLinkSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn1 = "mn1@lab.pmip6";
    private static readonly byte[] NodeMac = [0x02, 0, 0, 0, 0, 1];
    private static readonly byte[] RouterMac = [0x02, 0x00, 0x5e, 0x00, 0x52, 0x13];
    private static readonly Ipv6Address NodeLinkLocal = Ipv6Address.Parse("fe80::ff:fe00:1");

    private sealed class LabPolicies(string mn, byte[] mac) : IPolicyStore
    {
        public MobileNodePolicy? Find(string mobileNodeId) => mobileNodeId == mn ? new MobileNodePolicy(mn) : null;
        public string? MobileNodeIdFor(ReadOnlySpan<byte> linkLayerAddress) => linkLayerAddress.SequenceEqual(mac) ? mn : null;
    }

    private (TestProbe Dataplane, Akka.Actor.IActorRef Access) StartAccess(Domain domain, Ipv6Address mag)
    {
        var policies = new LabPolicies(Mn1, NodeMac);
        var (magNode, _, _) = domain.StartMag(mag, policies: policies);
        var dataplane = CreateTestProbe();
        var access = Sys.ActorOf(AccessLink.Props(new AccessLinkSettings(Domain.LmaAddress, AccessTechnologyType.Ieee8023), magNode, dataplane.Ref, policies, new Counters()));
        dataplane.ExpectMsg<RegisterAccessEndpoint>();
        return (dataplane, access);
    }

    /// <summary>A link that becomes usable: the MAG announces its link-local (unsolicited NA), then probes for the node.</summary>
    private static void ExpectAnnouncementAndProbe(TestProbe dataplane, int ifIndex)
    {
        var announcement = dataplane.ExpectMsg<SendAccessMessage>();
        Assert.Equal((ifIndex, Ipv6Address.Parse("ff02::1")), (announcement.IfIndex, announcement.Destination));
        Assert.True(NdMessage.TryDecode(announcement.Message, out var na, out _));
        Assert.Equal(Icmpv6Type.NeighborAdvertisement, na.Type);
        Assert.Equal(ifIndex, dataplane.ExpectMsg<ProbeAccessLink>().IfIndex);
    }

    private static Ipv6Prefix Attach(TestProbe dataplane, Akka.Actor.IActorRef access, int ifIndex)
    {
        access.Tell(new AccessLinkChanged(ifIndex, "mn1", true, false, RouterMac));
        ExpectAnnouncementAndProbe(dataplane, ifIndex);
        access.Tell(new AccessNodeSeen(ifIndex, NodeMac, NodeLinkLocal, false));
        var install = dataplane.FishForMessage<InstallAccessRoute>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal((Mn1, ifIndex, Domain.LmaAddress), (install.MobileNodeId, install.IfIndex, install.Lma));
        var hnp = Assert.Single(install.Prefixes);
        var ra = dataplane.FishForMessage<SendAccessMessage>(_ => true);
        Assert.Equal((ifIndex, NodeLinkLocal), (ra.IfIndex, ra.Destination));
        Assert.True(NdMessage.TryDecode(ra.Message, out var nd, out _));
        Assert.Equal(Icmpv6Type.RouterAdvertisement, nd.Type);
        var advertised = new List<PrefixInformation>();
        foreach (var pi in nd.Options.PrefixInformations)
            advertised.Add(pi);
        var pio = Assert.Single(advertised);
        Assert.Equal(hnp, pio.Prefix);
        Assert.Equal(PrefixInformationFlags.OnLink | PrefixInformationFlags.Autonomous, pio.Flags);
        Assert.InRange(pio.ValidLifetime, 3500u, 3600u);
        Assert.Equal(1460u, nd.Options.Mtu);
        Assert.True(nd.Options.TryGetSourceLinkLayerAddress(out var mac) && mac.SequenceEqual(RouterMac));
        return hnp;
    }

    [Fact]
    public void A_node_on_a_new_access_link_is_registered_routed_and_advertised_its_prefix()
    {
        var domain = new Domain(this, [Mn1]);
        var (dataplane, access) = StartAccess(domain, Domain.Mag1Address);
        var hnp = Attach(dataplane, access, 7);
        Assert.Equal(Domain.Mag1Address, Assert.Single(domain.Binding(Mn1).Sessions).ProxyCoa);
        Assert.True(Domain.Pool.Contains(hnp.Address));
    }

    [Fact]
    public void A_node_whose_link_moves_to_another_MAG_keeps_its_prefix_and_the_old_MAG_removes_its_routes()
    {
        var domain = new Domain(this, [Mn1]);
        var (dataplane1, access1) = StartAccess(domain, Domain.Mag1Address);
        var (dataplane2, access2) = StartAccess(domain, Domain.Mag2Address);
        var hnp = Attach(dataplane1, access1, 7);

        access1.Tell(new AccessLinkChanged(7, "mn1", false, true, RouterMac)); // the veth left MAG 1's namespace
        var removed = dataplane1.FishForMessage<RemoveAccessRoute>(_ => true);
        Assert.Equal([hnp], removed.Prefixes);

        Assert.Equal(hnp, Attach(dataplane2, access2, 3));
        AwaitAssert(() => Assert.Equal(Domain.Mag2Address, Assert.Single(domain.Binding(Mn1).Sessions).ProxyCoa), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_node_no_profile_names_is_not_attached()
    {
        var domain = new Domain(this, [Mn1]);
        var (dataplane, access) = StartAccess(domain, Domain.Mag1Address);
        access.Tell(new AccessLinkChanged(7, "mn9", true, false, RouterMac));
        ExpectAnnouncementAndProbe(dataplane, 7);
        access.Tell(new AccessNodeSeen(7, [0x02, 0, 0, 0, 0, 9], NodeLinkLocal, true));
        // Nothing for the node: no routes, no Router Advertisement to it. (A probe the link's back-off timer sent
        // before the node was seen, with its announcement to all nodes, may still come: not a registration.)
        var sent = dataplane.ReceiveWhile<object>(TimeSpan.FromMilliseconds(300), o => o, msgs: int.MaxValue);
        Assert.DoesNotContain(sent, o => o is InstallAccessRoute);
        Assert.DoesNotContain(sent, o => o is SendAccessMessage m && m.Destination == NodeLinkLocal);
        Assert.All(sent, o => Assert.True(o is ProbeAccessLink or SendAccessMessage, $"unexpected {o}"));
    }
}
