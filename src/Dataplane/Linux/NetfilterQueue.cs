// One nfnetlink_queue (the kernel side of the NFQUEUE target, netfilter's "hand the packet to
// userspace and wait for a verdict" queue) spoken to over a NETLINK_NETFILTER socket, without
// libnetfilter_queue. What the LMA's handover buffering needs from it: a packet matched by an
// `ip6tables ... -j NFQUEUE --queue-num N` rule is parked by the kernel in queue N until we give its
// verdict; only a copy of its first CopyRange octets reaches us (enough for the IPv6 header, we only
// need the addresses), the packet itself stays in the kernel. NF_ACCEPT lets it continue its
// traversal (routing, forwarding, local delivery) exactly where it stopped; NF_DROP frees it. So a
// buffer is a set of verdicts we have not given yet, and a release is verdicts given in id order.
//
// The protocol (nfnetlink_queue.c, <linux/netfilter/nfnetlink_queue.h>; libnetfilter_queue documents
// the same messages):
//   - NFQNL_MSG_CONFIG with NFQA_CFG_CMD BIND creates queue instance N owned by our netlink port id;
//     another socket asking for the same number gets EPERM, the same socket asking twice EBUSY. Its
//     NFQA_CFG_PARAMS (copy mode, copy range), NFQA_CFG_QUEUE_MAXLEN and NFQA_CFG_FLAGS/NFQA_CFG_MASK
//     travel in the same message: the kernel checks the flags first and then applies everything, so
//     there is no moment where the queue is bound but not yet in copy-packet mode. (PF_UNBIND/PF_BIND
//     are no-ops since Linux 3.8; older kernels needed them per family, so we send them first and
//     ignore their answers.)
//   - Each queued packet arrives as an NFQNL_MSG_PACKET: NFQA_PACKET_HDR (packet id, hardware
//     protocol, hook), NFQA_PAYLOAD (the copied octets), NFQA_CAP_LEN (the whole length, when
//     truncated), NFQA_IFINDEX_INDEV... Ids grow by one per packet per queue.
//   - NFQNL_MSG_VERDICT (NFQA_VERDICT_HDR: verdict, id) settles one packet; NFQNL_MSG_VERDICT_BATCH
//     settles every queued packet whose id is <= the given one, in queue order.
//   - The queue holds at most NFQA_CFG_QUEUE_MAXLEN packets; beyond that it drops (counted as
//     queue_dropped) or, with NFQA_CFG_F_FAIL_OPEN, accepts. When the message cannot be put on our
//     socket (receive buffer full) the packet is dropped too (user_dropped; accepted when fail-open)
//     and our next recv fails with ENOBUFS: a transient condition the receiver counts, nothing to
//     resynchronise (the packet is already gone). /proc/net/netfilter/nfnetlink_queue shows both
//     counters per queue (<see cref="TryReadQueueStatistics"/>).
//   - Closing the socket destroys the instance and drops whatever it still held: held packets do not
//     survive the daemon.
// Verdicts go without NLM_F_ACK (one sendto, no round trip). The kernel still answers a failed verdict
// (ENOENT: no such packet id) with an NLMSG_ERROR; it arrives on the receive path, where the reader
// counts it.
// One thread receives; verdicts may be sent from any thread, concurrently (the kernel serialises on
// the socket). Receive and verdicts never allocate and never throw; they return the errno.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using Pmip6Akka.Dataplane.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Linux;

public sealed record NetfilterQueueOptions
{
    /// <summary>The NFQUEUE number (`--queue-num`) to bind.</summary>
    public required ushort QueueNumber { get; init; }

    /// <summary>NFQA_CFG_QUEUE_MAXLEN: packets the kernel holds for us before it drops (or, <see cref="FailOpen"/>, accepts) the next ones.</summary>
    public int MaxQueueLength { get; init; } = 4096;

    /// <summary>Octets of each packet copied to us (NFQNL_COPY_PACKET); the kernel keeps the whole packet. 128 covers the IPv6 header and a transport header; 0 asks for the kernel's maximum (65531).</summary>
    public int CopyRange { get; init; } = 128;

    /// <summary>NFQA_CFG_F_FAIL_OPEN: on a full queue (or a full socket buffer) accept the packet instead of dropping it.</summary>
    public bool FailOpen { get; init; }

    /// <summary>SO_RCVTIMEO: how long <see cref="NetfilterQueue.Receive"/> blocks before returning -1 with EAGAIN; zero blocks forever.</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// SO_RCVBUFFORCE (falling back to SO_RCVBUF) in octets, or 0 for the kernel default
    /// (net.core.rmem_default, ~208 KiB). It only has to cover the messages not yet read: held packets
    /// wait in the kernel's queue, not in this buffer. Measured on Linux 6.18 with copy range 128: about
    /// 900 octets of buffer per message (a 4096-octet request, doubled by the kernel, took 9), so the
    /// default takes ~230 unread messages before the kernel drops with ENOBUFS.
    /// </summary>
    public int ReceiveBufferBytes { get; init; }
}

/// <summary>The verdicts we give (NF_DROP, NF_ACCEPT in <linux/netfilter.h>).</summary>
public enum NetfilterVerdict : uint
{
    Drop = 0,
    Accept = 1,
}

/// <summary>
/// One NFQNL_MSG_PACKET, viewed in place in the receive buffer (valid until it is reused).
/// <see cref="Payload"/> is the copied start of the packet (for an NFQUEUE rule in ip6tables, the IPv6
/// header onwards); <see cref="OriginalLength"/> is the whole packet's length.
/// </summary>
public readonly ref struct QueuedPacket
{
    public QueuedPacket(ushort queueNumber, uint packetId, ushort hardwareProtocol, byte hook, int inputInterface, ReadOnlySpan<byte> payload, int originalLength)
    {
        QueueNumber = queueNumber;
        PacketId = packetId;
        HardwareProtocol = hardwareProtocol;
        Hook = hook;
        InputInterface = inputInterface;
        Payload = payload;
        OriginalLength = originalLength;
    }

    /// <summary>nfgenmsg res_id: the queue the packet waits in.</summary>
    public ushort QueueNumber { get; }

    /// <summary>The id a verdict names (NFQA_PACKET_HDR packet_id).</summary>
    public uint PacketId { get; }

    /// <summary>The link-layer protocol (ETH_P_IPV6 = 0x86DD for IPv6 packets), 0 when the packet has none yet.</summary>
    public ushort HardwareProtocol { get; }

    /// <summary>The netfilter hook it was queued at (NF_INET_PRE_ROUTING = 0 for a PREROUTING rule).</summary>
    public byte Hook { get; }

    /// <summary>NFQA_IFINDEX_INDEV: the interface it came in on, 0 when not given.</summary>
    public int InputInterface { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>NFQA_CAP_LEN when the copy was truncated, else the payload's length.</summary>
    public int OriginalLength { get; }

    public bool IsTruncated => OriginalLength > Payload.Length;
}

/// <summary>
/// Walks the netlink messages of one received datagram and yields its queued packets, allocation-free.
/// Use as <c>while (reader.MoveNext()) ... reader.Current</c> to read <see cref="Errors"/> afterwards
/// (foreach works on a copy). NLMSG_ERROR messages with a non-zero errno (a verdict for an unknown
/// id: ENOENT) are counted, not yielded; other messages are skipped; a malformed message ends the walk.
/// </summary>
public ref struct QueuedPacketReader
{
    private ReadOnlySpan<byte> _rest;

    public QueuedPacketReader(ReadOnlySpan<byte> datagram) => _rest = datagram;

    public QueuedPacket Current { get; private set; }

    /// <summary>NLMSG_ERROR messages with a non-zero errno seen so far.</summary>
    public int Errors { get; private set; }

    /// <summary>The errno of the last of them (0 when none).</summary>
    public int LastErrno { get; private set; }

    public readonly QueuedPacketReader GetEnumerator() => this;

    public bool MoveNext()
    {
        while (_rest.Length >= Netlink.HeaderLength)
        {
            var length = (int)MemoryMarshal.Read<uint>(_rest);
            if (length < Netlink.HeaderLength || length > _rest.Length)
            {
                _rest = default;
                return false;
            }
            var type = MemoryMarshal.Read<ushort>(_rest[4..]);
            var payload = _rest[Netlink.HeaderLength..length];
            var next = Netlink.Align(length);
            _rest = next >= _rest.Length ? default : _rest[next..];
            if (type == NfQueue.NFQNL_MSG_PACKET)
            {
                if (TryParsePacket(payload, out var packet))
                {
                    Current = packet;
                    return true;
                }
            }
            else if (type == Netlink.NLMSG_ERROR && payload.Length >= 4)
            {
                var error = -MemoryMarshal.Read<int>(payload);
                if (error != 0)
                {
                    Errors++;
                    LastErrno = error;
                }
            }
        }
        return false;
    }

    private static bool TryParsePacket(ReadOnlySpan<byte> message, out QueuedPacket packet)
    {
        packet = default;
        if (message.Length < NfQueue.NfgenmsgLength)
            return false;
        var queue = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        var hasHeader = false;
        uint id = 0;
        ushort hardwareProtocol = 0;
        byte hook = 0;
        var inputInterface = 0;
        ReadOnlySpan<byte> payload = default;
        var originalLength = -1;
        var rest = message[NfQueue.NfgenmsgLength..];
        while (rest.Length >= Netlink.AttributeHeaderLength)
        {
            var length = MemoryMarshal.Read<ushort>(rest);
            var type = (ushort)(MemoryMarshal.Read<ushort>(rest[2..]) & NfQueue.NLA_TYPE_MASK);
            if (length < Netlink.AttributeHeaderLength || length > rest.Length)
                break;
            var value = rest[Netlink.AttributeHeaderLength..length];
            switch (type)
            {
                case NfQueue.NFQA_PACKET_HDR when value.Length >= NfQueue.PacketHeaderLength:
                    id = BinaryPrimitives.ReadUInt32BigEndian(value);
                    hardwareProtocol = BinaryPrimitives.ReadUInt16BigEndian(value[4..]);
                    hook = value[6];
                    hasHeader = true;
                    break;
                case NfQueue.NFQA_PAYLOAD:
                    payload = value;
                    break;
                case NfQueue.NFQA_CAP_LEN when value.Length >= 4:
                    originalLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(value), int.MaxValue);
                    break;
                case NfQueue.NFQA_IFINDEX_INDEV when value.Length >= 4:
                    inputInterface = (int)BinaryPrimitives.ReadUInt32BigEndian(value);
                    break;
            }
            var next = Netlink.Align(length);
            if (next >= rest.Length)
                break;
            rest = rest[next..];
        }
        if (!hasHeader)
            return false;
        packet = new QueuedPacket(queue, id, hardwareProtocol, hook, inputInterface, payload, Math.Max(originalLength, payload.Length));
        return true;
    }
}

/// <summary>One line of /proc/net/netfilter/nfnetlink_queue (nfnetlink_queue.c seq_show).</summary>
public readonly record struct QueueStatistics(
    ushort QueueNumber,
    uint PortId,
    uint QueueTotal,
    int CopyMode,
    int CopyRange,
    uint QueueDropped,
    uint UserDropped,
    uint IdSequence)
{
    /// <summary>Packets the kernel dropped for this queue: queue full (<see cref="QueueDropped"/>) plus message not deliverable to our socket (<see cref="UserDropped"/>).</summary>
    public ulong Dropped => (ulong)QueueDropped + UserDropped;
}

public sealed unsafe class NetfilterQueue : OwnedFileDescriptor
{
    internal const string PrivilegeHint = "binding an nfnetlink_queue needs CAP_NET_ADMIN; EPERM also when another socket already owns the queue number";

    /// <summary>NLMSG_ALIGN'd room for the netlink, nfgenmsg and non-payload attribute headers of one queued packet (hdr, mark, timestamp, interfaces, hwaddr, cap_len, skb_info, ... with margin).</summary>
    private const int MessageOverhead = 512;

    private static readonly TimeSpan ConfigReplyTimeout = TimeSpan.FromSeconds(2);

    private long _receiveOverruns;
    private long _truncatedReceives;

    private NetfilterQueue(int fd, NetfilterQueueOptions options) : base(fd) => Options = options;

    public NetfilterQueueOptions Options { get; }

    public ushort QueueNumber => Options.QueueNumber;

    /// <summary>A <see cref="Receive"/> buffer at least this long holds any one message of this queue.</summary>
    public int MinimumReceiveBufferLength =>
        Netlink.Align(Options.CopyRange is <= 0 or > NfQueue.MaxCopyRange ? NfQueue.MaxCopyRange : Options.CopyRange) + MessageOverhead;

    /// <summary>How often <see cref="Receive"/> saw ENOBUFS: the kernel could not put queued-packet messages on our socket and dropped (or, fail-open, accepted) those packets.</summary>
    public long ReceiveOverruns => Volatile.Read(ref _receiveOverruns);

    /// <summary>How often <see cref="Receive"/> saw a datagram longer than the buffer (EMSGSIZE): that packet's id is lost, it stays held until a batch verdict covers it or the queue closes.</summary>
    public long TruncatedReceives => Volatile.Read(ref _truncatedReceives);

    /// <summary>Binds the queue in the calling thread's network namespace; throws <see cref="LinuxSetupException"/> naming the failing call and errno.</summary>
    public static NetfilterQueue Open(NetfilterQueueOptions options) =>
        TryOpen(options, out var queue, out var error) ? queue : throw new LinuxSetupException(error);

    /// <summary>
    /// As <see cref="Open"/>, reporting failure instead of throwing: EPERM without CAP_NET_ADMIN or when
    /// another socket owns the queue number, EINVAL for options out of range, EOPNOTSUPP from a kernel
    /// without the GSO flag, EPROTONOSUPPORT without nfnetlink.
    /// </summary>
    public static bool TryOpen(NetfilterQueueOptions options, [NotNullWhen(true)] out NetfilterQueue? queue, out LinuxSetupError error)
    {
        queue = null;
        if (options.MaxQueueLength < 1)
        {
            error = new LinuxSetupError($"NFQA_CFG_QUEUE_MAXLEN {options.MaxQueueLength}", EINVAL, PrivilegeHint);
            return false;
        }
        if (options.CopyRange is < 0 or > NfQueue.MaxCopyRange)
        {
            error = new LinuxSetupError($"NFQA_CFG_PARAMS copy range {options.CopyRange}", EINVAL, PrivilegeHint);
            return false;
        }
        var fd = LibC.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NfQueue.NETLINK_NETFILTER);
        if (fd < 0)
        {
            error = new LinuxSetupError("socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)", errno, PrivilegeHint);
            return false;
        }
        var opened = new NetfilterQueue(fd, options);
        if (!opened.TryConfigure(out error))
        {
            opened.Dispose();
            return false;
        }
        queue = opened;
        return true;
    }

    private bool TryConfigure(out LinuxSetupError error)
    {
        var fd = FileDescriptor;
        var options = Options;
        SockaddrNl local = default;
        local.nl_family = (ushort)AF_NETLINK;
        if (!SocketSetup.TrySetBuffer(fd, receive: true, options.ReceiveBufferBytes, PrivilegeHint, out error)
            || !SocketSetup.TrySetReceiveTimeout(fd, ConfigReplyTimeout, PrivilegeHint, out error))
            return false;
        if (bind(fd, (sockaddr*)&local, (uint)sizeof(SockaddrNl)) < 0)
            return SocketSetup.Fail(out error, "bind(AF_NETLINK)", PrivilegeHint);

        // Older kernels: (re)bind the IPv6 family to nfnetlink_queue. Newer ones ignore both.
        Configure(NfQueue.NFQNL_CFG_CMD_PF_UNBIND, queue: 0, options, withParameters: false, out _);
        Configure(NfQueue.NFQNL_CFG_CMD_PF_BIND, queue: 0, options, withParameters: false, out _);

        if (!Configure(NfQueue.NFQNL_CFG_CMD_BIND, options.QueueNumber, options, withParameters: true, out var errno))
        {
            error = new LinuxSetupError(
                $"NFQNL_MSG_CONFIG(BIND queue {options.QueueNumber}, copy {options.CopyRange}, maxlen {options.MaxQueueLength}{(options.FailOpen ? ", fail-open" : "")})",
                errno, PrivilegeHint);
            return false;
        }
        return SocketSetup.TrySetReceiveTimeout(fd, options.ReceiveTimeout, PrivilegeHint, out error);
    }

    /// <summary>One NFQNL_MSG_CONFIG with NLM_F_ACK, waiting for its answer; true when the kernel's errno is 0.</summary>
    private bool Configure(byte command, ushort queue, NetfilterQueueOptions options, bool withParameters, out int errno)
    {
        var sequence = (uint)Environment.TickCount ^ command;
        Span<byte> message = stackalloc byte[96];
        message.Clear();
        var length = Netlink.HeaderLength + NfQueue.NfgenmsgLength;
        var flags = (ushort)(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK);
        var messageType = NfQueue.NFQNL_MSG_CONFIG;
        MemoryMarshal.Write(message[4..], in messageType);
        MemoryMarshal.Write(message[6..], in flags);
        MemoryMarshal.Write(message[8..], in sequence);
        message[Netlink.HeaderLength] = (byte)AF_INET6;            // nfgen_family
        message[Netlink.HeaderLength + 1] = NfQueue.NFNETLINK_V0;  // version
        BinaryPrimitives.WriteUInt16BigEndian(message[(Netlink.HeaderLength + 2)..], queue); // res_id

        Span<byte> cmd = stackalloc byte[4];
        cmd[0] = command;
        BinaryPrimitives.WriteUInt16BigEndian(cmd[2..], (ushort)AF_INET6);
        length = PutAttribute(message, length, NfQueue.NFQA_CFG_CMD, cmd);
        if (withParameters)
        {
            Span<byte> parameters = stackalloc byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(parameters, (uint)options.CopyRange);
            parameters[4] = NfQueue.NFQNL_COPY_PACKET;
            length = PutAttribute(message, length, NfQueue.NFQA_CFG_PARAMS, parameters);
            length = PutBigEndian(message, length, NfQueue.NFQA_CFG_QUEUE_MAXLEN, (uint)options.MaxQueueLength);
            length = PutBigEndian(message, length, NfQueue.NFQA_CFG_MASK, NfQueue.NFQA_CFG_F_FAIL_OPEN | NfQueue.NFQA_CFG_F_GSO);
            length = PutBigEndian(message, length, NfQueue.NFQA_CFG_FLAGS, (options.FailOpen ? NfQueue.NFQA_CFG_F_FAIL_OPEN : 0) | NfQueue.NFQA_CFG_F_GSO);
        }
        var total = (uint)length;
        MemoryMarshal.Write(message, in total);
        if (!TrySendToKernel(message[..length], out errno))
            return false;

        var buffer = new byte[MinimumReceiveBufferLength];
        while (true)
        {
            var received = Receive(buffer, out errno);
            if (received < 0)
            {
                if (errno == EINTR || errno == ENOBUFS || errno == EMSGSIZE)
                    continue;
                return false;
            }
            var rest = buffer.AsSpan(0, received);
            while (rest.Length >= Netlink.HeaderLength)
            {
                var messageLength = (int)MemoryMarshal.Read<uint>(rest);
                if (messageLength < Netlink.HeaderLength || messageLength > rest.Length)
                    break;
                var type = MemoryMarshal.Read<ushort>(rest[4..]);
                var replySequence = MemoryMarshal.Read<uint>(rest[8..]);
                if (type == Netlink.NLMSG_ERROR && replySequence == sequence && messageLength >= Netlink.HeaderLength + 4)
                {
                    errno = -MemoryMarshal.Read<int>(rest[Netlink.HeaderLength..]);
                    return errno == 0;
                }
                var next = Netlink.Align(messageLength);
                rest = next >= rest.Length ? default : rest[next..];
            }
            // A packet queued between the bind and its answer (a rule already pointing at the queue):
            // not ours to hold, let it go on.
            var reader = new QueuedPacketReader(buffer.AsSpan(0, received));
            while (reader.MoveNext())
                TrySetVerdict(reader.Current.PacketId, NetfilterVerdict.Accept, out _);
        }
    }

    private static int PutAttribute(Span<byte> message, int at, ushort type, ReadOnlySpan<byte> value)
    {
        var attributeLength = (ushort)(Netlink.AttributeHeaderLength + value.Length);
        MemoryMarshal.Write(message[at..], in attributeLength);
        MemoryMarshal.Write(message[(at + 2)..], in type);
        value.CopyTo(message[(at + Netlink.AttributeHeaderLength)..]);
        return at + Netlink.Align(attributeLength);
    }

    private static int PutBigEndian(Span<byte> message, int at, ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return PutAttribute(message, at, type, bytes);
    }

    /// <summary>
    /// Blocks for one netlink datagram (at most <see cref="NetfilterQueueOptions.ReceiveTimeout"/>) and
    /// copies it into <paramref name="buffer"/>; read its packets with <see cref="Packets"/>. Returns its
    /// length, or -1 with <paramref name="errno"/>: EAGAIN on timeout; EINTR; ENOBUFS when the kernel
    /// dropped queued-packet messages for lack of socket buffer (counted in <see cref="ReceiveOverruns"/>);
    /// EMSGSIZE when the datagram did not fit (counted in <see cref="TruncatedReceives"/>; use at least
    /// <see cref="MinimumReceiveBufferLength"/>); EBADF once disposed. Allocation-free.
    /// </summary>
    public int Receive(Span<byte> buffer, out int errno)
    {
        var fd = FileDescriptor;
        if (fd < 0)
        {
            errno = EBADF;
            return -1;
        }
        msghdr msg = default;
        long received;
        fixed (byte* data = buffer)
        {
            iovec iov = default;
            iov.iov_base = data;
            iov.iov_len = (size_t)buffer.Length;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            received = recvmsg(fd, &msg, 0);
            errno = received < 0 ? LibC.errno : 0;
        }
        GC.KeepAlive(this);
        if (received < 0)
        {
            if (errno == ENOBUFS)
                Interlocked.Increment(ref _receiveOverruns);
            return -1;
        }
        if ((msg.msg_flags & MSG_TRUNC) != 0)
        {
            Interlocked.Increment(ref _truncatedReceives);
            errno = EMSGSIZE;
            return -1;
        }
        return (int)received;
    }

    /// <summary>The queued packets in a datagram <see cref="Receive"/> returned (allocation-free).</summary>
    public static QueuedPacketReader Packets(ReadOnlySpan<byte> datagram) => new(datagram);

    /// <summary>
    /// Gives <paramref name="verdict"/> for packet <paramref name="packetId"/> (NFQNL_MSG_VERDICT, no ack
    /// requested). False with <paramref name="errno"/> when the send fails (EBADF once disposed, ENOBUFS,
    /// ...); an unknown id is reported later, as an error the <see cref="QueuedPacketReader"/> counts.
    /// Allocation-free; any thread.
    /// </summary>
    public bool TrySetVerdict(uint packetId, NetfilterVerdict verdict, out int errno) =>
        SendVerdict(NfQueue.NFQNL_MSG_VERDICT, packetId, verdict, out errno);

    /// <summary>Gives <paramref name="verdict"/> for every queued packet whose id is &lt;= <paramref name="maxPacketId"/>, in queue order (NFQNL_MSG_VERDICT_BATCH). As <see cref="TrySetVerdict"/> otherwise.</summary>
    public bool TrySetBatchVerdict(uint maxPacketId, NetfilterVerdict verdict, out int errno) =>
        SendVerdict(NfQueue.NFQNL_MSG_VERDICT_BATCH, maxPacketId, verdict, out errno);

    private bool SendVerdict(ushort type, uint packetId, NetfilterVerdict verdict, out int errno)
    {
        const int Length = Netlink.HeaderLength + NfQueue.NfgenmsgLength + Netlink.AttributeHeaderLength + NfQueue.VerdictHeaderLength;
        var message = stackalloc byte[Length];
        var span = new Span<byte>(message, Length);
        var total = (uint)Length;
        var flags = Netlink.NLM_F_REQUEST;
        MemoryMarshal.Write(span, in total);
        MemoryMarshal.Write(span[4..], in type);
        MemoryMarshal.Write(span[6..], in flags);
        span[8..16].Clear();                                         // sequence, port id
        span[16] = (byte)AF_UNSPEC;                                  // nfgen_family
        span[17] = NfQueue.NFNETLINK_V0;
        BinaryPrimitives.WriteUInt16BigEndian(span[18..], QueueNumber); // res_id
        var attributeLength = (ushort)(Netlink.AttributeHeaderLength + NfQueue.VerdictHeaderLength);
        var attributeType = NfQueue.NFQA_VERDICT_HDR;
        MemoryMarshal.Write(span[20..], in attributeLength);
        MemoryMarshal.Write(span[22..], in attributeType);
        BinaryPrimitives.WriteUInt32BigEndian(span[24..], (uint)verdict);
        BinaryPrimitives.WriteUInt32BigEndian(span[28..], packetId);
        return TrySendToKernel(span, out errno);
    }

    private bool TrySendToKernel(ReadOnlySpan<byte> message, out int errno)
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
        fixed (byte* data = message)
        {
            do
            {
                sent = sendto(fd, data, (size_t)message.Length, 0, (sockaddr*)&kernel, (uint)sizeof(SockaddrNl));
                errno = sent < 0 ? LibC.errno : 0;
            }
            while (sent < 0 && errno == EINTR);
        }
        GC.KeepAlive(this);
        return sent >= 0;
    }

    /// <summary>True for the errnos after which a receive loop just calls <see cref="Receive"/> again (ENOBUFS and EMSGSIZE are counted, the packets concerned are gone or unknown).</summary>
    public static bool IsTransientReceiveError(int errno) =>
        errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS || errno == EMSGSIZE;

    /// <summary>
    /// The kernel's counters for queue <paramref name="queue"/> in the calling thread's network namespace
    /// (/proc/thread-self/net/netfilter/nfnetlink_queue: /proc/self/net would show the main thread's
    /// namespace). False when the file is not there (nfnetlink_queue not loaded) or the queue is not bound.
    /// </summary>
    public static bool TryReadQueueStatistics(ushort queue, out QueueStatistics statistics)
    {
        statistics = default;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(NfQueue.StatisticsPath);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        foreach (var line in lines)
            if (TryParseStatistics(line, out var parsed) && parsed.QueueNumber == queue)
            {
                statistics = parsed;
                return true;
            }
        return false;
    }

    /// <summary>One line: queue_num peer_portid queue_total copy_mode copy_range queue_dropped queue_user_dropped id_sequence 1.</summary>
    internal static bool TryParseStatistics(string line, out QueueStatistics statistics)
    {
        statistics = default;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 8)
            return false;
        Span<uint> values = stackalloc uint[8];
        for (var i = 0; i < 8; i++)
            if (!uint.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
                return false;
        if (values[0] > ushort.MaxValue)
            return false;
        statistics = new QueueStatistics((ushort)values[0], values[1], values[2], (int)values[3], (int)values[4], values[5], values[6], values[7]);
        return true;
    }
}
