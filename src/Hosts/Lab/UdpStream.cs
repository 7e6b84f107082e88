// The handover scenario's probe: UDP datagrams at a fixed rate from the CN to the mobile node, each
// carrying its sequence number and send time (one clock: sender and receiver are threads of this
// process, their sockets created inside pmip-cn and pmip-mnK). Every send time and every arrival is
// kept, for ArrivalStatistics and the plot.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pmip6Akka.Hosts.Lab;

public sealed class UdpStream : IDisposable
{
    public const int Port = 5001;
    private const int DatagramBytes = 128;

    private readonly Socket _sender;
    private readonly Socket _receiver;
    private readonly IPEndPoint _target;
    private readonly long _origin;
    private readonly int _packetsPerSecond;
    private readonly List<double> _sendTimes = [];
    private readonly List<Arrival> _arrivals = [];
    private readonly Lock _lock = new();
    private volatile bool _stopSending, _stopReceiving;
    private Thread? _sendThread, _receiveThread;
    private long _sendErrors;

    private readonly bool _recordInterface;

    /// <param name="recordInterface">Record each datagram's receiving interface (IPV6_RECVPKTINFO) in <see cref="Arrival.Interface"/>.</param>
    public UdpStream(string cnNamespace, string mnNamespace, IPAddress mnAddress, int packetsPerSecond, long origin, int port = Port, bool recordInterface = false)
    {
        _origin = origin;
        _packetsPerSecond = packetsPerSecond;
        _recordInterface = recordInterface;
        _target = new IPEndPoint(mnAddress, port);
        _receiver = NetnsRunner.Socket(mnNamespace, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        _sender = NetnsRunner.Socket(cnNamespace, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _receiver.ReceiveBufferSize = 4 << 20;
            _receiver.ReceiveTimeout = 100;
            if (recordInterface)
                _receiver.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.PacketInformation, true);
            _receiver.Bind(_target);
        }
        catch (SocketException e)
        {
            Dispose();
            throw new LabFailure($"cannot bind the UDP receiver to [{mnAddress}]:{port} in {mnNamespace}: {e.Message}");
        }
    }

    public long Sent { get { lock (_lock) return _sendTimes.Count; } }
    public long Received { get { lock (_lock) return _arrivals.Count; } }
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public IReadOnlyList<double> SendTimes { get { lock (_lock) return [.. _sendTimes]; } }
    public IReadOnlyList<Arrival> Arrivals { get { lock (_lock) return [.. _arrivals]; } }

    /// <summary>When the latest datagram arrived (ms since the origin), without copying the arrivals; null before the first.</summary>
    public double? LastArrivalMs { get { lock (_lock) return _arrivals.Count > 0 ? _arrivals[^1].TimeMs : null; } }

    private double Now() => Stopwatch.GetElapsedTime(_origin).TotalMilliseconds;

    public void Start()
    {
        _receiveThread = new Thread(Receive) { IsBackground = true, Name = "lab udp receiver" };
        _sendThread = new Thread(Send) { IsBackground = true, Name = "lab udp sender" };
        _receiveThread.Start();
        _sendThread.Start();
    }

    private void Send()
    {
        var buffer = new byte[DatagramBytes];
        var started = Stopwatch.GetTimestamp();
        long seq = 0;
        while (!_stopSending)
        {
            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * _packetsPerSecond);
            if (seq >= due)
            {
                Thread.Sleep(1);
                continue;
            }
            // A late sender catches up in bursts rather than shifting the schedule.
            for (; seq < due && !_stopSending; seq++)
            {
                var now = Now();
                BinaryPrimitives.WriteInt64BigEndian(buffer, seq);
                BinaryPrimitives.WriteDoubleBigEndian(buffer.AsSpan(8), now);
                lock (_lock) _sendTimes.Add(now);
                try
                {
                    _sender.SendTo(buffer, _target);
                }
                catch (SocketException)
                {
                    Interlocked.Increment(ref _sendErrors); // e.g. no route for a moment: the packet is lost
                }
            }
        }
    }

    private void Receive()
    {
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(IPAddress.IPv6Any, 0);
        while (!_stopReceiving)
        {
            int n;
            var ifindex = 0;
            try
            {
                if (_recordInterface)
                {
                    var flags = SocketFlags.None;
                    n = _receiver.ReceiveMessageFrom(buffer, ref flags, ref from, out var info);
                    ifindex = info.Interface;
                }
                else
                {
                    n = _receiver.Receive(buffer);
                }
            }
            catch (SocketException)
            {
                continue; // receive timeout: look at the stop flag
            }
            var now = Now();
            if (n < 16)
                continue;
            var seq = BinaryPrimitives.ReadInt64BigEndian(buffer);
            lock (_lock) _arrivals.Add(new Arrival(seq, now, ifindex));
        }
    }

    /// <summary>Stops sending; keeps receiving for <paramref name="drain"/> so packets in flight are counted.</summary>
    public double Stop(TimeSpan drain)
    {
        _stopSending = true;
        _sendThread?.Join();
        var end = Now();
        Thread.Sleep(drain);
        _stopReceiving = true;
        _receiveThread?.Join();
        return end;
    }

    public void Dispose()
    {
        _stopSending = _stopReceiving = true;
        _sendThread?.Join();
        _receiveThread?.Join();
        _sender.Dispose();
        _receiver.Dispose();
    }
}
