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
