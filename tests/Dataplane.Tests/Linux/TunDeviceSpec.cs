// The TUN device against a real kernel (root): one namespace with a TUN device "pmiptun0" up and
// holding 2001:db8:7::1/64, so 2001:db8:7::2 is "behind" the device. What the kernel routes to ::2
// is read from the fd; what is written to the fd arrives as if from ::2.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

/// <summary>Namespace "u" with TUN device <see cref="Device"/> up, 2001:db8:7::1/64 on it.</summary>
internal sealed class TunLink : IDisposable
{
    public const string Device = "pmiptun0";
    public static readonly Ipv6Address Local = Ipv6Address.Parse("2001:db8:7::1");
    public static readonly Ipv6Address Peer = Ipv6Address.Parse("2001:db8:7::2");

    public TunLink()
    {
        Namespaces = new NetworkNamespaces();
        try
        {
            Ns = Namespaces.Create('u');
            Tun = Namespaces.Run(Ns, () => TunDevice.Open(Device, TimeSpan.FromMilliseconds(200)));
        }
        catch
        {
            Namespaces.Dispose();
            throw;
        }
    }

    public NetworkNamespaces Namespaces { get; }
    public string Ns { get; }
    public TunDevice Tun { get; }

    public void Up()
    {
        NetworkNamespaces.Ip("-n", Ns, "link", "set", Device, "up");
        Namespaces.AddAddress(Ns, Device, $"{Local}/64");
    }

    public bool DeviceExists() =>
        NetworkNamespaces.Ip("-n", Ns, "-o", "link", "show").Contains($": {Device}:", StringComparison.Ordinal);

    public Socket UdpSocket(int port) => Namespaces.Run(Ns, () =>
    {
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
        socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
        return socket;
    });

    public void Dispose()
    {
        Tun.Dispose();
        Namespaces.Dispose();
    }
}

public class TunDeviceSpec
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);

    /// <summary>Reads until a packet matches (the kernel also sends MLD reports and router solicitations into the device).</summary>
    private static byte[]? ReadWhere(TunDevice tun, Func<byte[], bool> wanted)
    {
        var buffer = new byte[TunDevice.MaxPacketLength];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            var n = tun.Read(buffer, out var errno);
            if (n < 0)
            {
                Assert.True(TunDevice.IsTransientReadError(errno), $"read failed: {Errno.Describe(errno)}");
                continue;
            }
            var packet = buffer[..n];
            if (wanted(packet))
                return packet;
        }
        return null;
    }

    private static bool IsUdpTo(byte[] packet, Ipv6Address destination, int port) =>
        Ipv6Packet.TryDecode(packet, out var ip, out _) && ip.UpperLayerProtocol == IpProtocol.Udp
        && ip.Destination == destination && ip.UpperLayer.Length >= 8 && BinaryPrimitives.ReadUInt16BigEndian(ip.UpperLayer[2..]) == port;

    private static byte[] UdpDatagram(Ipv6Address source, int sourcePort, Ipv6Address destination, int port, ReadOnlySpan<byte> data)
    {
        var packet = new byte[40 + 8 + data.Length];
        Assert.True(Ipv6Packet.TryWriteHeader(packet, source, destination, IpProtocol.Udp, 8 + data.Length));
        var udp = packet.AsSpan(40);
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + data.Length));
        data.CopyTo(udp[8..]);
        var checksum = InternetChecksum.Compute(source, destination, IpProtocol.Udp, udp);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
        return packet;
    }

    [Fact]
    public void A_datagram_the_kernel_routes_into_the_device_is_read_whole_and_survives_a_tunnel_round_trip()
    {
        using var link = new TunLink();
        Assert.Equal(TunLink.Device, link.Tun.Name);
        Assert.True(link.DeviceExists());

        // Down, nothing arrives: the read times out with EAGAIN instead of blocking forever.
        var clock = Stopwatch.StartNew();
        Assert.Equal(-1, link.Tun.Read(new byte[TunDevice.MaxPacketLength], out var errno));
        Assert.Equal(EAGAIN, errno);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(2));

        link.Up();
        using var sender = link.UdpSocket(0);
        var payload = "through the tunnel"u8.ToArray();
        sender.SendTo(payload, new IPEndPoint(TunLink.Peer.ToIPAddress(), 5555));

        var packet = ReadWhere(link.Tun, p => IsUdpTo(p, TunLink.Peer, 5555));
        Assert.NotNull(packet);
        Assert.True(Ipv6Packet.TryDecode(packet, out var ip, out var error), error.ToString());
        Assert.Equal(TunLink.Local, ip.Source);
        Assert.Equal(TunLink.Peer, ip.Destination);
        Assert.Equal(IpProtocol.Udp, ip.UpperLayerProtocol);
        Assert.Equal(40 + 8 + payload.Length, packet.Length); // IFF_NO_PI: the packet and nothing else
        Assert.Equal(Bytes.Show(payload), Bytes.Show(ip.UpperLayer[8..]));
        Assert.True(InternetChecksum.Verify(ip.Source, ip.Destination, IpProtocol.Udp, ip.UpperLayer));

        // (d) What the device handed over goes into a tunnel and comes out byte for byte.
        var outer = new byte[packet.Length + Ipv6InIpv6.Overhead];
        var mag = Ipv6Address.Parse("2001:db8:1::2");
        var lma = Ipv6Address.Parse("2001:db8:100::1");
        Assert.True(Ipv6InIpv6.TryEncapsulate(packet, outer, mag, lma, 64, out var written));
        Assert.Equal(outer.Length, written);
        Assert.True(Ipv6InIpv6.TryDecapsulate(outer, out var from, out var to, out var inner, out error), error.ToString());
        Assert.Equal((mag, lma), (from, to));
        Assert.Equal(Bytes.Show(packet), Bytes.Show(inner));
    }

    [Fact]
    public void Packets_queued_in_the_device_are_read_one_per_call_in_order_and_then_the_read_times_out()
    {
        using var link = new TunLink();
        link.Up();
        using var sender = link.UdpSocket(0);
        const int count = 50;
        for (var i = 0; i < count; i++)
            sender.SendTo(BitConverter.GetBytes(i), new IPEndPoint(TunLink.Peer.ToIPAddress(), 5556));

        // Everything is queued before the first read: each read returns the next packet without waiting.
        var buffer = new byte[TunDevice.MaxPacketLength];
        var seen = new List<int>();
        var clock = Stopwatch.StartNew();
        while (seen.Count < count && clock.Elapsed < Patience)
        {
            var n = link.Tun.Read(buffer, out var errno);
            if (n < 0)
            {
                Assert.True(TunDevice.IsTransientReadError(errno), $"read failed: {Errno.Describe(errno)}");
                continue;
            }
            var packet = buffer.AsSpan(0, n).ToArray();
            if (IsUdpTo(packet, TunLink.Peer, 5556))
                seen.Add(BitConverter.ToInt32(packet, 48));
        }
        Assert.Equal(Enumerable.Range(0, count), seen);

        // Drained (bar the kernel's own MLD/RS): a read ends in EAGAIN after the read timeout.
        int last;
        clock.Restart();
        while ((last = link.Tun.Read(buffer, out var errno)) >= 0 || errno != EAGAIN)
            Assert.True(clock.Elapsed < Patience, "the device never ran empty");
        Assert.Equal(-1, last);
    }

    [Fact]
    public void A_packet_written_to_the_device_is_delivered_to_a_socket_in_the_namespace()
    {
        using var link = new TunLink();
        link.Up();
        using var listener = link.UdpSocket(5556);
        var payload = "written into the tun"u8.ToArray();
        var packet = UdpDatagram(TunLink.Peer, 6000, TunLink.Local, 5556, payload);

        // A device just brought up may still drop what arrives until the kernel has finished activating it
        // (linkwatch): write again until the first one is delivered, a bounded number of times.
        listener.ReceiveTimeout = 300;
        var buffer = new byte[1500];
        EndPoint from = new IPEndPoint(IPAddress.IPv6Any, 0);
        var n = -1;
        for (var attempt = 0; attempt < 10 && n < 0; attempt++)
        {
            Assert.True(link.Tun.TryWrite(packet, out var errno), Errno.Describe(errno));
            try
            {
                n = listener.ReceiveFrom(buffer, ref from);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
            }
        }
        Assert.True(n >= 0, "nothing written into the device arrived within 10 attempts");
        Assert.Equal(Bytes.Show(payload), Bytes.Show(buffer.AsSpan(0, n)));
        Assert.Equal(new IPEndPoint(TunLink.Peer.ToIPAddress(), 6000), from);
    }

    [Fact]
    public void The_device_disappears_when_disposed_and_its_name_is_exclusive_while_open()
    {
        using var link = new TunLink();
        var again = link.Namespaces.Run(link.Ns, () => (TunDevice.TryOpen(TunLink.Device, out var second, out var error), second, error));
        Assert.False(again.Item1);
        Assert.Null(again.second);
        Assert.Equal(EBUSY, again.error.Errno);
        Assert.Contains("TUNSETIFF", again.error.Message, StringComparison.Ordinal);

        link.Tun.Dispose();
        Assert.Equal(-1, link.Tun.FileDescriptor);
        Assert.False(link.DeviceExists());
        Assert.Equal(-1, link.Tun.Read(new byte[100], out var errno));
        Assert.Equal(EBADF, errno);
        Assert.False(link.Tun.TryWrite(new byte[40], out errno));
        Assert.Equal(EBADF, errno);
        link.Tun.Dispose(); // twice is harmless
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("tün0")]
    public void A_bad_name_is_refused_before_touching_the_kernel(string name)
    {
        Assert.False(TunDevice.TryOpen(name, out var device, out var error));
        Assert.Null(device);
        Assert.Equal(EINVAL, error.Errno);
    }

    [Fact]
    public void The_kernel_numbers_a_name_pattern()
    {
        using var namespaces = new NetworkNamespaces();
        var ns = namespaces.Create('p');
        using var tun = namespaces.Run(ns, () => TunDevice.Open("pmipt%d"));
        Assert.Equal("pmipt0", tun.Name);
    }
}
