// Opens and programs what a daemon's dataplane actor will own, before the actor system starts, so a
// missing privilege, device or sysctl stops the daemon with one line naming it (exit 1) instead of a
// node that signals bindings it cannot forward. The daemon itself never shells out: links and routes
// go through rtnetlink.
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Config;

namespace Pmip6Akka.Hosts.Daemons;

public static class DataplaneSetup
{
    private const int MainTable = 254;
    private const string ForwardingSysctl = "/proc/sys/net/ipv6/conf/all/forwarding";

    /// <summary>
    /// The LMA's resources: the HNP pool routed into the TUN (RFC 5213 §5.6), bindings steer each prefix to its MAG.
    /// On a node of a cluster (issue 9) the pool is not routed: each binding bucket routes its own slice while it runs
    /// here, uplink for another node's bucket is handed to <see cref="UserspaceTunnel.RelayToOwner"/>, and the shared
    /// LMA address lives on the TUN device itself — it goes with the daemon, so the routing daemon stops announcing
    /// this node the moment the LMA process dies (SIGKILL included), and the Mobility Header socket is opened after it.
    /// </summary>
    public static LinuxDataplaneResources ForLma(LmaDaemonSettings settings, Func<MobilityHeaderSocket> openMobilityHeader)
    {
        var cluster = settings.Cluster.IsMultiNode;
        if (cluster && !settings.Tunnel.Userspace)
            throw new StartupFailure("pmip6 lma: a node of a cluster (seed-nodes in the cluster-file) needs tunnel.mode = userspace: " +
                                     "its shared LMA address lives on the tunnel device");
        var resources = Open("lma", openMobilityHeader, settings.Address, settings.Tunnel, TunnelRole.Anchor,
            cluster ? null : settings.PrefixPool, access: null, settings.FlowMobility.TableIfEnabled,
            cluster ? new ClusterTunnel(settings.PrefixPool, settings.Address) : null) with
        {
            Admission = new Pmip6Akka.Dataplane.Security.ReceiveAdmission(settings.AuthorizedMags, settings.Admission, System.Diagnostics.Stopwatch.GetTimestamp()),
            ReceiveQueue = new Pmip6Akka.Dataplane.Security.ReceiveQueueBound(settings.Admission.MaxQueuedMessages),
            Authenticator = Authenticator(settings.Security),
        };
        if (!settings.Buffering.Enabled)
            return resources;
        try
        {
            var buffering = OpenBuffering(settings.Buffering);
            if (resources.Tunnel is { } tunnel)
            {
                // Downlink a previous MAG returns joins the MN's buffer (issue 6: no loss before the de-registration either).
                buffering.InjectWith(packet => tunnel.TryInject(packet, out _));
                tunnel.ReturnedDownlink = buffering.OnReturned;
            }
            return resources with { Buffering = buffering };
        }
        catch
        {
            resources.Dispose();
            throw;
        }
    }

    /// <summary>An LMA node of a cluster: the pool whose unbound uplink is relayed, and the shared LMA address put on the TUN.</summary>
    private sealed record ClusterTunnel(Ipv6Prefix Pool, Ipv6Address SharedAddress);

    /// <summary>The handover buffer: the node's NFQUEUE and the ip6tables rules that feed it (RFC 5213 has none; issue 6).</summary>
    private static HandoverBuffering OpenBuffering(BufferingSettings settings)
    {
        var rules = new Ip6TablesRules();
        if (!rules.TryListOurs(out _, out var error))
            throw new StartupFailure($"pmip6 lma: buffering.enabled = on needs ip6tables: {error} (or set buffering.enabled = off)");
        if (!NetfilterQueue.TryOpen(new NetfilterQueueOptions { QueueNumber = settings.Queue, MaxQueueLength = Math.Max(1024, settings.Limits.MaxPackets + 1024), ReceiveBufferBytes = 8 << 20 },
                out var queue, out var openError))
            throw Fail("lma", $"cannot own NFQUEUE {settings.Queue} for handover buffering (buffering.queue)", openError);
        return new HandoverBuffering(queue!, rules, settings.Limits, message => Console.Error.WriteLine($"pmip6 lma: buffering: {message}"));
    }

    /// <summary>The MAG's resources: the uplink table's default route into the TUN, and the access links' sockets.</summary>
    public static LinuxDataplaneResources ForMag(MagDaemonSettings settings, Func<MobilityHeaderSocket> openMobilityHeader)
    {
        var resources = Open("mag", openMobilityHeader, settings.Address, settings.Tunnel, TunnelRole.Gateway, new Ipv6Prefix(default, 0), settings.Access) with
        {
            Admission = new Pmip6Akka.Dataplane.Security.ReceiveAdmission([settings.Lma], settings.Admission, System.Diagnostics.Stopwatch.GetTimestamp()),
            ReceiveQueue = new Pmip6Akka.Dataplane.Security.ReceiveQueueBound(settings.Admission.MaxQueuedMessages),
            Authenticator = Authenticator(settings.Security),
        };
        // The tunnel to our LMA exists from the start: downlink it sends before our first binding is installed
        // (a handover buffer's flush racing our PBA processing) is recognised as its and parked, not dropped.
        resources.Tunnel?.Forwarder.Table.Endpoint(settings.Lma);
        return resources;
    }

    /// <summary>With a keys file, the authenticator the receive thread checks with and the SignallingGuard protects with.</summary>
    private static Pmip6Akka.Dataplane.Security.SignallingAuthenticator? Authenticator(SecuritySettings security) =>
        security.Keys is { } keys ? new Pmip6Akka.Dataplane.Security.SignallingAuthenticator(keys.Current, security.Authentication) : null;

    private static LinuxDataplaneResources Open(string role, Func<MobilityHeaderSocket> openMobilityHeader, Ipv6Address address, TunnelSettings tunnel,
        TunnelRole tunnelRole, Ipv6Prefix? routedIntoTunnel, AccessSettings? access, FlowTableSettings? flows = null, ClusterTunnel? cluster = null)
    {
        var owned = new List<IDisposable>();
        try
        {
            // First, so a missing privilege fails at once — unless the address it binds to is put on the TUN below.
            var mh = cluster is null ? Own(owned, openMobilityHeader()) : null;
            RouteNetlink? routes = null;
            if (tunnel.Userspace || access is { Interfaces.Count: > 0 })
                routes = Own(owned, RouteNetlink.TryOpen(out var r, out var error) ? r! : throw Fail(role, "cannot open rtnetlink", error));
            var userspace = tunnel.Userspace ? OpenTunnel(role, owned, routes!, address, tunnel, tunnelRole, routedIntoTunnel, flows, cluster) : null;
            mh ??= Own(owned, openMobilityHeader());
            var resources = new LinuxDataplaneResources(mh) { Routes = routes, Tunnel = userspace };
            if (tunnel.CpuLatencyLimit is { } limit)
            {
                if (!CpuLatencyRequest.TryOpen(limit, out var latency, out var latencyError))
                    throw Fail(role, "cannot limit CPU wake-up latency (tunnel.cpu-latency-limit)", latencyError);
                resources = resources with { CpuLatency = Own(owned, latency) };
            }
            if (access is { Interfaces.Count: > 0 })
            {
                if (!IcmpV6Socket.TryOpen(new IcmpV6SocketOptions { AcceptTypes = [133, 135, 129] }, out var icmp, out var error))
                    throw Fail(role, "cannot open the ICMPv6 socket for the access links", error);
                Own(owned, icmp);
                if (!LinkMonitor.TryOpen(TimeSpan.FromMilliseconds(500), out var links, out error))
                    throw Fail(role, "cannot watch links over rtnetlink", error);
                Own(owned, links);
                resources = resources with
                {
                    Access = new AccessLinkResources(icmp!, links!, access.IsAccessInterface)
                    {
                        UplinkTable = tunnel.UplinkTable,
                        RulePriority = tunnel.RulePriority,
                        TunnelIfIndex = resources.Tunnel is null ? 0 : RouteNetlink.InterfaceIndex(tunnel.Device),
                    },
                };
            }
            return resources;
        }
        catch
        {
            for (var i = owned.Count - 1; i >= 0; i--)
                owned[i].Dispose();
            throw;
        }
    }

    private static UserspaceTunnel OpenTunnel(string role, List<IDisposable> owned, RouteNetlink routes, Ipv6Address address,
        TunnelSettings tunnel, TunnelRole tunnelRole, Ipv6Prefix? routedIntoTunnel, FlowTableSettings? flows, ClusterTunnel? cluster)
    {
        if (File.Exists(ForwardingSysctl) && File.ReadAllText(ForwardingSysctl).Trim() == "0")
            throw new StartupFailure($"pmip6 {role}: tunnel.mode = userspace needs IPv6 forwarding in this network namespace: " +
                                     "sysctl -w net.ipv6.conf.all.forwarding=1 (or set tunnel.mode = off)");
        if (!TunDevice.TryOpen(tunnel.Device, out var device, out var error))
            throw Fail(role, $"cannot create the TUN device {tunnel.Device}", error);
        Own(owned, device);
        var index = RouteNetlink.InterfaceIndex(tunnel.Device);
        if (index <= 0)
            throw new StartupFailure($"pmip6 {role}: the TUN device {tunnel.Device} vanished right after it was created");
        // No link-local address on the TUN (addr_gen_mode 1, "none", set before the link comes up): the tunnel
        // needs none, and without one the kernel neither solicits routers nor joins MLD groups through it, nor —
        // when the LMA hands a packet back into the device it came from (a returned or buffered packet) — sends
        // the CN an ICMPv6 Redirect for it (ndisc_send_redirect gives up without a link-local address).
        var genMode = $"/proc/sys/net/ipv6/conf/{tunnel.Device}/addr_gen_mode";
        try
        {
            File.WriteAllText(genMode, "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupFailure($"pmip6 {role}: cannot turn off link-local addresses on {tunnel.Device} ({genMode}): {e.Message}");
        }
        if (!routes.TrySetLink(index, true, tunnel.Mtu, out var errno))
            throw Errno(role, $"cannot bring {tunnel.Device} up with MTU {tunnel.Mtu}", errno);
        if (cluster is not null && !routes.TryAddAddress(index, cluster.SharedAddress, 128, out errno))
            throw Errno(role, $"cannot put the shared LMA address {cluster.SharedAddress}/128 on {tunnel.Device}", errno);
        var table = tunnelRole == TunnelRole.Anchor ? MainTable : tunnel.UplinkTable;
        if (routedIntoTunnel is { } routed && !routes.TryAddRoute(routed, index, table, out errno))
            throw Errno(role, $"cannot route {routed} into {tunnel.Device} (table {table})", errno);
        if (!TunnelSocket.TryOpen(new TunnelSocketOptions { LocalAddress = address, ReceiveBufferBytes = 8 << 20, SendBufferBytes = 8 << 20, ReceiveTimeout = TimeSpan.FromMilliseconds(20) }, out var socket, out error))
            throw Fail(role, $"cannot open the IPv6-in-IPv6 socket on {address}", error);
        Own(owned, socket);
        var forwarder = new TunnelForwarder(tunnelRole, new TunnelTable(), new ForwardingCounters(), flows) { RelayPool = cluster?.Pool };
        var userspace = new UserspaceTunnel(device!, socket!, forwarder);
        // The tunnel now owns the device and the socket.
        owned.Remove(device!);
        owned.Remove(socket!);
        owned.Add(userspace);
        return userspace;
    }

    private static T Own<T>(List<IDisposable> owned, T resource) where T : IDisposable
    {
        owned.Add(resource);
        return resource;
    }

    private static StartupFailure Fail(string role, string what, LinuxSetupError error) => new($"pmip6 {role}: {what}: {error.Message}");

    private static StartupFailure Errno(string role, string what, int errno) =>
        new($"pmip6 {role}: {what}: {Pmip6Akka.Dataplane.Linux.Interop.Errno.Describe(errno)}");
}
