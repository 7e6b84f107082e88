// The userspace IPv6-in-IPv6 tunnel end of one node (RFC 2473; ARCHITECTURE.md "userspace" mode): a
// TUN device the kernel routes the tunnel's traffic into, a raw next-header-41 socket towards the
// peers, and two threads that move packets between them under TunnelForwarder's rules:
//   encapsulate: TUN -> socket (to the endpoint the binding names)
//   decapsulate: socket -> TUN (only from the endpoint the binding names)
// One instance per node serves every peer: the tunnels to all MAGs (or to the LMA) share the device
// and socket, and a handover only re-points a prefix in the TunnelTable. Nothing on the per-packet
// path allocates; errors are counted, never thrown.
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Linux;

/// <summary>
/// A downlink packet a MAG sent back: from whom, whether our binding still names that MAG, and when we had
/// sent it there (Stopwatch ticks, -1 when unknown) — its place in the order of the MN's downlink.
/// </summary>
public readonly record struct ReturnedPacket(ReadOnlyMemory<byte> Packet, Ipv6Address From, bool StillBoundToSender, long SentAt);

/// <summary>Tunnelled uplink for a bucket of another cluster node: the inner packet (valid during the call) and the MAG it came from.</summary>
public delegate void RelayUplink(ReadOnlySpan<byte> packet, Ipv6Address mag);

public sealed class UserspaceTunnel : IDisposable
{
    private readonly TunDevice _device;
    private readonly TunnelSocket _socket;
    private readonly Thread _encapsulator;
    private readonly Thread _decapsulator;
    private volatile bool _stopping;
    private int _disposed;

    // At a MAG: downlink from our LMA for a prefix not (yet) bound here. The LMA may start sending a
    // node's traffic (a handover buffer's flush) the moment it has sent the PBA, before this MAG has
    // processed it; such packets wait here briefly and are written once the route is installed.
    private const int MaxParked = 4096;
    private static readonly long ParkTicks = System.Diagnostics.Stopwatch.Frequency * 3 / 10;
    private readonly Queue<(Ipv6Address Destination, byte[] Packet, long At)> _parked = new();
    private long _parkedTotal, _replayedTotal, _parkExpired;

    public long ParkedTotal => Interlocked.Read(ref _parkedTotal);
    public long ReplayedTotal => Interlocked.Read(ref _replayedTotal);
    public long ParkExpired => Interlocked.Read(ref _parkExpired);

    public TunnelForwarder Forwarder { get; }
    public string DeviceName => _device.Name;

    /// <summary>
    /// At the LMA: takes a downlink packet a MAG returned for an MN that left it (copy it if kept); true when
    /// it took it (e.g. parked for the handover buffer). Without one, or when it declines, the packet is
    /// forwarded by the kernel if the MN's binding already points elsewhere, and dropped otherwise.
    /// </summary>
    public Func<ReturnedPacket, bool>? ReturnedDownlink { get; set; }

    /// <summary>
    /// At an LMA node of a cluster (<see cref="TunnelForwarder.RelayPool"/> set): takes tunnelled uplink whose bucket runs
    /// on another node (the inner packet, valid only during the call, and the MAG it came from) to relay it there.
    /// </summary>
    public RelayUplink? RelayToOwner { get; set; }

    /// <summary>
    /// Uplink another node relayed here (<see cref="RelayToOwner"/> there): decapsulated under the same proxy-CoA check
    /// as if it had come from <paramref name="mag"/> directly, never relayed again. Safe beside the forwarding threads.
    /// </summary>
    public ForwardingVerdict InjectRelayed(ReadOnlySpan<byte> packet, Ipv6Address mag)
    {
        Forwarder.Counters.RelayedIn();
        var verdict = Forwarder.Decapsulate(packet, mag, relayed: true);
        if (verdict == ForwardingVerdict.Forward && !_device.TryWrite(packet, out _))
            Forwarder.Counters.WriteError();
        return verdict;
    }

    /// <summary>Hands a packet to the kernel as if it had arrived from the tunnel (e.g. a parked returned packet).</summary>
    public bool TryInject(ReadOnlySpan<byte> packet, out int errno) => _device.TryWrite(packet, out errno);

    /// <summary>Takes ownership of <paramref name="device"/> and <paramref name="socket"/>; call <see cref="Start"/> to forward.</summary>
    public UserspaceTunnel(TunDevice device, TunnelSocket socket, TunnelForwarder forwarder)
    {
        _device = device;
        _socket = socket;
        Forwarder = forwarder;
        _encapsulator = new Thread(Encapsulate) { IsBackground = true, Name = "tunnel-encapsulate" };
        _decapsulator = new Thread(Decapsulate) { IsBackground = true, Name = "tunnel-decapsulate" };
    }

    public void Start()
    {
        _encapsulator.Start();
        _decapsulator.Start();
    }

    private void Encapsulate()
    {
        var buffer = new byte[TunDevice.MaxPacketLength];
        var counters = Forwarder.Counters;
        long lastQuietSweep = 0;
        while (!_stopping)
        {
            var n = _device.Read(buffer, out var errno);
            if (n < 0)
            {
                if (TunDevice.IsTransientReadError(errno))
                {
                    // No downlink for a while: no packet drives the flow table's sweep, so expire idle flows here
                    // (this thread is the table's only writer), at most once a second.
                    var now = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (Forwarder.Flows is { } flows && now - lastQuietSweep >= System.Diagnostics.Stopwatch.Frequency)
                    {
                        lastQuietSweep = now;
                        flows.ExpireIdle(now);
                    }
                    continue;
                }
                if (_stopping)
                    return;
                counters.ReadError();
                Thread.Sleep(10);
                continue;
            }
            var packet = buffer.AsSpan(0, n);
            var verdict = Forwarder.Encapsulate(packet, out var endpoint);
            // Forward: uplink into the tunnel. ReturnToAnchor: a departed node's downlink the kernel routed back to us.
            if (verdict is not (ForwardingVerdict.Forward or ForwardingVerdict.ReturnToAnchor))
                continue;
            if (!_socket.TrySend(packet, endpoint.Remote, out _))
                counters.SendError();
        }
    }

    private void Decapsulate()
    {
        var buffer = new byte[TunnelSocket.MaxInnerLength];
        var counters = Forwarder.Counters;
        while (!_stopping)
        {
            if (_parked.Count > 0)
                ServiceParked();
            var n = _socket.Receive(buffer, out var source, out var errno);
            if (n < 0)
            {
                if (TunnelSocket.IsTransientReceiveError(errno))
                    continue;
                if (_stopping)
                    return;
                counters.ReceiveError();
                Thread.Sleep(10);
                continue;
            }
            var packet = buffer.AsSpan(0, n);
            switch (Forwarder.Decapsulate(packet, source))
            {
                case ForwardingVerdict.Forward:
                    if (_parked.Count > 0)
                        ServiceParked();
                    if (!_device.TryWrite(packet, out _))
                        counters.WriteError();
                    break;
                case ForwardingVerdict.NoBinding when Forwarder.Role == TunnelRole.Gateway && _parked.Count < MaxParked
                                                      && Forwarder.Table.TryLookupEndpoint(source, out _):
                    _parked.Enqueue((Ipv6Address.Read(packet.Slice(24, Ipv6Address.Length)), packet.ToArray(), System.Diagnostics.Stopwatch.GetTimestamp()));
                    Interlocked.Increment(ref _parkedTotal);
                    break;
                case ForwardingVerdict.OtherAnchor:
                    RelayToOwner?.Invoke(packet, source);
                    break;
                case ForwardingVerdict.ReturnToAnchor:
                    if (!Forwarder.TryReturnTarget(packet, out var anchor) || !_socket.TrySend(packet, anchor.Remote, out _))
                        counters.SendError();
                    break;
                case ForwardingVerdict.Returned:
                {
                    var bound = Forwarder.Table.TryLookup(Ipv6Address.Read(packet.Slice(24, Ipv6Address.Length)), out var current);
                    var stillThere = bound && current.Remote == source;
                    var sentAt = Forwarder.Table.TryLookupEndpoint(source, out var from) && from.TryFindSent(PacketFingerprint.Of(packet), out var ticks) ? ticks : -1;
                    if (ReturnedDownlink?.Invoke(new ReturnedPacket(buffer.AsMemory(0, n), source, stillThere, sentAt)) == true)
                        break;
                    // Forward only if the binding has moved on — straight into the tunnel of the MAG that serves
                    // the node now (not back through the kernel: in and out of the same device), and never back
                    // to the MAG that returned it.
                    if (bound && !stillThere)
                    {
                        if (!_socket.TrySend(packet, current.Remote, out _))
                            counters.SendError();
                        else
                            counters.ReturnedForwarded();
                    }
                    else
                        counters.ReturnedDropped();
                    break;
                }
            }
        }
    }

    // Parked downlink whose prefix is bound now goes out first, in the order it came; the rest waits, at most
    // 300 ms. Runs on the decapsulating thread only, before any newer packet for a bound prefix is written,
    // so nothing overtakes what was parked.
    private void ServiceParked()
    {
        var count = _parked.Count;
        for (var i = 0; i < count; i++)
        {
            var parked = _parked.Dequeue();
            if (Forwarder.Table.TryLookup(parked.Destination, out _))
            {
                if (_device.TryWrite(parked.Packet, out _))
                    Interlocked.Increment(ref _replayedTotal);
                else
                    Forwarder.Counters.WriteError();
            }
            else
                _parked.Enqueue(parked);
        }
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        while (_parked.TryPeek(out var oldest) && now - oldest.At > ParkTicks)
        {
            _parked.Dequeue();
            Interlocked.Increment(ref _parkExpired);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        if (_encapsulator.IsAlive)
            _encapsulator.Join(TimeSpan.FromSeconds(2));
        if (_decapsulator.IsAlive)
            _decapsulator.Join(TimeSpan.FromSeconds(2));
        _device.Dispose();
        _socket.Dispose();
    }
}
