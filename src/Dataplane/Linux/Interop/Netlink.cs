// rtnetlink(7) / netlink(7) on the wire, as <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>,
// <linux/if_addr.h>, <linux/neighbour.h> and <linux/fib_rules.h> define it (Tmds.LibC 0.5.0 has only
// AF_NETLINK). Every message is a 16-octet nlmsghdr, a family header (rtmsg, ifinfomsg, ...) and
// route attributes (rtattr: u16 length, u16 type, value, padded to 4 octets), all in host byte order
// (NLMSG_ALIGN / RTA_ALIGN = 4). Building and walking messages allocates: these are control paths.
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Linux.Interop;

/// <summary>struct sockaddr_nl in <linux/netlink.h>: family, pad, port id (0 = the kernel), multicast group bits.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockaddrNl
{
    public ushort nl_family;
    public ushort nl_pad;
    public uint nl_pid;
    public uint nl_groups;
}

internal static class Netlink
{
    public const int NETLINK_ROUTE = 0;
    public const int SOL_NETLINK = 270;
    /// <summary>NETLINK_EXT_ACK (setsockopt, SOL_NETLINK): error acks may carry a message (we only read the errno).</summary>
    public const int NETLINK_EXT_ACK = 11;

    public const int HeaderLength = 16;   // sizeof(struct nlmsghdr)
    public const int AttributeHeaderLength = 4; // sizeof(struct rtattr)

    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_MULTI = 0x02;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;

    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;

    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_DELLINK = 17;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    public const ushort RTM_NEWNEIGH = 28;
    public const ushort RTM_DELNEIGH = 29;
    public const ushort RTM_GETNEIGH = 30;
    public const ushort RTM_NEWRULE = 32;
    public const ushort RTM_NEWQDISC = 36;
    public const ushort RTM_GETQDISC = 38;
    public const ushort RTM_DELRULE = 33;

    /// <summary>RTMGRP_LINK / RTMGRP_NEIGH: sockaddr_nl.nl_groups bits for RTNLGRP_LINK (1) and RTNLGRP_NEIGH (3).</summary>
    public const uint RTMGRP_LINK = 0x1;
    public const uint RTMGRP_NEIGH = 0x4;

    // struct rtmsg (12 octets) and its attributes.
    public const int RtmsgLength = 12;
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RTN_UNICAST = 1;
    public const byte RT_TABLE_UNSPEC = 0;
    public const ushort RTA_DST = 1;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_PRIORITY = 6;
    public const ushort RTA_TABLE = 15;

    // struct fib_rule_hdr (12 octets) and its attributes.
    public const int FibRuleHeaderLength = 12;
    public const byte FR_ACT_TO_TBL = 1;
    public const ushort FRA_SRC = 2;
    public const ushort FRA_PRIORITY = 6;
    public const ushort FRA_TABLE = 15;

    // struct ifinfomsg (16 octets) and its attributes.
    public const int IfinfomsgLength = 16;
    public const ushort IFLA_ADDRESS = 1;
    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const uint IFF_UP = 0x1;
    public const uint IFF_RUNNING = 0x40;
    public const uint IFF_LOWER_UP = 0x10000;

    // struct ifaddrmsg (8 octets) and its attributes.
    public const int IfaddrmsgLength = 8;
    public const ushort IFA_ADDRESS = 1;
    public const ushort IFA_LOCAL = 2;
    public const ushort IFA_FLAGS = 8;
    public const uint IFA_F_NODAD = 0x02;

    // struct ndmsg (12 octets) and its attributes.
    public const int NdmsgLength = 12;

    // struct tcmsg (<linux/rtnetlink.h>) and the statistics attributes (<linux/gen_stats.h>, <linux/pkt_sched.h>).
    public const int TcmsgLength = 20;
    public const ushort TCA_KIND = 1;
    public const ushort TCA_STATS = 3;
    public const ushort TCA_STATS2 = 7;
    public const ushort TCA_STATS_BASIC = 1;
    public const ushort TCA_STATS_QUEUE = 3;
    public const uint TC_H_ROOT = 0xFFFFFFFF;
    public const ushort NDA_DST = 1;
    public const ushort NDA_LLADDR = 2;

    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>One message of a datagram: type, flags, sequence and the payload after the nlmsghdr.</summary>
    public readonly record struct Message(ushort Type, ushort Flags, uint Sequence, byte[] Payload)
    {
        /// <summary>For NLMSG_ERROR: the errno of the ack (0 for success), from struct nlmsgerr's negative int.</summary>
        public int AckErrno => Payload.Length >= 4 ? -MemoryMarshal.Read<int>(Payload) : Tmds.Linux.LibC.EPROTO;
    }

    /// <summary>Splits a datagram into its messages (NLMSG_OK / NLMSG_NEXT); stops at the first malformed one.</summary>
    public static List<Message> Split(ReadOnlySpan<byte> datagram)
    {
        var messages = new List<Message>();
        while (datagram.Length >= HeaderLength)
        {
            var length = (int)MemoryMarshal.Read<uint>(datagram);
            if (length < HeaderLength || length > datagram.Length)
                break;
            var type = MemoryMarshal.Read<ushort>(datagram[4..]);
            var flags = MemoryMarshal.Read<ushort>(datagram[6..]);
            var sequence = MemoryMarshal.Read<uint>(datagram[8..]);
            messages.Add(new Message(type, flags, sequence, datagram[HeaderLength..length].ToArray()));
            var next = Align(length);
            if (next >= datagram.Length)
                break;
            datagram = datagram[next..];
        }
        return messages;
    }

    /// <summary>The route attributes after a family header of <paramref name="familyHeaderLength"/> octets, as (type, value) pairs (RTA_OK / RTA_NEXT; the nested flag bits are masked off).</summary>
    public static List<(ushort Type, byte[] Value)> Attributes(ReadOnlySpan<byte> payload, int familyHeaderLength)
    {
        var attributes = new List<(ushort, byte[])>();
        if (payload.Length < familyHeaderLength)
            return attributes;
        var rest = payload[Align(familyHeaderLength)..];
        while (rest.Length >= AttributeHeaderLength)
        {
            var length = MemoryMarshal.Read<ushort>(rest);
            var type = (ushort)(MemoryMarshal.Read<ushort>(rest[2..]) & 0x3FFF); // NLA_TYPE_MASK
            if (length < AttributeHeaderLength || length > rest.Length)
                break;
            attributes.Add((type, rest[AttributeHeaderLength..length].ToArray()));
            var next = Align(length);
            if (next >= rest.Length)
                break;
            rest = rest[next..];
        }
        return attributes;
    }

    /// <summary>An IFLA_IFNAME-style value: ASCII up to the first NUL.</summary>
    public static string CString(byte[] value)
    {
        var end = Array.IndexOf(value, (byte)0);
        return System.Text.Encoding.ASCII.GetString(value, 0, end < 0 ? value.Length : end);
    }
}

/// <summary>A request being built: nlmsghdr, family header, attributes; <see cref="Finish"/> writes the length.</summary>
internal sealed class NetlinkRequest
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public NetlinkRequest(ushort type, ushort flags, uint sequence, int familyHeaderLength)
    {
        _length = Netlink.HeaderLength + Netlink.Align(familyHeaderLength);
        MemoryMarshal.Write(_buffer.AsSpan(4), in type);
        MemoryMarshal.Write(_buffer.AsSpan(6), in flags);
        MemoryMarshal.Write(_buffer.AsSpan(8), in sequence);
    }

    /// <summary>The family header (rtmsg, ifinfomsg, ...), zero-initialised, to fill in place.</summary>
    public Span<byte> FamilyHeader(int length) => _buffer.AsSpan(Netlink.HeaderLength, length);

    public void Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        var total = Netlink.AttributeHeaderLength + value.Length;
        Ensure(Netlink.Align(total));
        var at = _buffer.AsSpan(_length);
        var length = (ushort)total;
        MemoryMarshal.Write(at, in length);
        MemoryMarshal.Write(at[2..], in type);
        value.CopyTo(at[Netlink.AttributeHeaderLength..]);
        _length += Netlink.Align(total);
    }

    public void Attribute(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in value);
        Attribute(type, bytes);
    }

    public void Attribute(ushort type, Ipv6Address address)
    {
        Span<byte> bytes = stackalloc byte[Ipv6Address.Length];
        address.Write(bytes);
        Attribute(type, bytes);
    }

    public byte[] Finish()
    {
        var length = (uint)_length;
        MemoryMarshal.Write(_buffer.AsSpan(), in length);
        return _buffer[.._length];
    }

    private void Ensure(int more)
    {
        if (_length + more > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }
}
