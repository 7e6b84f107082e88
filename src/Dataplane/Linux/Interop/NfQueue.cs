// nfnetlink_queue on the wire, as <linux/netfilter/nfnetlink.h>, <linux/netfilter/nfnetlink_queue.h>
// and <linux/netfilter.h> define it (Tmds.LibC 0.5.0 has none of it). A message is a netlink header
// whose type is (subsystem << 8) | message, then struct nfgenmsg (family, version, res_id = the queue
// number in network byte order), then netlink attributes (struct nlattr, as rtattr: u16 length, u16
// type, value padded to 4 octets; lengths and types in host order). Unlike rtnetlink, nfnetlink
// attribute VALUES are big-endian (__be16 / __be32), and the packed structs below are not padded.
namespace Pmip6Akka.Dataplane.Linux.Interop;

internal static class NfQueue
{
    /// <summary>NETLINK_NETFILTER (<linux/netlink.h>): the netlink family of every nfnetlink subsystem.</summary>
    public const int NETLINK_NETFILTER = 12;

    /// <summary>NFNL_SUBSYS_QUEUE: the high byte of nlmsg_type for nfnetlink_queue.</summary>
    public const int NFNL_SUBSYS_QUEUE = 3;

    public const ushort NFQNL_MSG_PACKET = (NFNL_SUBSYS_QUEUE << 8) | 0;
    public const ushort NFQNL_MSG_VERDICT = (NFNL_SUBSYS_QUEUE << 8) | 1;
    public const ushort NFQNL_MSG_CONFIG = (NFNL_SUBSYS_QUEUE << 8) | 2;
    public const ushort NFQNL_MSG_VERDICT_BATCH = (NFNL_SUBSYS_QUEUE << 8) | 3;

    /// <summary>sizeof(struct nfgenmsg): u8 nfgen_family, u8 version (NFNETLINK_V0), __be16 res_id.</summary>
    public const int NfgenmsgLength = 4;
    public const byte NFNETLINK_V0 = 0;

    // NFQNL_MSG_CONFIG attributes.
    /// <summary>struct nfqnl_msg_config_cmd: u8 command, u8 _pad, __be16 pf.</summary>
    public const ushort NFQA_CFG_CMD = 1;
    /// <summary>struct nfqnl_msg_config_params (packed, 5 octets): __be32 copy_range, u8 copy_mode.</summary>
    public const ushort NFQA_CFG_PARAMS = 2;
    /// <summary>__be32: how many packets the kernel keeps waiting for a verdict before it drops (or, fail-open, accepts).</summary>
    public const ushort NFQA_CFG_QUEUE_MAXLEN = 3;
    /// <summary>__be32: which NFQA_CFG_FLAGS bits to change (the kernel refuses FLAGS without it).</summary>
    public const ushort NFQA_CFG_MASK = 4;
    public const ushort NFQA_CFG_FLAGS = 5;

    public const byte NFQNL_CFG_CMD_BIND = 1;
    public const byte NFQNL_CFG_CMD_UNBIND = 2;
    /// <summary>Obsolete since Linux 3.8 (the kernel answers 0 and does nothing); older kernels needed PF_UNBIND + PF_BIND per family.</summary>
    public const byte NFQNL_CFG_CMD_PF_BIND = 3;
    public const byte NFQNL_CFG_CMD_PF_UNBIND = 4;

    public const byte NFQNL_COPY_PACKET = 2;

    /// <summary>nfnetlink_queue.c: NFQNL_MAX_COPY_RANGE = 0xffff - NLA_HDRLEN; larger (or 0) is clamped to it.</summary>
    public const int MaxCopyRange = 0xFFFF - 4;

    /// <summary>On a full queue, accept instead of drop.</summary>
    public const uint NFQA_CFG_F_FAIL_OPEN = 0x01;
    /// <summary>Hand GSO packets over whole instead of segmenting them first.</summary>
    public const uint NFQA_CFG_F_GSO = 0x04;

    // NFQNL_MSG_PACKET / NFQNL_MSG_VERDICT attributes.
    /// <summary>struct nfqnl_msg_packet_hdr (packed, 7 octets): __be32 packet_id, __be16 hw_protocol, u8 hook.</summary>
    public const ushort NFQA_PACKET_HDR = 1;
    /// <summary>struct nfqnl_msg_verdict_hdr: __be32 verdict, __be32 id.</summary>
    public const ushort NFQA_VERDICT_HDR = 2;
    public const ushort NFQA_IFINDEX_INDEV = 5;
    public const ushort NFQA_PAYLOAD = 10;
    /// <summary>__be32: the packet's real length, present when NFQA_PAYLOAD holds only the first copy-range octets.</summary>
    public const ushort NFQA_CAP_LEN = 13;

    public const int PacketHeaderLength = 7;
    public const int VerdictHeaderLength = 8;

    /// <summary>The nlattr type bits (NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off).</summary>
    public const ushort NLA_TYPE_MASK = 0x3FFF;

    /// <summary>Where the kernel shows every queue instance of the reader's network namespace.</summary>
    public const string StatisticsPath = "/proc/thread-self/net/netfilter/nfnetlink_queue";
}
