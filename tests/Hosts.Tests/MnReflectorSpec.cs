// `pmip6 mn-reflector`'s decisions (ReflectorPlan), from what a two-interface weak-host node's kernel shows:
// addresses copied to the other usable interfaces and kept there when the original goes, each interface's
// router copied into its own table (and the table emptied when the interface is unusable).
using Pmip6Akka.Hosts.MobileNode;
using static Pmip6Akka.Hosts.MobileNode.ReflectorAction;

namespace Pmip6Akka.Hosts.Tests;

public sealed class MnReflectorSpec
{
    private const string Router = "fe80::5eff:fe00:5213";
    private const string A = "2001:db8:a053::ff:fe00:1", B = "2001:db8:a053:1:0:ff:fe01:1";
    private static readonly HostInterface Eth0 = new("eth0", true, Router), Eth1 = new("eth1", true, Router);
    private static readonly Dictionary<string, string?> RoutesInPlace = new() { ["eth0"] = Router, ["eth1"] = Router };

    [Fact]
    public void Each_interfaces_learned_address_is_copied_to_the_other_interface_with_its_lifetimes()
    {
        var actions = ReflectorPlan.Decide([Eth0, Eth1], [new("eth0", A, 64, 3600, 1800, true), new("eth1", B, 64, 3000, 3000, true)], RoutesInPlace);

        Assert.Equal([new CopyAddress("eth1", A, 3600, 1800), new CopyAddress("eth0", B, 3000, 3000)], actions);
    }

    [Fact]
    public void A_fresh_copy_is_left_alone_and_a_stale_one_refreshed()
    {
        HostAddress[] fresh = [new("eth0", A, 64, 3600, 3600, true), new("eth1", A, 128, 3590, 3590, true)];
        Assert.Empty(ReflectorPlan.Decide([Eth0, Eth1], fresh, RoutesInPlace));

        HostAddress[] stale = [new("eth0", A, 64, 3600, 3600, true), new("eth1", A, 128, 3000, 3000, true)];
        Assert.Equal([new CopyAddress("eth1", A, 3600, 3600)], ReflectorPlan.Decide([Eth0, Eth1], stale, RoutesInPlace));
    }

    [Fact]
    public void When_an_interface_goes_down_its_addresses_copies_stay_and_its_uplink_table_is_emptied()
    {
        var down = Eth1 with { Usable = false, DefaultRouter = null };
        // eth1's own address went with the interface; its copy on eth0 is not an original, so nothing is removed or copied.
        var actions = ReflectorPlan.Decide([Eth0, down], [new("eth0", A, 64, 3600, 3600, true), new("eth0", B, 128, 3500, 3500, true)], RoutesInPlace);

        Assert.Equal([new SetUplinkRoute("eth1", ReflectorPlan.Table(1), null)], actions);
    }

    [Fact]
    public void Nothing_is_copied_onto_an_unusable_interface_nor_from_an_unmanaged_one()
    {
        var actions = ReflectorPlan.Decide([Eth0, Eth1 with { Usable = false }],
            [new("eth0", A, 64, 3600, 3600, true), new("wlan9", "2001:db8:9::1", 64, 3600, 3600, true)],
            new Dictionary<string, string?> { ["eth0"] = Router, ["eth1"] = null });

        Assert.Empty(actions);
    }

    [Fact]
    public void Each_interfaces_router_goes_into_its_own_table_once()
    {
        var actions = ReflectorPlan.Decide([Eth0, Eth1], [], new Dictionary<string, string?>());

        Assert.Equal([new SetUplinkRoute("eth0", 5201, Router), new SetUplinkRoute("eth1", 5202, Router)], actions);
        Assert.Empty(ReflectorPlan.Decide([Eth0, Eth1], [], RoutesInPlace));
    }
}
