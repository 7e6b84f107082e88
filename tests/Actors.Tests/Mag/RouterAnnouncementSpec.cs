// The MAG's unsolicited Neighbor Advertisement on a newly usable access link (RFC 4861 §7.2.6): a node
// that sent while its link was away resolves its router at once instead of after RetransTimer (1 s).
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Mag;

public sealed class RouterAnnouncementSpec
{
    private static readonly byte[] Mac = [0x02, 0x00, 0x5e, 0x00, 0x52, 0x13];

    [Fact]
    public void The_announcement_is_an_unsolicited_router_override_advertisement_of_the_mags_link_local_with_its_mac()
    {
        var buffer = new byte[64];
        Assert.True(AccessLink.TryWriteRouterAnnouncement(buffer, Mac, out var length));
        var icmp = buffer.AsSpan(0, length);
        Assert.True(NdMessage.TryDecode(icmp, out var na, out var error), error.ToString());
        Assert.Equal(Icmpv6Type.NeighborAdvertisement, na.Type);
        Assert.Equal(NeighborAdvertisementFlags.Router | NeighborAdvertisementFlags.Override, na.NeighborFlags); // not Solicited: the entry becomes STALE
        Assert.Equal(Ipv6Address.Parse("fe80::5eff:fe00:5213"), na.TargetAddress);
        Assert.True(na.Options.TryGetTargetLinkLayerAddress(out var target));
        Assert.Equal(Mac, target.ToArray());
        Assert.True(NdMessage.VerifyChecksum(na.TargetAddress, Ipv6Address.Parse("ff02::1"), icmp));
    }

    [Fact]
    public void No_announcement_without_a_48_bit_link_layer_address()
    {
        Assert.False(AccessLink.TryWriteRouterAnnouncement(new byte[64], [], out _));
    }
}
