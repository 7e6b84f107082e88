// The userspace IPv6-in-IPv6 tunnel end against a real kernel without ip6_tunnel: two namespaces, an
// LMA ("l", 2001:db8:100::1 and a second address) and a MAG ("m", 2001:db8:1::2), on a veth. What is
// sent is an inner IPv6/UDP packet between the mobile node's home address and a correspondent.
using System.Buffers.Binary;
using System.Diagnostics;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public class TunnelSocketSpec(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);
    private static readonly Ipv6Address LmaSecond = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address MobileNode = Ipv6Address.Parse("2001:db8:a::10");
    private static readonly Ipv6Address Correspondent = Ipv6Address.Parse("2001:db8:ff::1");

    /// <summary>An inner IPv6/UDP packet, checksummed, whose payload carries <paramref name="marker"/>.</summary>
    internal static byte[] InnerUdp(uint marker, int payloadLength = 16)
    {
        const int UdpHeader = 8;
        var packet = new byte[Ipv6Packet.HeaderLength + UdpHeader + payloadLength];
        var udp = packet.AsSpan(Ipv6Packet.HeaderLength);
        Assert.True(Ipv6Packet.TryWriteHeader(packet, MobileNode, Correspondent, IpProtocol.Udp, udp.Length, hopLimit: 63));
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 5001);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        BinaryPrimitives.WriteUInt32BigEndian(udp[UdpHeader..], marker);
        for (var i = 4; i < payloadLength; i++)
            udp[UdpHeader + i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InternetChecksum.Compute(MobileNode, Correspondent, IpProtocol.Udp, udp));
        return packet;
    }

    private static uint Marker(ReadOnlySpan<byte> inner) =>
        inner.Length >= Ipv6Packet.HeaderLength + 12 ? BinaryPrimitives.ReadUInt32BigEndian(inner[(Ipv6Packet.HeaderLength + 8)..]) : 0;

    private sealed record Received(byte[] Bytes, Ipv6Address Source);

    private static Received? ReceiveMarked(TunnelSocket socket, uint marker, TimeSpan patience)
    {
        var buffer = new byte[TunnelSocket.MaxInnerLength];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            var n = socket.Receive(buffer, out var source, out var errno);
            if (n < 0)
            {
                Assert.True(TunnelSocket.IsTransientReceiveError(errno), $"receive failed: {Errno.Describe(errno)}");
                continue;
            }
            if (Marker(buffer.AsSpan(0, n)) == marker)
                return new Received(buffer[..n], source);
        }
        return null;
    }

    /// <summary>A counter from the namespace's /proc/net/snmp6 (read through /proc/thread-self, which follows the thread's namespace).</summary>
    private static long Snmp6(MagLmaLink link, string ns, string counter) => link.Namespaces.Run(ns, () =>
    {
        foreach (var line in File.ReadAllLines("/proc/thread-self/net/snmp6"))
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 2 && fields[0] == counter)
                return long.Parse(fields[1]);
        }
        throw new InvalidOperationException($"no {counter} in snmp6");
    });

    private static uint NewMarker() => (uint)Random.Shared.Next(1, int.MaxValue);

    private static TunnelSocket Open(MagLmaLink link, string ns, TunnelSocketOptions options) =>
        link.Namespaces.Run(ns, () => TunnelSocket.Open(options));

    [Fact]
    public void An_inner_packet_sent_by_one_tunnel_end_arrives_at_the_other_as_exactly_those_bytes_from_the_senders_address()
    {
        using var link = new MagLmaLink();
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1, Device = MagLmaLink.MagDevice });
        var marker = NewMarker();
        var inner = InnerUdp(marker);

        Assert.True(mag.TrySend(inner, WireSamples.Lma, out var errno), Errno.Describe(errno));
        var got = ReceiveMarked(lma, marker, Patience);

        Assert.NotNull(got);
        Assert.Equal(WireSamples.Mag1, got.Source);
        Assert.Equal(Bytes.Show(inner), Bytes.Show(got.Bytes));
        Assert.True(Ipv6Packet.TryDecode(got.Bytes, out var packet, out var error), error.ToString());
        Assert.Equal(IpProtocol.Udp, packet.UpperLayerProtocol);
    }

    [Fact]
    public void A_delivered_tunnel_packet_draws_no_icmp_error_from_a_kernel_without_ip6_tunnel()
    {
        using var link = new MagLmaLink();
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1 });
        var unknownBefore = Snmp6(link, link.Lma, "Ip6InUnknownProtos");
        var problemsBefore = Snmp6(link, link.Lma, "Icmp6OutParmProblems");
        var marker = NewMarker();

        Assert.True(mag.TrySend(InnerUdp(marker), WireSamples.Lma, out var errno), Errno.Describe(errno));
        Assert.NotNull(ReceiveMarked(lma, marker, Patience));

        Assert.Equal(unknownBefore, Snmp6(link, link.Lma, "Ip6InUnknownProtos"));
        Assert.Equal(problemsBefore, Snmp6(link, link.Lma, "Icmp6OutParmProblems"));
        Assert.Equal(0, Snmp6(link, link.Mag, "Icmp6InParmProblems"));
    }

    [Fact]
    public void A_packet_tunnelled_to_another_local_address_is_not_received_by_a_socket_bound_to_the_first_and_draws_a_parameter_problem()
    {
        using var link = new MagLmaLink();
        link.Namespaces.AddAddress(link.Lma, MagLmaLink.LmaDevice, $"{LmaSecond}/64");
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1 });
        var problemsBefore = Snmp6(link, link.Lma, "Icmp6OutParmProblems");
        var elsewhere = NewMarker();

        Assert.True(mag.TrySend(InnerUdp(elsewhere), LmaSecond, out var errno), Errno.Describe(errno));
        var notForUs = ReceiveMarked(lma, elsewhere, TimeSpan.FromMilliseconds(800));

        Assert.Null(notForUs);
        var problems = Snmp6(link, link.Lma, "Icmp6OutParmProblems") - problemsBefore;
        output.WriteLine($"Icmp6OutParmProblems in the receiving namespace: +{problems}");
        Assert.Equal(1, problems); // RFC 4443 §3.4 code 1, sent back to the tunnel source
        // The socket still receives what is tunnelled to its own address.
        var ours = NewMarker();
        Assert.True(mag.TrySend(InnerUdp(ours), WireSamples.Lma, out errno), Errno.Describe(errno));
        Assert.NotNull(ReceiveMarked(lma, ours, Patience));
    }

    [Fact]
    public async Task One_thread_can_send_while_another_receives_on_the_same_socket()
    {
        using var link = new MagLmaLink();
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(100) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1, ReceiveTimeout = TimeSpan.FromMilliseconds(100) });
        const int Packets = 200;

        HashSet<uint> Collect(TunnelSocket socket, Ipv6Address peer)
        {
            var seen = new HashSet<uint>();
            var buffer = new byte[TunnelSocket.MaxInnerLength];
            var clock = Stopwatch.StartNew();
            while (seen.Count < Packets && clock.Elapsed < Patience)
            {
                var n = socket.Receive(buffer, out var source, out var errno);
                if (n > 0 && source == peer)
                    seen.Add(Marker(buffer.AsSpan(0, n)));
            }
            return seen;
        }

        var lmaReceives = Task.Run(() => Collect(lma, WireSamples.Mag1));
        var magReceives = Task.Run(() => Collect(mag, WireSamples.Lma));
        await Task.WhenAll(
            Task.Run(() => { for (var i = 1u; i <= Packets; i++) { Assert.True(mag.TrySend(InnerUdp(i), WireSamples.Lma, out _)); if (i % 50 == 0) Thread.Sleep(5); } }),
            Task.Run(() => { for (var i = 1u; i <= Packets; i++) { Assert.True(lma.TrySend(InnerUdp(i), WireSamples.Mag1, out _)); if (i % 50 == 0) Thread.Sleep(5); } }));

        Assert.Equal(Packets, (await lmaReceives).Count);
        Assert.Equal(Packets, (await magReceives).Count);
    }

    [Fact]
    public void Sending_allocates_nothing_per_packet()
    {
        using var link = new MagLmaLink();
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveBufferBytes = 4 << 20, ReceiveTimeout = TimeSpan.FromSeconds(1) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1, SendBufferBytes = 1 << 20 });
        var inner = InnerUdp(1);
        var buffer = new byte[TunnelSocket.MaxInnerLength];
        const int Packets = 1000;

        void RoundTrips(int count)
        {
            for (var i = 0; i < count; i++)
            {
                if (!mag.TrySend(inner, WireSamples.Lma, out var errno))
                    Assert.Fail($"send: {Errno.Describe(errno)}");
                if (lma.Receive(buffer, out _, out errno) != inner.Length)
                    Assert.Fail($"receive: {Errno.Describe(errno)}");
            }
        }

        RoundTrips(50);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        RoundTrips(Packets);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{Packets} tunnel send+receive round trips over a veth: {elapsed.TotalMicroseconds / Packets:F1} us each, {allocated} bytes allocated");
        Assert.Equal(0, allocated);
        Assert.True(lma.TryGetKernelDrops(out var drops, out var dropErrno), Errno.Describe(dropErrno));
        Assert.Equal(0u, drops);
    }

    [Fact]
    public void A_packet_larger_than_the_buffer_is_reported_as_EMSGSIZE_and_the_next_one_still_arrives()
    {
        using var link = new MagLmaLink();
        using var lma = Open(link, link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromSeconds(2) });
        using var mag = Open(link, link.Mag, new() { LocalAddress = WireSamples.Mag1 });
        var inner = InnerUdp(9);

        Assert.True(mag.TrySend(inner, WireSamples.Lma, out var errno), Errno.Describe(errno));
        Assert.Equal(-1, lma.Receive(new byte[inner.Length - 1], out _, out errno));
        Assert.Equal(EMSGSIZE, errno);
        Assert.True(TunnelSocket.IsTransientReceiveError(errno));

        Assert.True(mag.TrySend(inner, WireSamples.Lma, out errno), Errno.Describe(errno));
        Assert.Equal(inner.Length, lma.Receive(new byte[inner.Length], out var source, out errno));
        Assert.Equal(WireSamples.Mag1, source);
    }

    [Fact]
    public void Opening_fails_naming_the_call_and_errno_for_a_foreign_address_a_missing_device_or_a_bad_hop_limit()
    {
        Assert.False(TunnelSocket.TryOpen(new() { LocalAddress = Ipv6Address.Parse("2001:db8:ffff::1") }, out _, out var notLocal));
        Assert.Equal(EADDRNOTAVAIL, notLocal.Errno);
        Assert.StartsWith("bind(2001:db8:ffff::1) failed: EADDRNOTAVAIL", notLocal.Message);

        Assert.False(TunnelSocket.TryOpen(new() { LocalAddress = Ipv6Address.Parse("::1"), Device = "pmip-nodev0" }, out _, out var noDevice));
        Assert.Equal(ENODEV, noDevice.Errno);

        Assert.False(TunnelSocket.TryOpen(new() { LocalAddress = Ipv6Address.Parse("::1"), HopLimit = 0 }, out _, out var badHops));
        Assert.Equal(EINVAL, badHops.Errno);

        var thrown = Assert.Throws<LinuxSetupException>(() => TunnelSocket.Open(new() { LocalAddress = Ipv6Address.Parse("2001:db8:ffff::1") }));
        Assert.Equal(EADDRNOTAVAIL, thrown.Errno);
    }

    [Fact]
    public void A_disposed_socket_reports_EBADF_instead_of_throwing()
    {
        var socket = TunnelSocket.Open(new() { LocalAddress = Ipv6Address.Parse("::1"), ReceiveTimeout = TimeSpan.FromMilliseconds(10) });
        socket.Dispose();

        Assert.False(socket.TrySend(InnerUdp(1), Ipv6Address.Parse("::1"), out var sendErrno));
        Assert.Equal(EBADF, sendErrno);
        Assert.Equal(-1, socket.Receive(new byte[64], out _, out var receiveErrno));
        Assert.Equal(EBADF, receiveErrno);
        Assert.False(socket.TryGetKernelDrops(out _, out var dropsErrno));
        Assert.Equal(EBADF, dropsErrno);
    }
}
