// Move on loss (issue 8), the real source: the egress queueing discipline of the device that carries
// the tunnel to each MAG, read over rtnetlink (RTM_GETQDISC dump) — no tc process, no extra traffic.
// A MAG's counters are its device's root qdisc: packets offered = sent + dropped, lost = dropped. It
// sees the drops where they happen at the LMA's own egress (a tbf or htb the operator or the lab put
// there), so it suits congestion of the LMA's access towards a MAG; loss further on needs probes.
// A device without a root qdisc that counts (noqueue, a device that went away) gives no row: the
// estimator then has no evidence and says nothing.
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

/// <summary>Which device carries the tunnel to which MAG (flow-mobility.loss-devices).</summary>
public sealed record TunnelDevice(Ipv6Address Mag, string Device);

public sealed class QdiscTunnelLossSource(IReadOnlyList<TunnelDevice> devices, Func<IReadOnlyList<QdiscStatistics>> dump,
    Func<string, int> indexOf) : ITunnelLossSource
{
    /// <summary>Reads the namespace's qdiscs through its own rtnetlink socket and resolves device names with if_nametoindex.</summary>
    public static QdiscTunnelLossSource Open(IReadOnlyList<TunnelDevice> devices, RouteNetlink netlink) =>
        new(devices, netlink.DumpQdiscs, RouteNetlink.InterfaceIndex);

    /// <summary>Dumps that failed (the kernel refused the request); those reads give no rows.</summary>
    public long FailedReads { get; private set; }

    public IReadOnlyList<TunnelCounters> Read()
    {
        try
        {
            return Counters(devices, dump(), indexOf);
        }
        catch (IOException)
        {
            FailedReads++;
            return [];
        }
    }

    /// <summary>Each MAG's (offered, dropped) from its device's root qdisc; MAGs whose device has none are left out.</summary>
    public static IReadOnlyList<TunnelCounters> Counters(IReadOnlyList<TunnelDevice> devices, IReadOnlyList<QdiscStatistics> qdiscs, Func<string, int> indexOf)
    {
        var rows = new List<TunnelCounters>(devices.Count);
        foreach (var device in devices)
        {
            var index = indexOf(device.Device);
            if (index <= 0)
                continue;
            foreach (var q in qdiscs)
            {
                if (q.Index != index || !q.IsRoot || q.Kind == "noqueue")
                    continue;
                rows.Add(new TunnelCounters(device.Mag, q.Packets + q.Drops, q.Drops));
                break;
            }
        }
        return rows;
    }
}
