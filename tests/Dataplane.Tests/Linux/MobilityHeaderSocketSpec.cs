// The raw Mobility Header socket against a real kernel: two network namespaces joined by a veth (a
// MAG at 2001:db8:1::2 and an LMA at 2001:db8:100::1, the WireSamples addresses), and loopback. The
// tests run as root (CI does); they open raw sockets and create namespaces.
using System.Buffers.Binary;
using System.Diagnostics;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

/// <summary>Two namespaces, "m" (MAG: Mag1 and a second address) and "l" (LMA), joined by mag0 -- lma0.</summary>
internal sealed class MagLmaLink : IDisposable
{
    public const string MagDevice = "mag0";
    public const string LmaDevice = "lma0";
    public static readonly Ipv6Address MagSecond = Ipv6Address.Parse("2001:db8:1::22");

    public MagLmaLink()
    {
        Namespaces = new NetworkNamespaces();
        try
        {
            Mag = Namespaces.Create('m');
            Lma = Namespaces.Create('l');
            Namespaces.Veth(Mag, MagDevice, Lma, LmaDevice);
            Namespaces.AddAddress(Mag, MagDevice, $"{WireSamples.Mag1}/64");
            Namespaces.AddAddress(Mag, MagDevice, $"{MagSecond}/64");
            Namespaces.AddAddress(Lma, LmaDevice, $"{WireSamples.Lma}/64");
            Namespaces.AddRoute(Mag, "2001:db8:100::/64", MagDevice);
            Namespaces.AddRoute(Lma, "2001:db8:1::/64", LmaDevice);
        }
        catch
        {
            Namespaces.Dispose();
            throw;
        }
    }

    public NetworkNamespaces Namespaces { get; }
    public string Mag { get; }
    public string Lma { get; }

    public MobilityHeaderSocket Open(string ns, MobilityHeaderSocketOptions options) =>
        Namespaces.Run(ns, () => MobilityHeaderSocket.Open(options));

    public int IndexOf(string ns, string device) => Namespaces.Run(ns, () => NetInterface.IndexOf(device, out _));

    public void Dispose() => Namespaces.Dispose();
}

public class MobilityHeaderSocketSpec(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);

    private static byte[] ProxyBindingUpdate(ushort sequence, bool zeroChecksum = true)
    {
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        Assert.True(WireSamples.WriteProxyBindingUpdate(buffer, sequence, out var length));
        var pbu = buffer[..length];
        if (zeroChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(pbu.AsSpan(MobilityHeader.ChecksumOffset), 0); // the kernel must fill it
        return pbu;
    }

    private static ushort Checksum(ReadOnlySpan<byte> mh) => BinaryPrimitives.ReadUInt16BigEndian(mh[MobilityHeader.ChecksumOffset..]);

    private sealed record Received(byte[] Bytes, Ipv6Address Source, Ipv6Address Destination, int Ifindex);

    /// <summary>Receives until <paramref name="wanted"/> matches or <paramref name="patience"/> runs out; transient errnos are collected.</summary>
    private static Received? ReceiveWhere(MobilityHeaderSocket socket, Func<byte[], bool> wanted, TimeSpan patience, List<int>? errnos = null)
    {
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            var n = socket.Receive(buffer, out var source, out var destination, out var ifindex, out var errno);
            if (n < 0)
            {
                errnos?.Add(errno);
                Assert.True(MobilityHeaderSocket.IsTransientReceiveError(errno), $"receive failed: {Errno.Describe(errno)}");
                continue;
            }
            var bytes = buffer[..n];
            if (wanted(bytes))
                return new Received(bytes, source, destination, ifindex);
        }
        return null;
    }

    private static Func<byte[], bool> BindingUpdateNumbered(ushort sequence) => bytes =>
        BindingUpdate.TryDecode(bytes, out var bu, out _) && bu.Sequence == sequence;

    private static ushort NewSequence() => (ushort)Random.Shared.Next(1, ushort.MaxValue);

    [Fact]
    public void A_binding_update_sent_over_a_raw_socket_arrives_with_a_valid_kernel_checksum_and_its_addresses()
    {
        using var link = new MagLmaLink();
        using var lma = link.Open(link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = link.Open(link.Mag, new() { Device = MagLmaLink.MagDevice });
        var pbu = ProxyBindingUpdate(7);
        Assert.Equal(0, Checksum(pbu));

        Assert.True(mag.TrySend(pbu, WireSamples.Lma, WireSamples.Mag1, out var errno), Errno.Describe(errno));
        var got = ReceiveWhere(lma, BindingUpdateNumbered(7), Patience);

        Assert.NotNull(got);
        Assert.Equal(WireSamples.Mag1, got.Source);
        Assert.Equal(WireSamples.Lma, got.Destination);
        Assert.Equal(link.IndexOf(link.Lma, MagLmaLink.LmaDevice), got.Ifindex);
        Assert.Equal(pbu.Length, got.Bytes.Length);
        Assert.True(MobilityHeader.TryDecode(got.Bytes, out var mh, out var error), error.ToString());
        Assert.NotEqual(0, mh.Checksum);
        Assert.True(mh.VerifyChecksum(got.Source, got.Destination), "the kernel-filled checksum verifies in userspace");
        Assert.Equal(InternetChecksum.Compute(WireSamples.Mag1, WireSamples.Lma, IpProtocol.MobilityHeader, pbu), mh.Checksum);
        Assert.Equal(Bytes.Show(pbu.AsSpan(MobilityHeader.ChecksumOffset + 2)), Bytes.Show(got.Bytes.AsSpan(MobilityHeader.ChecksumOffset + 2)));
        Assert.True(BindingUpdate.TryDecode(mh, out var bu, out error), error.ToString());
        Assert.True(bu.IsProxy);
        Assert.Equal(TimeSpan.FromHours(1), bu.Lifetime);
        Assert.True(bu.Options.TryGetMobileNodeIdentifier(out var id));
        Assert.Equal("mn1@pmip6.example", id.ToString());
        Assert.Equal(WireSamples.MagLinkLocal, bu.Options.LinkLocalAddress);
    }

    [Fact]
    public void A_proxy_binding_acknowledgement_answers_the_update_back_the_other_way()
    {
        using var link = new MagLmaLink();
        using var lma = link.Open(link.Lma, new() { LocalAddress = WireSamples.Lma, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = link.Open(link.Mag, new() { LocalAddress = WireSamples.Mag1, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        var sequence = NewSequence();

        Assert.True(mag.TrySend(ProxyBindingUpdate(sequence), WireSamples.Lma, null, out var errno), Errno.Describe(errno));
        var update = ReceiveWhere(lma, BindingUpdateNumbered(sequence), Patience);
        Assert.NotNull(update);
        Assert.Equal(WireSamples.Mag1, update.Source); // the bound address, no IPV6_PKTINFO given

        // The LMA answers from the address the update was sent to, to the address it came from.
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        var w = MobilityHeaderWriter.BindingAcknowledgement(buffer, BindingAcknowledgementStatus.Accepted,
            BindingAcknowledgementFlags.ProxyRegistration, sequence, LifetimeUnit.FromTimeSpan(TimeSpan.FromHours(1)));
        w.MobileNodeIdentifier(WireSamples.MnId);
        w.HomeNetworkPrefix(WireSamples.Hnp1);
        w.Timestamp(WireSamples.Timestamp);
        Assert.True(w.TryFinish(out var length));
        Assert.True(lma.TrySend(buffer.AsSpan(0, length), update.Source, update.Destination, out errno), Errno.Describe(errno));

        var answer = ReceiveWhere(mag, bytes => BindingAcknowledgement.TryDecode(bytes, out var ba, out _) && ba.Sequence == sequence, Patience);
        Assert.NotNull(answer);
        Assert.Equal(WireSamples.Lma, answer.Source);
        Assert.Equal(WireSamples.Mag1, answer.Destination);
        Assert.Equal(link.IndexOf(link.Mag, MagLmaLink.MagDevice), answer.Ifindex);
        Assert.True(MobilityHeader.TryDecode(answer.Bytes, out var mh, out var error), error.ToString());
        Assert.True(mh.VerifyChecksum(answer.Source, answer.Destination));
        Assert.True(BindingAcknowledgement.TryDecode(mh, out var pba, out error), error.ToString());
        Assert.True(pba.IsProxy);
        Assert.True(pba.IsAccepted);
        Assert.Equal(TimeSpan.FromHours(1), pba.Lifetime);
        var prefixes = pba.Options.OfType(MobilityOptionType.HomeNetworkPrefix);
        Assert.True(prefixes.MoveNext());
        Assert.Equal(WireSamples.Hnp1, HomeNetworkPrefixOption.Read(prefixes.Current.Data));
    }

    [Fact]
    public void The_source_address_given_to_send_is_the_one_the_packet_carries_and_the_kernel_checksums_over()
    {
        using var link = new MagLmaLink();
        using var lma = link.Open(link.Lma, new() { ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var mag = link.Open(link.Mag, new());
        var sequence = NewSequence();

        Assert.True(mag.TrySend(ProxyBindingUpdate(sequence), WireSamples.Lma, MagLmaLink.MagSecond, out var errno), Errno.Describe(errno));
        var got = ReceiveWhere(lma, BindingUpdateNumbered(sequence), Patience);

        Assert.NotNull(got);
        Assert.Equal(MagLmaLink.MagSecond, got.Source);
        Assert.True(MobilityHeader.TryDecode(got.Bytes, out var mh, out _));
        Assert.True(mh.VerifyChecksum(MagLmaLink.MagSecond, WireSamples.Lma));
        Assert.False(mh.VerifyChecksum(WireSamples.Mag1, WireSamples.Lma));
    }

    [Fact]
    public void A_mobility_header_with_a_bad_checksum_is_dropped_by_the_receiving_kernel()
    {
        using var link = new MagLmaLink();
        var timeout = TimeSpan.FromMilliseconds(300);
        using var receiver = link.Open(link.Lma, new() { ReceiveTimeout = timeout });
        using var witness = link.Open(link.Lma, new() { ReceiveTimeout = timeout, KernelChecksum = false });
        using var sender = link.Open(link.Mag, new() { KernelChecksum = false });
        var sequence = NewSequence();
        var good = ProxyBindingUpdate(sequence, zeroChecksum: false); // checksummed for Mag1 -> Lma in userspace
        var bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(MobilityHeader.ChecksumOffset), (ushort)(Checksum(good) ^ 0x5A5A));

        Assert.True(sender.TrySend(bad, WireSamples.Lma, WireSamples.Mag1, out var errno), Errno.Describe(errno));

        // It is on the wire, corrupted: a socket that does not verify sees it as sent.
        var seen = ReceiveWhere(witness, BindingUpdateNumbered(sequence), Patience);
        Assert.NotNull(seen);
        Assert.Equal(Bytes.Show(bad), Bytes.Show(seen.Bytes));
        Assert.True(MobilityHeader.TryDecode(seen.Bytes, out var mh, out _));
        Assert.False(mh.VerifyChecksum(seen.Source, seen.Destination));

        // The verifying socket never delivers it: its kernel counts it as dropped. The kernel hands the packet to
        // each raw socket in turn, and the witness's reader may run before the verifying socket's copy is checked:
        // the drop is waited for (a bounded while), then it must be exactly one.
        uint drops;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(receiver.TryGetKernelDrops(out drops, out errno), Errno.Describe(errno));
            if (drops >= 1 || waited.Elapsed > Patience)
                break;
            Thread.Sleep(10);
        }
        Assert.True(witness.TryGetKernelDrops(out var witnessDrops, out errno), Errno.Describe(errno));
        output.WriteLine($"kernel drops: verifying socket {drops}, witness {witnessDrops}");
        Assert.Equal(1u, drops);
        Assert.Equal(0u, witnessDrops);
        var errnos = new List<int>();
        var clock = Stopwatch.StartNew();
        var dropped = ReceiveWhere(receiver, BindingUpdateNumbered(sequence), timeout * 3, errnos);
        output.WriteLine($"verifying socket, bad checksum: {string.Join(", ", errnos.Select(Errno.Name))} in {clock.ElapsedMilliseconds} ms");
        Assert.Null(dropped);
        Assert.Contains(EAGAIN, errnos);
        Assert.All(errnos, e => Assert.True(e == EAGAIN || e == EHOSTUNREACH, Errno.Describe(e)));

        // The same update with its checksum intact is delivered: the receiver was listening all along.
        Assert.True(sender.TrySend(good, WireSamples.Lma, WireSamples.Mag1, out errno), Errno.Describe(errno));
        var delivered = ReceiveWhere(receiver, BindingUpdateNumbered(sequence), Patience);
        Assert.NotNull(delivered);
        Assert.Equal(Bytes.Show(good), Bytes.Show(delivered.Bytes));
    }

    [Fact]
    public void A_binding_update_goes_over_loopback_in_the_tests_own_namespace()
    {
        var loopback = Ipv6Address.Parse("::1");
        // Other test runs on this machine may use ::1 too: match on a fresh sequence number.
        using var receiver = MobilityHeaderSocket.Open(new() { LocalAddress = loopback, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var sender = MobilityHeaderSocket.Open(new() { Device = "lo" });
        var sequence = NewSequence();

        Assert.True(sender.TrySend(ProxyBindingUpdate(sequence), loopback, loopback, out var errno), Errno.Describe(errno));
        var got = ReceiveWhere(receiver, BindingUpdateNumbered(sequence), Patience);

        Assert.NotNull(got);
        Assert.Equal(loopback, got.Source);
        Assert.Equal(loopback, got.Destination);
        Assert.Equal(NetInterface.IndexOf("lo", out _), got.Ifindex);
        Assert.True(MobilityHeader.TryDecode(got.Bytes, out var mh, out var error), error.ToString());
        Assert.True(mh.VerifyChecksum(loopback, loopback));
    }

    [Fact]
    public void A_receive_with_nothing_to_read_returns_minus_one_with_EAGAIN_after_the_receive_timeout()
    {
        using var namespaces = new NetworkNamespaces();
        var ns = namespaces.Create('q');
        var timeout = TimeSpan.FromMilliseconds(250);
        using var socket = namespaces.Run(ns, () => MobilityHeaderSocket.Open(new() { ReceiveTimeout = timeout }));
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];

        var clock = Stopwatch.StartNew();
        var n = socket.Receive(buffer, out var source, out var destination, out var ifindex);
        var lastError = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        clock.Stop();

        Assert.Equal(-1, n);
        Assert.Equal(EAGAIN, lastError);
        Assert.Equal(Ipv6Address.Unspecified, source);
        Assert.Equal(Ipv6Address.Unspecified, destination);
        Assert.Equal(0, ifindex);
        Assert.InRange(clock.Elapsed, timeout * 0.9, timeout + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Sending_and_receiving_allocates_nothing_per_packet()
    {
        using var namespaces = new NetworkNamespaces();
        var ns = namespaces.Create('z');
        var loopback = Ipv6Address.Parse("::1");
        using var receiver = namespaces.Run(ns, () => MobilityHeaderSocket.Open(new() { ReceiveTimeout = TimeSpan.FromSeconds(1) }));
        using var sender = namespaces.Run(ns, () => MobilityHeaderSocket.Open(new()));
        var pbu = ProxyBindingUpdate(1);
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        const int Packets = 1000;

        void RoundTrips(int count)
        {
            for (var i = 0; i < count; i++)
            {
                // (no Assert with a message here: building the message would allocate)
                if (!sender.TrySend(pbu, loopback, loopback, out var errno))
                    Assert.Fail($"send: {Errno.Describe(errno)}");
                if (receiver.Receive(buffer, out _, out _, out _, out errno) != pbu.Length)
                    Assert.Fail($"receive: {Errno.Describe(errno)}");
            }
        }

        RoundTrips(50); // JIT, stubs
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        RoundTrips(Packets);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{Packets} send+receive round trips on loopback: {elapsed.TotalMicroseconds / Packets:F1} us each, {allocated} bytes allocated");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_datagram_larger_than_the_buffer_is_reported_as_EMSGSIZE_and_the_next_one_still_arrives()
    {
        using var namespaces = new NetworkNamespaces();
        var ns = namespaces.Create('t');
        var loopback = Ipv6Address.Parse("::1");
        using var receiver = namespaces.Run(ns, () => MobilityHeaderSocket.Open(new() { ReceiveTimeout = TimeSpan.FromSeconds(2) }));
        using var sender = namespaces.Run(ns, () => MobilityHeaderSocket.Open(new()));
        var pbu = ProxyBindingUpdate(3);

        Assert.True(sender.TrySend(pbu, loopback, null, out var errno), Errno.Describe(errno));
        Assert.Equal(-1, receiver.Receive(new byte[pbu.Length - 8], out _, out _, out _, out errno));
        Assert.Equal(EMSGSIZE, errno);
        Assert.True(MobilityHeaderSocket.IsTransientReceiveError(errno));

        Assert.True(sender.TrySend(pbu, loopback, null, out errno), Errno.Describe(errno));
        Assert.Equal(pbu.Length, receiver.Receive(new byte[pbu.Length], out var source, out _, out _, out errno));
        Assert.Equal(loopback, source);
    }

    [Fact]
    public void Opening_without_CAP_NET_RAW_fails_with_EPERM_and_says_what_it_means()
    {
        var (opened, error) = RunOnThreadWithout(ThreadCapabilities.NetRaw, () =>
        {
            var ok = MobilityHeaderSocket.TryOpen(new(), out var socket, out var e);
            socket?.Dispose();
            return (ok, e);
        });
        var thrown = RunOnThreadWithout(ThreadCapabilities.NetRaw, () =>
            Record.Exception(() => MobilityHeaderSocket.Open().Dispose()));

        Assert.False(opened);
        Assert.Equal(EPERM, error.Errno);
        Assert.Equal("socket(AF_INET6, SOCK_RAW, IPPROTO_MH) failed: EPERM (1): Operation not permitted (raw sockets need root or CAP_NET_RAW)", error.Message);
        var exception = Assert.IsType<LinuxSetupException>(thrown);
        Assert.Equal(EPERM, exception.Errno);
        Assert.Equal(error.Message, exception.Message);
    }

    private static T RunOnThreadWithout<T>(int capability, Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                ThreadCapabilities.DropEffective(capability);
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
        return result;
    }

    [Fact]
    public void Opening_fails_naming_the_call_and_errno_when_the_device_or_address_is_not_there()
    {
        Assert.False(MobilityHeaderSocket.TryOpen(new() { Device = "pmip-nodev0" }, out _, out var noDevice));
        Assert.Equal(ENODEV, noDevice.Errno);
        Assert.StartsWith("setsockopt(SO_BINDTODEVICE, \"pmip-nodev0\") failed: ENODEV (19)", noDevice.Message);

        Assert.False(MobilityHeaderSocket.TryOpen(new() { Device = "a-name-longer-than-15" }, out _, out var longName));
        Assert.Equal(EINVAL, longName.Errno);

        Assert.False(MobilityHeaderSocket.TryOpen(new() { LocalAddress = Ipv6Address.Parse("2001:db8:ffff::1") }, out _, out var notLocal));
        Assert.Equal(EADDRNOTAVAIL, notLocal.Errno);
        Assert.StartsWith("bind(2001:db8:ffff::1) failed: EADDRNOTAVAIL", notLocal.Message);
    }

    [Fact]
    public void A_disposed_socket_reports_EBADF_instead_of_throwing()
    {
        var socket = MobilityHeaderSocket.Open(new() { ReceiveTimeout = TimeSpan.FromMilliseconds(10) });
        Assert.True(socket.FileDescriptor >= 0);
        socket.Dispose();
        socket.Dispose();

        Assert.Equal(-1, socket.FileDescriptor);
        Assert.False(socket.TrySend(ProxyBindingUpdate(1), Ipv6Address.Parse("::1"), null, out var sendErrno));
        Assert.Equal(EBADF, sendErrno);
        Assert.Equal(-1, socket.Receive(new byte[64], out _, out _, out _, out var receiveErrno));
        Assert.Equal(EBADF, receiveErrno);
    }
}
