// The flow scenario's eyes inside the mobile node: one AF_PACKET socket (SOCK_DGRAM, ETH_P_IPV6) in the
// node's namespace sees every IPv6 packet the node receives, on every interface, with the interface index
// (sockaddr_ll). Each packet of a lab flow (TCP or UDP to one of the scenario's ports, no extension
// headers: the lab sends none) is recorded as (time, interface, flow): per-flow counters per interface
// and the first packet of a flow on its new path after a move, at packet resolution, not sampled.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Lab;

public readonly record struct FlowPacket(double TimeMs, int Interface, int Flow);

public sealed unsafe class FlowSniffer : IDisposable
{
    private const ushort EthPIpv6 = 0x86DD;
    private const byte PacketOutgoing = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PacketType;
        public byte HaLength;
        public fixed byte Address[8];
    }

    private readonly int _fd;
    private readonly long _origin;
    private readonly (byte Protocol, ushort Port)[] _flows;
    private readonly List<FlowPacket> _packets = [];
    private readonly Lock _lock = new();
    private readonly Thread _thread;
    private volatile bool _stop;

    /// <param name="flows">The flows to record, by upper-layer protocol and destination port; a packet's flow is its index here.</param>
    public FlowSniffer(string ns, long origin, IReadOnlyList<(byte Protocol, ushort Port)> flows)
    {
        _origin = origin;
        _flows = [.. flows];
        _fd = NetnsRunner.Run(ns, () => socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, BinaryPrimitives.ReverseEndianness(EthPIpv6)));
        if (_fd < 0)
            throw new LabFailure($"cannot open a packet socket in {ns}: errno {Marshal.GetLastPInvokeError()}");
        _thread = new Thread(Receive) { IsBackground = true, Name = "lab flow sniffer" };
        _thread.Start();
    }

    public IReadOnlyList<FlowPacket> Packets { get { lock (_lock) return [.. _packets]; } }

    private void Receive()
    {
        var buffer = new byte[128];
        SockaddrLl from;
        pollfd poll = default;
        poll.fd = _fd;
        poll.events = POLLIN;
        while (!_stop)
        {
            if (LibC.poll(&poll, 1, 100) <= 0)
                continue;
            socklen_t length = (uint)sizeof(SockaddrLl);
            long n;
            fixed (byte* data = buffer)
                n = recvfrom(_fd, data, (size_t)buffer.Length, MSG_TRUNC, (sockaddr*)&from, &length);
            if (n < 40 + 4 || from.PacketType == PacketOutgoing)
                continue;
            var now = Stopwatch.GetElapsedTime(_origin).TotalMilliseconds;
            var protocol = buffer[6];
            var port = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(40 + 2));
            var flow = Array.IndexOf(_flows, (protocol, port));
            if (flow >= 0)
                lock (_lock) _packets.Add(new FlowPacket(now, from.IfIndex, flow));
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        close(_fd);
    }
}
