// Builds the lab's namespaces and links (docs/LAB.md): the transport bridge in pmip-lma with one
// veth per MAG, the CN's link, and one access veth per mobile node whose MAG-side end carries the
// shared MAC 02:00:5e:00:52:13 (RFC 5213 §6.8). Sysctls are set before devices move in, so new
// devices inherit them. The access links' MAG ends stay down until the daemons run: bringing one up
// is the attach the MAG sees. Tear-down is LabTeardown's (by name pattern), so a half-built lab is
// removed the same way as a whole one.
namespace Pmip6Akka.Hosts.Lab;

public static class LabTopology
{
    public static IEnumerable<string> Namespaces(LabPlan plan) =>
        [.. plan.Cluster ? LabCluster.Namespaces(plan) : [LabPlan.LmaNamespace], .. plan.MagList.Select(m => m.Namespace), LabPlan.CnNamespace,
         .. plan.MobileNodeList.Select(m => m.Namespace)];

    /// <summary>Where the transport bridge to the MAGs and the CN's link end: the single LMA's namespace, or the cluster's core router.</summary>
    public static string Hub(LabPlan plan) => plan.Cluster ? LabCluster.CoreNamespace : LabPlan.LmaNamespace;

    /// <param name="sharedPrefix">Shared-prefix flow mobility: each node's interfaces get one interface identifier (`ip token`), so a
    /// prefix advertised on both yields the same address on both.</param>
    public static void Build(LabPlan plan, bool sharedPrefix = false)
    {
        Tool.IpBatch(null, Namespaces(plan).Select(ns => $"netns add {ns}"));
        var hub = Hub(plan);

        NetnsRunner.Sysctl(hub, ("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.conf.default.accept_dad", "0"));
        foreach (var mag in plan.MagList)
            NetnsRunner.Sysctl(mag.Namespace, ("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.conf.default.accept_dad", "0"));
        NetnsRunner.Sysctl(LabPlan.CnNamespace, ("net.ipv6.conf.default.accept_dad", "0"));
        foreach (var mn in plan.MobileNodeList)
            NetnsRunner.Sysctl(mn.Namespace, ("net.ipv6.conf.all.forwarding", "0"), ("net.ipv6.conf.default.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_ra", "1"));

        var first = LabPlan.Mag(1);
        Tool.IpBatch(null, [
            .. plan.MagList.Select(m => $"link add name {m.LmaSideDevice} netns {hub} type veth peer name lma netns {m.Namespace}"),
            $"link add name {LabPlan.CnLmaSideDevice} netns {hub} type veth peer name {LabPlan.CnDevice} netns {LabPlan.CnNamespace}",
            .. plan.MobileNodeList.Select(mn =>
                $"link add name {mn.MagSideDevice} netns {first.Namespace} address {LabPlan.MagAccessMac} type veth peer name {LabPlan.MnDevice} netns {mn.Namespace} address {mn.Mac}"),
            .. plan.Interfaces < 2 ? [] : plan.MobileNodeList.Select(mn =>
                $"link add name {mn.SecondMagSideDevice} netns {LabPlan.Mag(2).Namespace} address {LabPlan.MagAccessMac} type veth peer name {LabPlan.SecondMnDevice} netns {mn.Namespace} address {mn.SecondMac}"),
        ]);

        Tool.IpBatch(hub, [
            "link set lo up",
            $"link add {LabPlan.TransportBridge} type bridge mcast_snooping 0",
            $"addr add {LabPlan.LmaAddress}/{LabPlan.TransportPrefixLength} dev {LabPlan.TransportBridge} nodad",
            $"link set {LabPlan.TransportBridge} up",
            .. plan.MagList.SelectMany(m => new[] { $"link set {m.LmaSideDevice} master {LabPlan.TransportBridge}", $"link set {m.LmaSideDevice} up" }),
            $"addr add {LabPlan.CnLmaSideAddress}/{LabPlan.CnPrefixLength} dev {LabPlan.CnLmaSideDevice} nodad",
            $"link set {LabPlan.CnLmaSideDevice} up",
        ]);
        foreach (var mag in plan.MagList)
            Tool.IpBatch(mag.Namespace, [
                "link set lo up",
                $"addr add {mag.Address}/{LabPlan.TransportPrefixLength} dev lma nodad",
                "link set lma up",
            ]);
        Tool.IpBatch(LabPlan.CnNamespace, [
            "link set lo up",
            $"addr add {LabPlan.CnAddress}/{LabPlan.CnPrefixLength} dev {LabPlan.CnDevice} nodad",
            $"link set {LabPlan.CnDevice} up",
            $"route add default via {LabPlan.CnLmaSideAddress} dev {LabPlan.CnDevice}",
        ]);
        foreach (var mn in plan.MobileNodeList)
        {
            if (sharedPrefix && plan.Interfaces == 2)
                Tool.IpBatch(mn.Namespace, plan.MnDevices.Select(d => $"token set {SharedToken(mn)} dev {d}"));
            foreach (var device in plan.MnDevices)
                NetnsRunner.Sysctl(mn.Namespace, ($"net.ipv6.conf.{device}.accept_ra", "1"), ($"net.ipv6.conf.{device}.accept_dad", "0"),
                    ($"net.ipv6.conf.{device}.forwarding", "0"));
            Tool.IpBatch(mn.Namespace, ["link set lo up", .. plan.MnDevices.Select(d => $"link set {d} up")]);
        }
        if (plan.Cluster)
            LabCluster.Build(plan);
    }

    /// <summary>The interface identifier a shared-prefix node uses on every interface: ::5213:K.</summary>
    public static string SharedToken(MobileNodePlan mn) => $"::5213:{mn.Index:x}";

    /// <summary>Brings the MAG-side ends of the access links up at MAG 1: the attach of every mobile node.</summary>
    public static void AttachAll(LabPlan plan)
    {
        Tool.IpBatch(LabPlan.Mag(1).Namespace, plan.MobileNodeList.Select(mn => $"link set {mn.MagSideDevice} up"));
        if (plan.Interfaces == 2)
            Tool.IpBatch(LabPlan.Mag(2).Namespace, plan.MobileNodeList.Select(mn => $"link set {mn.SecondMagSideDevice} up"));
    }
}
