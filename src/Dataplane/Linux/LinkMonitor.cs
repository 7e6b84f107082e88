// Kernel notifications about links and neighbours, so the MAG learns of an access link going away
// (a mobile node detaching: RFC 5213 §6.9.1.1 has the MAG deregister when it detects the detachment)
// and of neighbour reachability without polling. A NETLINK_ROUTE socket bound to the multicast groups
// RTNLGRP_LINK and RTNLGRP_NEIGH (sockaddr_nl.nl_groups bits RTMGRP_LINK = 1, RTMGRP_NEIGH = 4;
// rtnetlink(7)) receives RTM_NEWLINK / RTM_DELLINK and RTM_NEWNEIGH / RTM_DELNEIGH for the network
// namespace the socket was opened in. Notes from the kernel's behaviour (checked on Linux 6.18):
//   - a flag or carrier change is an RTM_NEWLINK with the new flags; IFF_LOWER_UP follows the carrier,
//     which for a veth is whether the peer is up;
//   - moving an interface out of the namespace (`ip link set X netns NS`) is an RTM_DELLINK here and an
//     RTM_NEWLINK in the namespace it enters;
//   - one datagram may carry several messages; we parse them all and hand them out one by one.
// If the socket's receive buffer overruns, the kernel drops notifications and the next recv fails
// with ENOBUFS: the caller must then resynchronise (RouteNetlink.DumpLinks) — we report it, never hide it.
using System.Diagnostics.CodeAnalysis;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

/// <summary>A change the kernel announced on RTNLGRP_LINK or RTNLGRP_NEIGH.</summary>
public abstract record NetlinkEvent;

/// <summary>RTM_NEWLINK (created or changed; <see cref="Deleted"/> false) or RTM_DELLINK (removed, or moved to another namespace).</summary>
public sealed record LinkChanged(int Index, string Name, uint Flags, bool Deleted, byte[] LinkLayerAddress) : NetlinkEvent
{
    /// <summary>IFF_UP: administratively up.</summary>
    public bool IsUp => (Flags & Netlink.IFF_UP) != 0;

    /// <summary>IFF_LOWER_UP: carrier (for a veth: the peer end is up).</summary>
    public bool HasCarrier => (Flags & Netlink.IFF_LOWER_UP) != 0;

    /// <summary>
    /// IFF_RUNNING: operationally up. The kernel sets it in linkwatch together with activating the device's
    /// queueing discipline, so unlike carrier alone it means packets sent now actually leave.
    /// </summary>
    public bool IsRunning => (Flags & Netlink.IFF_RUNNING) != 0;
}

/// <summary>RTM_NEWNEIGH / RTM_DELNEIGH for an IPv6 neighbour; <see cref="State"/> holds NUD_* bits (<linux/neighbour.h>).</summary>
public sealed record NeighborChanged(int Index, Ipv6Address Address, ushort State, byte[]? LinkLayerAddress, bool Deleted) : NetlinkEvent
{
    public const ushort NUD_INCOMPLETE = 0x01;
    public const ushort NUD_REACHABLE = 0x02;
    public const ushort NUD_STALE = 0x04;
    public const ushort NUD_DELAY = 0x08;
    public const ushort NUD_PROBE = 0x10;
    public const ushort NUD_FAILED = 0x20;
    public const ushort NUD_NOARP = 0x40;
    public const ushort NUD_PERMANENT = 0x80;
}

public sealed unsafe class LinkMonitor : OwnedFileDescriptor
{
    private const int ReceiveBufferLength = 1 << 16;

    /// <summary>How long <see cref="TryReceive"/> waits when no timeout is given to <see cref="Open"/>.</summary>
    public static readonly TimeSpan DefaultReceiveTimeout = TimeSpan.FromMilliseconds(500);

    private readonly byte[] _buffer = new byte[ReceiveBufferLength];
    private readonly Queue<NetlinkEvent> _pending = new();

    private LinkMonitor(int fd) : base(fd) { }

    /// <summary>Subscribes, in the calling thread's network namespace; throws <see cref="LinuxSetupException"/>.</summary>
    public static LinkMonitor Open(TimeSpan? receiveTimeout = null) =>
        TryOpen(receiveTimeout ?? DefaultReceiveTimeout, out var monitor, out var error) ? monitor : throw new LinuxSetupException(error);

    /// <summary>As <see cref="Open"/>, reporting failure instead of throwing. <paramref name="receiveTimeout"/> bounds each <see cref="TryReceive"/> (zero: wait forever).</summary>
    public static bool TryOpen(TimeSpan receiveTimeout, [NotNullWhen(true)] out LinkMonitor? monitor, out LinuxSetupError error)
    {
        monitor = null;
        if (!RouteNetlink.TryOpenSocket(Netlink.RTMGRP_LINK | Netlink.RTMGRP_NEIGH, receiveTimeout, RouteNetlink.PrivilegeHint, out var fd, out error))
            return false;
        monitor = new LinkMonitor(fd);
        return true;
    }

    /// <summary>
    /// The next event: from those already received, else from the kernel, waiting at most the receive
    /// timeout. False with <paramref name="errno"/>: EAGAIN on timeout, EINTR, ENOBUFS when the kernel
    /// dropped notifications (resynchronise with a dump), EBADF once disposed. Messages that are not
    /// link or IPv6 neighbour changes are skipped. One thread receives.
    /// </summary>
    public bool TryReceive([NotNullWhen(true)] out NetlinkEvent? ev, out int errno)
    {
        while (true)
        {
            if (_pending.TryDequeue(out ev))
            {
                errno = 0;
                return true;
            }
            var fd = FileDescriptor;
            if (fd < 0)
            {
                errno = EBADF;
                return false;
            }
            long received;
            fixed (byte* data = _buffer)
            {
                received = recv(fd, data, (size_t)_buffer.Length, 0);
                errno = received < 0 ? LibC.errno : 0;
            }
            GC.KeepAlive(this);
            if (received < 0)
                return false;
            foreach (var message in Netlink.Split(_buffer.AsSpan(0, (int)received)))
                if (Parse(message) is { } parsed)
                    _pending.Enqueue(parsed);
        }
    }

    private static NetlinkEvent? Parse(Netlink.Message message)
    {
        switch (message.Type)
        {
            case Netlink.RTM_NEWLINK or Netlink.RTM_DELLINK when NetlinkParse.TryLink(message, out var link):
                return new LinkChanged(link.Index, link.Name, link.Flags, message.Type == Netlink.RTM_DELLINK, link.LinkLayerAddress);
            case Netlink.RTM_NEWNEIGH or Netlink.RTM_DELNEIGH when NetlinkParse.TryNeighbor(message, out var neighbor):
                return new NeighborChanged(neighbor.Index, neighbor.Address, neighbor.State, neighbor.LinkLayerAddress, message.Type == Netlink.RTM_DELNEIGH);
            default:
                return null;
        }
    }

    /// <summary>True for the errnos after which a receive loop just calls <see cref="TryReceive"/> again (ENOBUFS too, after resynchronising).</summary>
    public static bool IsTransientReceiveError(int errno) => errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS;
}
