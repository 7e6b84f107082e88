// Link and neighbour notifications against a real kernel: a monitor opened in namespace "m", whose
// veth x0 has its peer y0 in namespace "p"; links and neighbours are changed with iproute2.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public class LinkMonitorSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);
    private readonly NetworkNamespaces _namespaces = new();
    private readonly string _m;
    private readonly string _p;

    public LinkMonitorSpec()
    {
        _m = _namespaces.Create('m');
        _p = _namespaces.Create('p');
        _namespaces.Veth(_m, "x0", _p, "y0");
        _namespaces.WaitUntilUp(_m, "x0");
        _namespaces.WaitUntilUp(_p, "y0");
    }

    public void Dispose() => _namespaces.Dispose();

    private LinkMonitor Monitor(string ns) => _namespaces.Run(ns, () => LinkMonitor.Open(TimeSpan.FromMilliseconds(200)));

    private static T WaitFor<T>(LinkMonitor monitor, Func<T, bool> wanted) where T : NetlinkEvent
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            if (!monitor.TryReceive(out var ev, out var errno))
            {
                Assert.True(LinkMonitor.IsTransientReceiveError(errno), Errno.Describe(errno));
                continue;
            }
            if (ev is T typed && wanted(typed))
                return typed;
        }
        Assert.Fail($"no {typeof(T).Name} as wanted within {Patience}");
        return null!;
    }

    [Fact]
    public void A_monitor_sees_carrier_go_when_the_peer_goes_down_then_the_link_go_down_and_be_deleted()
    {
        using var monitor = Monitor(_m);
        var index = _namespaces.Run(_m, () => RouteNetlink.InterfaceIndex("x0"));

        NetworkNamespaces.Ip("-n", _p, "link", "set", "y0", "down");
        var lostCarrier = WaitFor<LinkChanged>(monitor, l => l.Name == "x0" && !l.HasCarrier);
        Assert.True(lostCarrier.IsUp);
        Assert.Equal(index, lostCarrier.Index);
        Assert.False(lostCarrier.Deleted);
        Assert.Equal(6, lostCarrier.LinkLayerAddress.Length);

        NetworkNamespaces.Ip("-n", _p, "link", "set", "y0", "up");
        Assert.True(WaitFor<LinkChanged>(monitor, l => l.Name == "x0" && l.HasCarrier).IsUp);

        NetworkNamespaces.Ip("-n", _m, "link", "set", "x0", "down");
        var down = WaitFor<LinkChanged>(monitor, l => l.Name == "x0" && !l.IsUp);
        Assert.False(down.HasCarrier);

        NetworkNamespaces.Ip("-n", _m, "link", "del", "x0");
        var deleted = WaitFor<LinkChanged>(monitor, l => l.Name == "x0" && l.Deleted);
        Assert.Equal(index, deleted.Index);
    }

    [Fact]
    public void A_link_moved_into_the_namespace_appears_there_and_is_deleted_where_it_left()
    {
        using var here = Monitor(_m);
        using var there = Monitor(_p);
        NetworkNamespaces.Ip("-n", _p, "link", "add", "mv0", "type", "veth", "peer", "name", "mv1");
        WaitFor<LinkChanged>(there, l => l.Name == "mv0" && !l.Deleted);

        NetworkNamespaces.Ip("-n", _p, "link", "set", "mv0", "netns", _m);

        var arrived = WaitFor<LinkChanged>(here, l => l.Name == "mv0");
        Assert.False(arrived.Deleted);
        Assert.Equal(_namespaces.Run(_m, () => RouteNetlink.InterfaceIndex("mv0")), arrived.Index);
        Assert.True(WaitFor<LinkChanged>(there, l => l.Name == "mv0" && l.Deleted).Deleted);
    }

    [Fact]
    public void A_monitor_sees_an_ipv6_neighbour_entry_come_and_go()
    {
        using var monitor = Monitor(_m);
        var neighbour = Ipv6Address.Parse("2001:db8:1::9");
        NetworkNamespaces.Ip("-n", _m, "-6", "neigh", "add", neighbour.ToString(), "lladdr", "02:00:00:00:00:09", "dev", "x0", "nud", "reachable");

        var added = WaitFor<NeighborChanged>(monitor, n => n.Address == neighbour && !n.Deleted);
        Assert.Equal(_namespaces.Run(_m, () => RouteNetlink.InterfaceIndex("x0")), added.Index);
        Assert.Equal(NeighborChanged.NUD_REACHABLE, added.State);
        Assert.Equal("020000000009", Bytes.Show(added.LinkLayerAddress));

        NetworkNamespaces.Ip("-n", _m, "-6", "neigh", "del", neighbour.ToString(), "dev", "x0");
        WaitFor<NeighborChanged>(monitor, n => n.Address == neighbour && n.Deleted);
    }

    [Fact]
    public void Nothing_happening_is_EAGAIN_after_the_timeout_and_a_disposed_monitor_is_EBADF()
    {
        var monitor = _namespaces.Run(_m, () => LinkMonitor.Open(TimeSpan.FromMilliseconds(100)));
        var events = 0;
        int errno;
        while (monitor.TryReceive(out _, out errno))
            events++; // whatever the set-up still announces
        Assert.Equal(Tmds.Linux.LibC.EAGAIN, errno);

        monitor.Dispose();
        Assert.False(monitor.TryReceive(out _, out errno));
        Assert.Equal(Tmds.Linux.LibC.EBADF, errno);
    }
}
