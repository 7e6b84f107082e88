// Reading the rtnetlink messages both RouteNetlink (dump answers) and LinkMonitor (notifications)
// receive: RTM_NEWLINK/RTM_DELLINK (struct ifinfomsg + IFLA_IFNAME, IFLA_ADDRESS) and
// RTM_NEWNEIGH/RTM_DELNEIGH (struct ndmsg + NDA_DST, NDA_LLADDR), per <linux/rtnetlink.h>,
// <linux/if_link.h> and <linux/neighbour.h>.
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Wire;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static class NetlinkParse
{
    public readonly record struct Link(int Index, string Name, uint Flags, byte[] LinkLayerAddress);

    public readonly record struct Neighbor(int Index, Ipv6Address Address, ushort State, byte[]? LinkLayerAddress);

    /// <summary>A queueing discipline's identity and counters from RTM_NEWQDISC: packets sent (dequeued) and dropped.</summary>
    public readonly record struct Qdisc(int Index, uint Handle, uint Parent, string Kind, ulong Bytes, uint Packets, uint Drops, uint Overlimits)
    {
        public bool IsRoot => Parent == Netlink.TC_H_ROOT;
    }

    /// <summary>
    /// struct tcmsg + TCA_KIND + statistics: TCA_STATS2 (nested TCA_STATS_BASIC {u64 bytes, u32 packets} and
    /// TCA_STATS_QUEUE {u32 qlen, backlog, drops, requeues, overlimits}), or the older TCA_STATS (struct tc_stats)
    /// when TCA_STATS2 is absent. False for a message too short for its tcmsg.
    /// </summary>
    public static bool TryQdisc(Netlink.Message message, out Qdisc qdisc)
    {
        qdisc = default;
        var payload = message.Payload;
        if (payload.Length < Netlink.TcmsgLength)
            return false;
        var index = MemoryMarshal.Read<int>(payload.AsSpan(4));
        var handle = MemoryMarshal.Read<uint>(payload.AsSpan(8));
        var parent = MemoryMarshal.Read<uint>(payload.AsSpan(12));
        var kind = "";
        ulong bytes = 0;
        uint packets = 0, drops = 0, overlimits = 0;
        var haveStats2 = false;
        foreach (var (type, value) in Netlink.Attributes(payload, Netlink.TcmsgLength))
        {
            if (type == Netlink.TCA_KIND)
                kind = Netlink.CString(value);
            else if (type == Netlink.TCA_STATS2)
            {
                haveStats2 = true;
                foreach (var (inner, data) in Netlink.Attributes(value, 0))
                {
                    if (inner == Netlink.TCA_STATS_BASIC && data.Length >= 12)
                    {
                        bytes = MemoryMarshal.Read<ulong>(data);
                        packets = MemoryMarshal.Read<uint>(data.AsSpan(8));
                    }
                    else if (inner == Netlink.TCA_STATS_QUEUE && data.Length >= 20)
                    {
                        drops = MemoryMarshal.Read<uint>(data.AsSpan(8));
                        overlimits = MemoryMarshal.Read<uint>(data.AsSpan(16));
                    }
                }
            }
            else if (type == Netlink.TCA_STATS && !haveStats2 && value.Length >= 20)
            {
                bytes = MemoryMarshal.Read<ulong>(value);
                packets = MemoryMarshal.Read<uint>(value.AsSpan(8));
                drops = MemoryMarshal.Read<uint>(value.AsSpan(12));
                overlimits = MemoryMarshal.Read<uint>(value.AsSpan(16));
            }
        }
        qdisc = new Qdisc(index, handle, parent, kind, bytes, packets, drops, overlimits);
        return true;
    }

    public static bool TryLink(Netlink.Message message, out Link link)
    {
        link = default;
        var payload = message.Payload;
        if (payload.Length < Netlink.IfinfomsgLength)
            return false;
        var index = MemoryMarshal.Read<int>(payload.AsSpan(4));
        var flags = MemoryMarshal.Read<uint>(payload.AsSpan(8));
        var name = "";
        byte[] address = [];
        foreach (var (type, value) in Netlink.Attributes(payload, Netlink.IfinfomsgLength))
        {
            if (type == Netlink.IFLA_IFNAME)
                name = Netlink.CString(value);
            else if (type == Netlink.IFLA_ADDRESS)
                address = value;
        }
        link = new Link(index, name, flags, address);
        return true;
    }

    /// <summary>An AF_INET6 neighbour entry with an NDA_DST; false for other families (ARP) or malformed messages.</summary>
    public static bool TryNeighbor(Netlink.Message message, out Neighbor neighbor)
    {
        neighbor = default;
        var payload = message.Payload;
        if (payload.Length < Netlink.NdmsgLength || payload[0] != AF_INET6)
            return false;
        var index = MemoryMarshal.Read<int>(payload.AsSpan(4));
        var state = MemoryMarshal.Read<ushort>(payload.AsSpan(8));
        Ipv6Address? address = null;
        byte[]? linkLayer = null;
        foreach (var (type, value) in Netlink.Attributes(payload, Netlink.NdmsgLength))
        {
            if (type == Netlink.NDA_DST && value.Length == Ipv6Address.Length)
                address = Ipv6Address.Read(value);
            else if (type == Netlink.NDA_LLADDR)
                linkLayer = value;
        }
        if (address is not { } dst)
            return false;
        neighbor = new Neighbor(index, dst, state, linkLayer);
        return true;
    }
}
