// The dataplane's hands on the kernel's routing state, over rtnetlink (rtnetlink(7), netlink(7)) and
// never by running `ip`: one NETLINK_ROUTE socket, synchronous requests. Each request carries
// NLM_F_REQUEST | NLM_F_ACK and a sequence number of our own; the kernel answers with an NLMSG_ERROR
// (struct nlmsgerr) whose error is 0 for success or a negative errno, which we return as is, so a
// caller sees ENODEV for a missing interface, EEXIST, ESRCH... instead of an exception. Dumps
// (NLM_F_DUMP) are answered by NLM_F_MULTI parts ending in NLMSG_DONE. Replies with another sequence
// number (a late answer to a request that timed out) are skipped.
// What the LMA and MAG need (RFC 5213 §6.10.4/§6.10.5): per-binding routes for a home network prefix
// into the tunnel interface in a table of their own, source-address rules sending a mobile node's
// traffic to that table, addresses and links on the access interfaces, and the neighbour cache.
// Routes we add carry protocol RTPROT_PMIP6 (rtm_protocol, <linux/rtnetlink.h>: values above
// RTPROT_STATIC are for routing daemons; 99 is unassigned), so `ip route show proto 99` lists what we
// own and our deletes only ever remove our routes.
// Requests are serialised by a lock; allocation is fine here (control path, not per packet).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

/// <summary>An interface as RTM_NEWLINK describes it: index, name, IFF_* flags and link-layer (MAC) address (empty when it has none).</summary>
public readonly record struct LinkInfo(int Index, string Name, uint Flags, byte[] LinkLayerAddress)
{
    /// <summary>IFF_UP: administratively up.</summary>
    public bool IsUp => (Flags & Netlink.IFF_UP) != 0;

    /// <summary>IFF_LOWER_UP (0x10000): the driver reports carrier (for a veth, the peer is up).</summary>
    public bool HasCarrier => (Flags & Netlink.IFF_LOWER_UP) != 0;

    /// <summary>
    /// IFF_RUNNING: operationally up. The kernel sets it in linkwatch together with activating the device's
    /// queueing discipline, so unlike carrier alone it means packets sent now actually leave.
    /// </summary>
    public bool IsRunning => (Flags & Netlink.IFF_RUNNING) != 0;
}

/// <summary>A queueing discipline as RTM_NEWQDISC describes it: interface, handle, parent (root: 0xFFFFFFFF), kind and its cumulative counters.</summary>
public readonly record struct QdiscStatistics(int Index, uint Handle, uint Parent, string Kind, ulong Bytes, long Packets, long Drops, long Overlimits)
{
    public bool IsRoot => Parent == 0xFFFFFFFF;
}

public sealed unsafe class RouteNetlink : OwnedFileDescriptor
{
    /// <summary>rtm_protocol of every route we add: how our routes are recognised (`ip -6 route show proto 99`).</summary>
    public const byte RTPROT_PMIP6 = 99;

    internal const string PrivilegeHint = "changing routes, rules, links and addresses needs CAP_NET_ADMIN";

    /// <summary>How long one request waits for its answer before failing with EAGAIN.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(2);

    private const int ReceiveBufferLength = 1 << 16;

    private readonly Lock _lock = new();
    private readonly byte[] _receiveBuffer = new byte[ReceiveBufferLength];
    private uint _sequence;

    private RouteNetlink(int fd) : base(fd) => _sequence = (uint)Environment.TickCount;

    /// <summary>Opens the socket in the calling thread's network namespace (it acts there for its whole life); throws <see cref="LinuxSetupException"/>.</summary>
    public static RouteNetlink Open() =>
        TryOpen(out var netlink, out var error) ? netlink : throw new LinuxSetupException(error);

    public static bool TryOpen([NotNullWhen(true)] out RouteNetlink? netlink, out LinuxSetupError error)
    {
        netlink = null;
        if (!TryOpenSocket(0, ReplyTimeout, PrivilegeHint, out var fd, out error))
            return false;
        netlink = new RouteNetlink(fd);
        return true;
    }

    /// <summary>socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), SO_RCVTIMEO, bind to <paramref name="groups"/> (port id chosen by the kernel).</summary>
    internal static bool TryOpenSocket(uint groups, TimeSpan receiveTimeout, string hint, out int fd, out LinuxSetupError error)
    {
        fd = LibC.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, Netlink.NETLINK_ROUTE);
        if (fd < 0)
        {
            error = new LinuxSetupError("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", errno, hint);
            return false;
        }
        SockaddrNl address = default;
        address.nl_family = (ushort)AF_NETLINK;
        address.nl_groups = groups;
        var ok = SocketSetup.TrySetReceiveTimeout(fd, receiveTimeout, hint, out error);
        if (ok && bind(fd, (sockaddr*)&address, (uint)sizeof(SockaddrNl)) < 0)
            ok = SocketSetup.Fail(out error, $"bind(AF_NETLINK, groups 0x{groups:x})", hint);
        if (!ok)
        {
            close(fd);
            fd = -1;
        }
        return ok;
    }

    /// <summary>The index of interface <paramref name="name"/> in the calling thread's namespace (if_nametoindex), 0 when there is none.</summary>
    public static int InterfaceIndex(string name) => NetInterface.IndexOf(name, out _);

    /// <summary>
    /// Adds (or replaces) the route <paramref name="destination"/> dev <paramref name="ifindex"/> in table
    /// <paramref name="table"/>: RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, unicast, scope universe,
    /// protocol <see cref="RTPROT_PMIP6"/>, metric <paramref name="metric"/> when positive (else the
    /// kernel's 1024). ENODEV for a missing interface, ENETDOWN... as the kernel says.
    /// </summary>
    public bool TryAddRoute(Ipv6Prefix destination, int ifindex, int table, out int errno, int metric = 0) =>
        Request(Route(Netlink.RTM_NEWROUTE, Netlink.NLM_F_CREATE | Netlink.NLM_F_REPLACE, destination, ifindex, table, metric), out errno);

    /// <summary>Deletes our route (protocol <see cref="RTPROT_PMIP6"/>) <paramref name="destination"/> dev <paramref name="ifindex"/> from <paramref name="table"/>; a route that is not there (ESRCH/ENOENT) counts as deleted.</summary>
    public bool TryDeleteRoute(Ipv6Prefix destination, int ifindex, int table, out int errno)
    {
        if (Request(Route(Netlink.RTM_DELROUTE, 0, destination, ifindex, table, 0), out errno))
            return true;
        if (errno != ESRCH && errno != ENOENT)
            return false;
        errno = 0;
        return true;
    }

    private NetlinkRequest Route(ushort type, ushort flags, Ipv6Prefix destination, int ifindex, int table, int metric)
    {
        var request = new NetlinkRequest(type, flags, NextSequence(), Netlink.RtmsgLength);
        var rtm = request.FamilyHeader(Netlink.RtmsgLength);
        rtm[0] = (byte)AF_INET6;                                   // rtm_family
        rtm[1] = destination.Length;                               // rtm_dst_len
        rtm[4] = table is > 0 and < 256 ? (byte)table : Netlink.RT_TABLE_UNSPEC; // rtm_table (RTA_TABLE has the full value)
        rtm[5] = RTPROT_PMIP6;                                     // rtm_protocol
        rtm[6] = Netlink.RT_SCOPE_UNIVERSE;                        // rtm_scope
        rtm[7] = Netlink.RTN_UNICAST;                              // rtm_type
        request.Attribute(Netlink.RTA_DST, destination.Address.Mask(destination.Length));
        request.Attribute(Netlink.RTA_OIF, (uint)ifindex);
        request.Attribute(Netlink.RTA_TABLE, (uint)table);
        if (metric > 0)
            request.Attribute(Netlink.RTA_PRIORITY, (uint)metric);
        return request;
    }

    /// <summary>Adds the rule "from <paramref name="source"/> lookup <paramref name="table"/>" at <paramref name="priority"/> (RTM_NEWRULE, FR_ACT_TO_TBL); an identical rule already there (EEXIST) counts as added.</summary>
    public bool TryAddSourceRule(Ipv6Prefix source, int table, int priority, out int errno)
    {
        if (Request(Rule(Netlink.RTM_NEWRULE, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, source, table, priority), out errno))
            return true;
        if (errno != EEXIST)
            return false;
        errno = 0;
        return true;
    }

    /// <summary>Deletes the rule <see cref="TryAddSourceRule"/> adds; a rule that is not there (ENOENT) counts as deleted.</summary>
    public bool TryDeleteSourceRule(Ipv6Prefix source, int table, int priority, out int errno)
    {
        if (Request(Rule(Netlink.RTM_DELRULE, 0, source, table, priority), out errno))
            return true;
        if (errno != ENOENT)
            return false;
        errno = 0;
        return true;
    }

    private NetlinkRequest Rule(ushort type, ushort flags, Ipv6Prefix source, int table, int priority)
    {
        var request = new NetlinkRequest(type, flags, NextSequence(), Netlink.FibRuleHeaderLength);
        var frh = request.FamilyHeader(Netlink.FibRuleHeaderLength);
        frh[0] = (byte)AF_INET6;                                   // family
        frh[2] = source.Length;                                    // src_len
        frh[4] = table is > 0 and < 256 ? (byte)table : Netlink.RT_TABLE_UNSPEC; // table (FRA_TABLE has the full value)
        frh[7] = Netlink.FR_ACT_TO_TBL;                            // action
        if (source.Length > 0)
            request.Attribute(Netlink.FRA_SRC, source.Address.Mask(source.Length));
        request.Attribute(Netlink.FRA_TABLE, (uint)table);
        request.Attribute(Netlink.FRA_PRIORITY, (uint)priority);
        return request;
    }

    /// <summary>Sets interface <paramref name="ifindex"/> up or down (RTM_NEWLINK, ifi_change IFF_UP) and its MTU when <paramref name="mtu"/> is positive (IFLA_MTU).</summary>
    public bool TrySetLink(int ifindex, bool up, int mtu, out int errno)
    {
        var request = new NetlinkRequest(Netlink.RTM_NEWLINK, 0, NextSequence(), Netlink.IfinfomsgLength);
        var ifi = request.FamilyHeader(Netlink.IfinfomsgLength);
        ifi[0] = (byte)AF_UNSPEC;
        MemoryMarshal.Write(ifi[4..], in ifindex);                 // ifi_index
        var flags = up ? Netlink.IFF_UP : 0u;
        MemoryMarshal.Write(ifi[8..], in flags);                   // ifi_flags
        var change = Netlink.IFF_UP;
        MemoryMarshal.Write(ifi[12..], in change);                 // ifi_change
        if (mtu > 0)
            request.Attribute(Netlink.IFLA_MTU, (uint)mtu);
        return Request(request, out errno);
    }

    /// <summary>Adds (or replaces) <paramref name="address"/>/<paramref name="prefixLength"/> on <paramref name="ifindex"/> (RTM_NEWADDR); with <paramref name="noDad"/> (IFA_F_NODAD) it is usable at once instead of tentative for a DAD round.</summary>
    public bool TryAddAddress(int ifindex, Ipv6Address address, int prefixLength, out int errno, bool noDad = true)
    {
        var request = new NetlinkRequest(Netlink.RTM_NEWADDR, Netlink.NLM_F_CREATE | Netlink.NLM_F_REPLACE, NextSequence(), Netlink.IfaddrmsgLength);
        var ifa = request.FamilyHeader(Netlink.IfaddrmsgLength);
        ifa[0] = (byte)AF_INET6;                                   // ifa_family
        ifa[1] = (byte)prefixLength;                               // ifa_prefixlen
        var flags = noDad ? Netlink.IFA_F_NODAD : 0u;
        ifa[2] = (byte)flags;                                      // ifa_flags (the low 8 bits; IFA_FLAGS has all 32)
        MemoryMarshal.Write(ifa[4..], in ifindex);                 // ifa_index
        request.Attribute(Netlink.IFA_LOCAL, address);
        request.Attribute(Netlink.IFA_ADDRESS, address);
        request.Attribute(Netlink.IFA_FLAGS, flags);
        return Request(request, out errno);
    }

    /// <summary>
    /// Looks <paramref name="address"/> up in the neighbour cache of <paramref name="ifindex"/> (an
    /// RTM_GETNEIGH dump, filtered here) and copies its link-layer address into
    /// <paramref name="linkLayer"/>. False with ENOENT when there is no entry with a link-layer address
    /// (absent, or still INCOMPLETE/FAILED), EMSGSIZE when <paramref name="linkLayer"/> is too short.
    /// </summary>
    public bool TryFindNeighbor(int ifindex, Ipv6Address address, Span<byte> linkLayer, out int linkLayerLength, out int errno)
    {
        linkLayerLength = 0;
        var request = new NetlinkRequest(Netlink.RTM_GETNEIGH, Netlink.NLM_F_DUMP, NextSequence(), Netlink.NdmsgLength);
        request.FamilyHeader(Netlink.NdmsgLength)[0] = (byte)AF_INET6;
        if (!Dump(request, out var messages, out errno))
            return false;
        foreach (var message in messages)
        {
            if (message.Type != Netlink.RTM_NEWNEIGH || !NetlinkParse.TryNeighbor(message, out var neighbor) || neighbor.Index != ifindex
                || neighbor.Address != address || neighbor.LinkLayerAddress is not { Length: > 0 } mac)
                continue;
            if (mac.Length > linkLayer.Length)
            {
                errno = EMSGSIZE;
                return false;
            }
            mac.CopyTo(linkLayer);
            linkLayerLength = mac.Length;
            return true;
        }
        errno = ENOENT;
        return false;
    }

    /// <summary>Every interface of the namespace (an RTM_GETLINK dump). Throws <see cref="IOException"/> naming the errno should the kernel refuse (it does not for a dump).</summary>
    public IReadOnlyList<LinkInfo> DumpLinks()
    {
        var request = new NetlinkRequest(Netlink.RTM_GETLINK, Netlink.NLM_F_DUMP, NextSequence(), Netlink.IfinfomsgLength);
        request.FamilyHeader(Netlink.IfinfomsgLength)[0] = (byte)AF_UNSPEC;
        if (!Dump(request, out var messages, out var errno))
            throw new IOException($"RTM_GETLINK dump failed: {Errno.Describe(errno)}");
        var links = new List<LinkInfo>();
        foreach (var message in messages)
            if (message.Type == Netlink.RTM_NEWLINK && NetlinkParse.TryLink(message, out var link))
                links.Add(new LinkInfo(link.Index, link.Name, link.Flags, link.LinkLayerAddress));
        return links;
    }

    /// <summary>Every queueing discipline of the namespace with its counters (an RTM_GETQDISC dump). Throws <see cref="IOException"/> naming the errno should the kernel refuse.</summary>
    public IReadOnlyList<QdiscStatistics> DumpQdiscs()
    {
        var request = new NetlinkRequest(Netlink.RTM_GETQDISC, Netlink.NLM_F_DUMP, NextSequence(), Netlink.TcmsgLength);
        request.FamilyHeader(Netlink.TcmsgLength)[0] = (byte)AF_UNSPEC;
        if (!Dump(request, out var messages, out var errno))
            throw new IOException($"RTM_GETQDISC dump failed: {Errno.Describe(errno)}");
        var qdiscs = new List<QdiscStatistics>();
        foreach (var message in messages)
            if (message.Type == Netlink.RTM_NEWQDISC && NetlinkParse.TryQdisc(message, out var q))
                qdiscs.Add(new QdiscStatistics(q.Index, q.Handle, q.Parent, q.Kind, q.Bytes, q.Packets, q.Drops, q.Overlimits));
        return qdiscs;
    }

    private uint NextSequence() => Interlocked.Increment(ref _sequence);

    /// <summary>Sends a request with NLM_F_ACK and waits for its NLMSG_ERROR; true when the kernel's errno is 0.</summary>
    private bool Request(NetlinkRequest request, out int errno)
    {
        var bytes = request.Finish();
        var flags = (ushort)(MemoryMarshal.Read<ushort>(bytes.AsSpan(6)) | Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK);
        MemoryMarshal.Write(bytes.AsSpan(6), in flags);
        var sequence = MemoryMarshal.Read<uint>(bytes.AsSpan(8));
        lock (_lock)
        {
            if (!TrySendToKernel(bytes, out errno))
                return false;
            while (true)
            {
                if (!TryReceive(out var messages, out errno))
                    return false;
                foreach (var message in messages)
                {
                    if (message.Sequence != sequence || message.Type != Netlink.NLMSG_ERROR)
                        continue;
                    errno = message.AckErrno;
                    return errno == 0;
                }
            }
        }
    }

    /// <summary>Sends a dump request and collects every part up to NLMSG_DONE.</summary>
    private bool Dump(NetlinkRequest request, out List<Netlink.Message> collected, out int errno)
    {
        collected = [];
        var bytes = request.Finish();
        var flags = (ushort)(Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP);
        MemoryMarshal.Write(bytes.AsSpan(6), in flags);
        var sequence = MemoryMarshal.Read<uint>(bytes.AsSpan(8));
        lock (_lock)
        {
            if (!TrySendToKernel(bytes, out errno))
                return false;
            while (true)
            {
                if (!TryReceive(out var messages, out errno))
                    return false;
                foreach (var message in messages)
                {
                    if (message.Sequence != sequence)
                        continue;
                    if (message.Type == Netlink.NLMSG_DONE)
                        return true;
                    if (message.Type == Netlink.NLMSG_ERROR)
                    {
                        errno = message.AckErrno;
                        if (errno == 0)
                            return true;
                        return false;
                    }
                    collected.Add(message);
                }
            }
        }
    }

    private bool TrySendToKernel(byte[] bytes, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        SockaddrNl kernel = default;
        kernel.nl_family = (ushort)AF_NETLINK;
        long sent;
        fixed (byte* data = bytes)
        {
            do
            {
                sent = sendto(fd, data, (size_t)bytes.Length, 0, (sockaddr*)&kernel, (uint)sizeof(SockaddrNl));
                errno = sent < 0 ? LibC.errno : 0;
            }
            while (sent < 0 && errno == EINTR);
        }
        GC.KeepAlive(this);
        return sent >= 0;
    }

    private bool TryReceive(out List<Netlink.Message> messages, out int errno)
    {
        messages = [];
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return false;
        }
        long received;
        fixed (byte* data = _receiveBuffer)
        {
            do
            {
                received = recv(fd, data, (size_t)_receiveBuffer.Length, 0);
                errno = received < 0 ? LibC.errno : 0;
            }
            while (received < 0 && errno == EINTR);
        }
        GC.KeepAlive(this);
        if (received < 0)
            return false;
        messages = Netlink.Split(_receiveBuffer.AsSpan(0, (int)received));
        return true;
    }
}
