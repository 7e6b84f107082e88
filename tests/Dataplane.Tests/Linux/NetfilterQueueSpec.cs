// Handover buffering's kernel half against a real kernel: two namespaces on a veth, a peer "p"
// (vp, 2001:db8:1::1) and a receiver "r" (vr, 2001:db8:1::2) that owns the mobile node's home network
// prefix 2001:db8:a::/64 (2001:db8:a::1 on lo; forwarding off, so the packets are for a local UDP
// socket). p routes the prefix via r. The ip6tables rule in r's mangle PREROUTING sends packets for the
// prefix to NFQUEUE; the neighbour discovery between p and r uses 2001:db8:1::/64 and is never queued.
// Every rule lives in r's namespace (ip6tables runs on a thread inside it) and goes with it.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Linux.Interop;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Dataplane.Tests.Linux;

public sealed class NetfilterQueueSpec : IDisposable
{
    private const ushort Queue = 7;
    private const int Port = 5001;
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a::/64");
    private static readonly Ipv6Address MobileNode = Ipv6Address.Parse("2001:db8:a::1");

    private readonly ITestOutputHelper _output;
    private readonly NetworkNamespaces _namespaces = new();
    private readonly string _p;
    private readonly string _r;
    private readonly Ip6TablesRules _rules = new();
    private readonly Socket _sender;
    private readonly Socket _receiver;
    private readonly List<NetfilterQueue> _queues = [];
    private readonly IPEndPoint _destination = new(MobileNode.ToIPAddress(), Port);

    public NetfilterQueueSpec(ITestOutputHelper output)
    {
        _output = output;
        try
        {
            _p = _namespaces.Create('p');
            _r = _namespaces.Create('r');
            _namespaces.Veth(_p, "vp", _r, "vr");
            _namespaces.AddAddress(_p, "vp", "2001:db8:1::1/64");
            _namespaces.AddAddress(_r, "vr", "2001:db8:1::2/64");
            _namespaces.AddAddress(_r, "lo", $"{MobileNode}/128");
            NetworkNamespaces.Ip("-n", _p, "-6", "route", "add", Hnp.ToString(), "via", "2001:db8:1::2", "dev", "vp");
            _namespaces.WaitUntilUp(_p, "vp");
            _namespaces.WaitUntilUp(_r, "vr");
            _receiver = _namespaces.Run(_r, () =>
            {
                var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
                socket.Bind(_destination);
                return socket;
            });
            _sender = _namespaces.Run(_p, () => new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { SendBufferSize = 4 << 20 });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        // Rules first (they are in r and would go with it, but say so if removing them fails), then the
        // queues (closing drops what they still hold), then the namespaces.
        if (_r is not null)
            _namespaces.Run(_r, () => _rules.TryRemoveAll(out _, out _));
        foreach (var queue in _queues)
            queue.Dispose();
        _sender?.Dispose();
        _receiver?.Dispose();
        _namespaces.Dispose();
    }

    private NetfilterQueue OpenQueue(NetfilterQueueOptions? options = null)
    {
        var queue = _namespaces.Run(_r, () => NetfilterQueue.Open(options ?? new() { QueueNumber = Queue, ReceiveTimeout = TimeSpan.FromMilliseconds(300) }));
        _queues.Add(queue);
        return queue;
    }

    private void AddRule()
    {
        var error = "";
        Assert.True(_namespaces.Run(_r, () => _rules.TryAddQueueRule(Hnp, Queue, out error)), error);
    }

    private void Send(int first, int count)
    {
        Span<byte> datagram = stackalloc byte[16];
        for (var i = first; i < first + count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(datagram, i);
            _sender.SendTo(datagram, SocketFlags.None, _destination);
        }
    }

    /// <summary>The next datagram's marker at the UDP socket, or -1 when none arrives within <paramref name="patienceMs"/>.</summary>
    private int Delivered(int patienceMs = 2000)
    {
        if (!_receiver.Poll(TimeSpan.FromMilliseconds(patienceMs), SelectMode.SelectRead))
            return -1;
        Span<byte> buffer = stackalloc byte[64];
        var length = _receiver.Receive(buffer);
        return length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(buffer) : -2;
    }

    private readonly record struct Held(uint Id, int Marker, Ipv6Address Destination, byte NextHeader, int OriginalLength, byte Hook, ushort HardwareProtocol);

    /// <summary>Receives until <paramref name="count"/> queued packets have arrived (or the receive times out, which fails).</summary>
    private static List<Held> ReceiveHeld(NetfilterQueue queue, int count)
    {
        var held = new List<Held>();
        var buffer = new byte[queue.MinimumReceiveBufferLength];
        while (held.Count < count)
        {
            var length = queue.Receive(buffer, out var errno);
            if (length < 0)
            {
                Assert.True(NetfilterQueue.IsTransientReceiveError(errno) && errno != EAGAIN, $"after {held.Count} of {count}: {Errno.Describe(errno)}");
                continue;
            }
            var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
            while (reader.MoveNext())
            {
                var packet = reader.Current;
                var ip = packet.Payload;
                Assert.True(ip.Length >= Ipv6Packet.HeaderLength + 12, $"payload {ip.Length} octets");
                held.Add(new Held(packet.PacketId, BinaryPrimitives.ReadInt32BigEndian(ip[48..]), Ipv6Address.Read(ip[24..40]), ip[6],
                    packet.OriginalLength, packet.Hook, packet.HardwareProtocol));
            }
            Assert.Equal(0, reader.Errors);
        }
        return held;
    }

    [Fact]
    public void Held_packets_reach_nobody_until_accepted_then_arrive_all_in_order()
    {
        var queue = OpenQueue();
        AddRule();

        Send(0, 10);
        var held = ReceiveHeld(queue, 10);

        Assert.Equal(Enumerable.Range(0, 10), held.Select(h => h.Marker));
        Assert.All(held, h =>
        {
            Assert.Equal(MobileNode, h.Destination);
            Assert.Equal(IpProtocol.Udp, h.NextHeader);
            Assert.Equal(Ipv6Packet.HeaderLength + 8 + 16, h.OriginalLength);
            Assert.Equal(0, h.Hook);                   // NF_INET_PRE_ROUTING
            Assert.Equal(0x86DD, h.HardwareProtocol);  // ETH_P_IPV6
        });
        Assert.Equal(held.Select(h => h.Id).Order(), held.Select(h => h.Id));
        Assert.Equal(-1, Delivered(300));

        foreach (var h in held)
            Assert.True(queue.TrySetVerdict(h.Id, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));

        Assert.Equal(Enumerable.Range(0, 10), Enumerable.Range(0, 10).Select(_ => Delivered()));
        Assert.Equal(-1, Delivered(100));
    }

    [Fact]
    public void A_dropped_packet_is_never_delivered()
    {
        var queue = OpenQueue();
        AddRule();

        Send(0, 1);
        var dropped = ReceiveHeld(queue, 1)[0];
        Assert.True(queue.TrySetVerdict(dropped.Id, NetfilterVerdict.Drop, out var errno), Errno.Describe(errno));
        Send(1, 1);
        var accepted = ReceiveHeld(queue, 1)[0];
        Assert.True(queue.TrySetVerdict(accepted.Id, NetfilterVerdict.Accept, out errno), Errno.Describe(errno));

        Assert.Equal(1, Delivered());
        Assert.Equal(-1, Delivered(200));
    }

    [Fact]
    public void A_batch_verdict_releases_every_packet_up_to_its_id_and_no_further()
    {
        var queue = OpenQueue();
        AddRule();

        Send(0, 5);
        var held = ReceiveHeld(queue, 5);

        Assert.True(queue.TrySetBatchVerdict(held[2].Id, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));
        Assert.Equal([0, 1, 2], new[] { Delivered(), Delivered(), Delivered() });
        Assert.Equal(-1, Delivered(300));

        Assert.True(queue.TrySetBatchVerdict(held[4].Id, NetfilterVerdict.Accept, out errno), Errno.Describe(errno));
        Assert.Equal([3, 4], new[] { Delivered(), Delivered() });
    }

    [Fact]
    public void A_verdict_for_an_unknown_id_comes_back_as_a_counted_ENOENT_on_the_receive_path()
    {
        var queue = OpenQueue();

        Assert.True(queue.TrySetVerdict(123456, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));

        var buffer = new byte[queue.MinimumReceiveBufferLength];
        var length = queue.Receive(buffer, out errno);
        Assert.True(length > 0, Errno.Describe(errno));
        var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
        Assert.False(reader.MoveNext());
        Assert.Equal(1, reader.Errors);
        Assert.Equal(ENOENT, reader.LastErrno);
    }

    [Fact]
    public void Once_the_rule_is_removed_packets_flow_directly()
    {
        var queue = OpenQueue();
        AddRule();
        Send(0, 2);
        var held = ReceiveHeld(queue, 2);

        var error = "";
        Assert.True(_namespaces.Run(_r, () => _rules.TryRemoveQueueRule(Hnp, Queue, out error)), error);
        Assert.True(_namespaces.Run(_r, () => _rules.TryRemoveQueueRule(Hnp, Queue, out error)), "removing again succeeds: " + error);
        Send(2, 3);

        Assert.Equal([2, 3, 4], new[] { Delivered(), Delivered(), Delivered() });
        Assert.Equal(-1, queue.Receive(new byte[queue.MinimumReceiveBufferLength], out var errno));
        Assert.Equal(EAGAIN, errno);
        // What was held before the removal is still held, and still releasable.
        Assert.True(queue.TrySetBatchVerdict(held[^1].Id, NetfilterVerdict.Accept, out errno), Errno.Describe(errno));
        Assert.Equal([0, 1], new[] { Delivered(), Delivered() });
    }

    [Fact]
    public void Beyond_the_queue_length_the_kernel_drops_and_counts_it()
    {
        var queue = OpenQueue(new() { QueueNumber = Queue, MaxQueueLength = 5, ReceiveTimeout = TimeSpan.FromMilliseconds(300) });
        AddRule();

        Send(0, 10);
        var held = ReceiveHeld(queue, 5);
        Assert.Equal(-1, queue.Receive(new byte[queue.MinimumReceiveBufferLength], out var errno));
        Assert.Equal(EAGAIN, errno);

        var read = _namespaces.Run(_r, () => NetfilterQueue.TryReadQueueStatistics(Queue, out var s) ? s : (QueueStatistics?)null);
        Assert.True(read.HasValue, "no line for the queue in " + NfQueue.StatisticsPath);
        var statistics = read.Value;
        _output.WriteLine($"{statistics}");
        Assert.Equal(5u, statistics.QueueTotal);
        Assert.Equal(5u, statistics.QueueDropped);
        Assert.Equal(0u, statistics.UserDropped);
        Assert.Equal(2, statistics.CopyMode);   // NFQNL_COPY_PACKET
        Assert.Equal(128, statistics.CopyRange);

        Assert.True(queue.TrySetBatchVerdict(held[^1].Id, NetfilterVerdict.Accept, out errno), Errno.Describe(errno));
        Assert.Equal(Enumerable.Range(0, 5), Enumerable.Range(0, 5).Select(_ => Delivered()));
        Assert.Equal(-1, Delivered(200));
    }

    [Fact]
    public void Fail_open_lets_what_does_not_fit_in_the_queue_through_instead_of_dropping_it()
    {
        var queue = OpenQueue(new() { QueueNumber = Queue, MaxQueueLength = 5, FailOpen = true, ReceiveTimeout = TimeSpan.FromMilliseconds(300) });
        AddRule();

        Send(0, 10);
        var held = ReceiveHeld(queue, 5);

        Assert.Equal(Enumerable.Range(0, 5), held.Select(h => h.Marker));
        Assert.Equal(Enumerable.Range(5, 5), Enumerable.Range(0, 5).Select(_ => Delivered()));
        Assert.True(queue.TrySetBatchVerdict(held[^1].Id, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));
        Assert.Equal(Enumerable.Range(0, 5), Enumerable.Range(0, 5).Select(_ => Delivered()));
    }

    [Fact]
    public void Receiving_parsing_and_verdicts_allocate_nothing_per_packet()
    {
        const int Warmup = 50;
        const int Packets = 500;
        var queue = OpenQueue(new() { QueueNumber = Queue, ReceiveBufferBytes = 4 << 20, ReceiveTimeout = TimeSpan.FromSeconds(2) });
        AddRule();
        Send(0, Warmup + Packets);
        var buffer = new byte[queue.MinimumReceiveBufferLength];

        int Release(int count)
        {
            var released = 0;
            var markers = 0;
            while (released < count)
            {
                var length = queue.Receive(buffer, out var errno);
                if (length < 0)
                    Assert.Fail($"receive after {released}: {Errno.Describe(errno)}");
                var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
                while (reader.MoveNext())
                {
                    markers += reader.Current.Payload[51];
                    if (!queue.TrySetVerdict(reader.Current.PacketId, NetfilterVerdict.Accept, out errno))
                        Assert.Fail($"verdict: {Errno.Describe(errno)}");
                    released++;
                }
            }
            return markers;
        }

        Release(Warmup);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Release(Packets);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        _output.WriteLine($"{Packets} receive + parse + verdict: {allocated} bytes allocated");
        Assert.Equal(0, allocated);
        var delivered = 0;
        while (Delivered(500) >= 0)
            delivered++;
        Assert.Equal(Warmup + Packets, delivered);
        Assert.Equal(0, queue.ReceiveOverruns);
    }

    [Fact]
    public void How_fast_packets_are_queued_and_released()
    {
        const int Packets = 4000;
        var queue = OpenQueue(new() { QueueNumber = Queue, ReceiveBufferBytes = 16 << 20, ReceiveTimeout = TimeSpan.FromSeconds(2) });
        AddRule();
        var buffer = new byte[queue.MinimumReceiveBufferLength];
        var ids = new uint[Packets];

        var started = Stopwatch.GetTimestamp();
        var sender = new Thread(() => Send(0, Packets));
        sender.Start();
        var held = 0;
        while (held < Packets)
        {
            var length = queue.Receive(buffer, out var errno);
            if (length < 0)
            {
                if (errno == EAGAIN)
                    break;
                continue;
            }
            var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
            while (reader.MoveNext())
                ids[held++] = reader.Current.PacketId;
        }
        sender.Join();
        var queued = Stopwatch.GetElapsedTime(started);

        started = Stopwatch.GetTimestamp();
        for (var i = 0; i < held; i++)
            Assert.True(queue.TrySetVerdict(ids[i], NetfilterVerdict.Accept, out _));
        var verdicts = Stopwatch.GetElapsedTime(started);
        var delivered = 0;
        var last = -1;
        var inOrder = true;
        Span<byte> datagram = stackalloc byte[64];
        while (_receiver.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectRead))
        {
            _receiver.Receive(datagram);
            var marker = BinaryPrimitives.ReadInt32BigEndian(datagram);
            inOrder &= marker > last;
            last = marker;
            delivered++;
        }
        var statistics = _namespaces.Run(_r, () => NetfilterQueue.TryReadQueueStatistics(Queue, out var s) ? s.ToString() : "(no statistics)");

        _output.WriteLine($"queued (sent by p, received by us, held): {held} of {Packets} in {queued.TotalMilliseconds:F0} ms = {held / queued.TotalSeconds:F0} packets/s");
        _output.WriteLine($"released (one ACCEPT verdict each, kernel delivers synchronously): {held} in {verdicts.TotalMilliseconds:F1} ms = {held / verdicts.TotalSeconds:F0} packets/s");
        _output.WriteLine($"delivered to the UDP socket: {delivered}, in order: {inOrder}; ENOBUFS seen: {queue.ReceiveOverruns}; {statistics}");
        Assert.Equal(held, delivered);
        Assert.True(inOrder);
    }

    [Theory]
    [InlineData("ip6tables")]
    [InlineData("ip6tables-legacy")]
    public void RemoveAll_deletes_every_rule_of_ours_and_nobody_elses(string executable)
    {
        if (!File.Exists(Path.Combine("/usr/sbin", executable)))
        {
            _output.WriteLine($"{executable} is not installed: nothing to check");
            return;
        }
        var rules = new Ip6TablesRules(executable);
        var error = "";
        _namespaces.Run(_r, () =>
        {
            Assert.True(rules.TryAddQueueRule(Hnp, Queue, out error), error);
            Assert.True(rules.TryAddQueueRule(Hnp, Queue, out error), "adding again succeeds: " + error);
            Assert.True(rules.TryAddQueueRule(Ipv6Prefix.Parse("2001:db8:b::/64"), 8, out error), error);
            Assert.True(rules.TryAddQueueRule(Ipv6Prefix.Parse("2001:db8:c::1/128"), 9, out error), error);
            Assert.True(rules.TryRemoveQueueRule(Ipv6Prefix.Parse("2001:db8:e::/64"), 9, out error), "removing what is not there succeeds: " + error);
        });
        NetworkNamespaces.Ip("netns", "exec", _r, executable, "-w", "-t", "mangle", "-A", "PREROUTING", "-d", "2001:db8:d::/64",
            "-m", "comment", "--comment", "someone-else", "-j", "ACCEPT");

        // The rules went where the calling thread was: r (read here from outside, by `ip netns exec`).
        // Never look at the test's own namespace: even listing would instantiate the legacy tables there.
        Assert.Contains("--comment pmip6", NetworkNamespaces.Ip("netns", "exec", _r, executable, "-w", "-t", "mangle", "-S", "PREROUTING"));
        var listed = _namespaces.Run(_r, () => rules.TryListOurs(out var ours, out _) ? ours : []);
        Assert.Equal(3, listed.Count);
        Assert.Contains(listed, rule => rule.Contains("-d 2001:db8:a::/64", StringComparison.Ordinal) && rule.EndsWith("--queue-num 7", StringComparison.Ordinal));
        Assert.Equal(3, _namespaces.Run(_r, rules.RemoveAll));

        var left = NetworkNamespaces.Ip("netns", "exec", _r, executable, "-w", "-t", "mangle", "-S", "PREROUTING");
        Assert.DoesNotContain("pmip6", left);
        Assert.Contains("someone-else", left);
        Assert.Equal(0, _namespaces.Run(_r, rules.RemoveAll));
    }

    [Fact]
    public void Several_rule_changes_go_in_one_ip6tables_restore_run_all_of_them_or_none()
    {
        var b = Ipv6Prefix.Parse("2001:db8:b::/64");
        var c = Ipv6Prefix.Parse("2001:db8:c::1/128");
        var error = "";
        string Ours() => string.Join('\n', _namespaces.Run(_r, () => _rules.TryListOurs(out var ours, out _) ? ours : []));

        Assert.True(_namespaces.Run(_r, () => _rules.TryApply([(Hnp, true), (b, true), (c, true)], Queue, out error)), error);
        Assert.Equal(3, Ours().Split('\n').Length);
        Assert.Contains("-d 2001:db8:c::1/128", Ours());

        // Deleting one that is not there fails the run, and the delete of b in the same run is not made either.
        Assert.False(_namespaces.Run(_r, () => _rules.TryApply([(b, false), (Ipv6Prefix.Parse("2001:db8:e::/64"), false)], Queue, out error)));
        _output.WriteLine(error);
        Assert.Contains("ip6tables-restore", error);
        Assert.Contains("-d 2001:db8:b::/64", Ours());

        Assert.True(_namespaces.Run(_r, () => _rules.TryApply([(Hnp, false), (b, false), (c, false)], Queue, out error)), error);
        Assert.Equal("", Ours());
        Assert.True(_rules.TryApply([], Queue, out error), "nothing to change needs no run");
    }

    [Fact]
    public void The_rules_of_a_real_buffering_episode_come_and_go_through_ip6tables_restore()
    {
        var queue = OpenQueue();
        _queues.Remove(queue); // the buffering owns it
        using var buffering = _namespaces.Run(_r, () =>
            new HandoverBuffering(queue, new Ip6TablesRules(), new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits(), m => _output.WriteLine(m)));
        _namespaces.Run(_r, buffering.Start);
        string Ours() => string.Join('\n', _namespaces.Run(_r, () => _rules.TryListOurs(out var ours, out _) ? ours : []));

        Assert.True(buffering.Begin("mn1@x", [Hnp]));
        Assert.True(buffering.Begin("mn2@x", [Ipv6Prefix.Parse("2001:db8:b::/64")]));
        Eventually(() => buffering.PendingRuleWork == 0 && Ours().Split('\n').Length == 2, "both rules in place");
        Send(0, 3);
        Assert.Equal(-1, Delivered(200)); // held
        Assert.True(buffering.Release("mn1@x"));
        Assert.Equal([0, 1, 2], new[] { Delivered(), Delivered(), Delivered() });
        Eventually(() => !Ours().Contains("2001:db8:a::/64", StringComparison.Ordinal), "mn1's rule removed after its flush");
        buffering.Discard("mn2@x", [Ipv6Prefix.Parse("2001:db8:b::/64")], "spec");
        Eventually(() => Ours() == "", "mn2's rule removed");
        Assert.Equal(0, buffering.RuleErrors);
        Assert.Equal(0, buffering.RuleRoundFallbacks);
    }

    private static void Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"not within 10 s: {what}");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void The_legacy_backend_queues_and_releases_as_well()
    {
        if (!File.Exists("/usr/sbin/ip6tables-legacy"))
        {
            _output.WriteLine("ip6tables-legacy is not installed: nothing to check");
            return;
        }
        var legacy = new Ip6TablesRules("ip6tables-legacy");
        var queue = OpenQueue();
        var error = "";
        try
        {
            Assert.True(_namespaces.Run(_r, () => legacy.TryAddQueueRule(Hnp, Queue, out error)), error);
            Send(0, 3);
            var held = ReceiveHeld(queue, 3);
            Assert.Equal(-1, Delivered(200));
            Assert.True(queue.TrySetBatchVerdict(held[^1].Id, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));
            Assert.Equal([0, 1, 2], new[] { Delivered(), Delivered(), Delivered() });
        }
        finally
        {
            Assert.True(_namespaces.Run(_r, () => legacy.TryRemoveQueueRule(Hnp, Queue, out error)), error);
        }
    }

    [Fact]
    public void Verdicts_may_come_from_another_thread_while_the_receiver_waits()
    {
        const int Packets = 200;
        var queue = OpenQueue(new() { QueueNumber = Queue, ReceiveBufferBytes = 1 << 20, ReceiveTimeout = TimeSpan.FromSeconds(2) });
        AddRule();
        using var ids = new System.Collections.Concurrent.BlockingCollection<uint>();
        var receiver = new Thread(() =>
        {
            var buffer = new byte[queue.MinimumReceiveBufferLength];
            var received = 0;
            while (received < Packets)
            {
                var length = queue.Receive(buffer, out var errno);
                if (length < 0)
                {
                    if (errno == EAGAIN)
                        break;
                    continue;
                }
                var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
                while (reader.MoveNext())
                {
                    ids.Add(reader.Current.PacketId);
                    received++;
                }
            }
            ids.CompleteAdding();
        });
        receiver.Start();

        Send(0, Packets);
        var released = 0;
        foreach (var id in ids.GetConsumingEnumerable())
        {
            Assert.True(queue.TrySetVerdict(id, NetfilterVerdict.Accept, out var errno), Errno.Describe(errno));
            released++;
        }
        receiver.Join();

        Assert.Equal(Packets, released);
        Assert.Equal(Enumerable.Range(0, Packets), Enumerable.Range(0, Packets).Select(_ => Delivered()));
    }

    [Fact]
    public void A_full_socket_buffer_shows_as_a_counted_ENOBUFS_and_as_user_dropped()
    {
        const int Packets = 100;
        var queue = OpenQueue(new() { QueueNumber = Queue, ReceiveBufferBytes = 4096, ReceiveTimeout = TimeSpan.FromMilliseconds(300) });
        AddRule();

        Send(0, Packets);
        var held = new List<uint>();
        var buffer = new byte[queue.MinimumReceiveBufferLength];
        var overruns = 0;
        while (true)
        {
            var length = queue.Receive(buffer, out var errno);
            if (length < 0)
            {
                Assert.True(NetfilterQueue.IsTransientReceiveError(errno), Errno.Describe(errno));
                if (errno == EAGAIN)
                    break;
                overruns += errno == ENOBUFS ? 1 : 0;
                continue;
            }
            var reader = NetfilterQueue.Packets(buffer.AsSpan(0, length));
            while (reader.MoveNext())
                held.Add(reader.Current.PacketId);
        }
        var statistics = _namespaces.Run(_r, () => NetfilterQueue.TryReadQueueStatistics(Queue, out var s) ? s : default);
        _output.WriteLine($"held {held.Count}, ENOBUFS {overruns}, {statistics}");

        Assert.True(overruns >= 1);
        Assert.Equal(overruns, queue.ReceiveOverruns);
        Assert.True(statistics.UserDropped > 0);
        Assert.Equal((uint)Packets, held.Count + statistics.UserDropped);
        Assert.True(queue.TrySetBatchVerdict(held[^1], NetfilterVerdict.Accept, out var verdictErrno), Errno.Describe(verdictErrno));
        var delivered = 0;
        while (Delivered(300) >= 0)
            delivered++;
        Assert.Equal(held.Count, delivered);
    }

    [Fact]
    public void A_second_socket_cannot_take_a_bound_queue_and_bad_options_are_refused()
    {
        OpenQueue();

        var taken = _namespaces.Run(_r, () =>
        {
            Assert.False(NetfilterQueue.TryOpen(new() { QueueNumber = Queue }, out _, out var error));
            return error;
        });
        Assert.Equal(EPERM, taken.Errno);
        Assert.Contains("already owns the queue", taken.Message);

        Assert.False(NetfilterQueue.TryOpen(new() { QueueNumber = 1, MaxQueueLength = 0 }, out _, out var bad));
        Assert.Equal(EINVAL, bad.Errno);
        Assert.False(NetfilterQueue.TryOpen(new() { QueueNumber = 1, CopyRange = 70000 }, out _, out bad));
        Assert.Equal(EINVAL, bad.Errno);
    }

    [Fact]
    public void A_missing_ip6tables_is_reported_with_the_package_to_install()
    {
        var missing = new Ip6TablesRules("/nonexistent/ip6tables");

        Assert.False(missing.TryAddQueueRule(Hnp, Queue, out var error));
        Assert.Contains("apt-get install iptables", error);
        Assert.False(missing.TryRemoveAll(out _, out error));
        Assert.Contains("iptables", error);
    }

    [Fact]
    public void The_parser_skips_what_is_not_a_packet_and_the_statistics_line_parses()
    {
        // NLMSG_ERROR (ENOENT), NLMSG_NOOP, then one NFQNL_MSG_PACKET for queue 7: id 0x01020304, ETH_P_IPV6, hook 0, payload 3 octets, cap len 1500.
        var datagram = new List<byte>();
        void Message(ushort type, byte[] payload)
        {
            var length = 16 + payload.Length;
            datagram.AddRange(BitConverter.GetBytes((uint)length));
            datagram.AddRange(BitConverter.GetBytes(type));
            datagram.AddRange(new byte[10]);
            datagram.AddRange(payload);
            while (datagram.Count % 4 != 0)
                datagram.Add(0);
        }
        byte[] Attribute(ushort type, byte[] value)
        {
            var bytes = new List<byte>();
            bytes.AddRange(BitConverter.GetBytes((ushort)(4 + value.Length)));
            bytes.AddRange(BitConverter.GetBytes(type));
            bytes.AddRange(value);
            while (bytes.Count % 4 != 0)
                bytes.Add(0);
            return [.. bytes];
        }
        Message(2, [.. BitConverter.GetBytes(-ENOENT), .. new byte[16]]);
        Message(1, []);
        Message(NfQueue.NFQNL_MSG_PACKET,
        [
            10, 0, 0, 7,
            .. Attribute(NfQueue.NFQA_PACKET_HDR, [1, 2, 3, 4, 0x86, 0xDD, 0]),
            .. Attribute(NfQueue.NFQA_IFINDEX_INDEV, [0, 0, 0, 9]),
            .. Attribute(NfQueue.NFQA_PAYLOAD, [0x60, 0, 0]),
            .. Attribute(NfQueue.NFQA_CAP_LEN, [0, 0, 0x05, 0xDC]),
        ]);

        var reader = NetfilterQueue.Packets([.. datagram]);
        Assert.True(reader.MoveNext());
        var packet = reader.Current;
        Assert.Equal((ushort)7, packet.QueueNumber);
        Assert.Equal(0x01020304u, packet.PacketId);
        Assert.Equal(0x86DD, packet.HardwareProtocol);
        Assert.Equal(9, packet.InputInterface);
        Assert.Equal([0x60, 0, 0], packet.Payload.ToArray());
        Assert.Equal(1500, packet.OriginalLength);
        Assert.True(packet.IsTruncated);
        Assert.False(reader.MoveNext());
        Assert.Equal(1, reader.Errors);
        Assert.Equal(ENOENT, reader.LastErrno);

        Assert.True(NetfilterQueue.TryParseStatistics("    7 3221225 5 2   128     5     0       10  1", out var statistics));
        Assert.Equal(new QueueStatistics(7, 3221225, 5, 2, 128, 5, 0, 10), statistics);
        Assert.False(NetfilterQueue.TryParseStatistics("garbage", out _));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Buffering_makes_the_rule_changes_that_wait_together_in_one_ip6tables_restore_run()
    {
        // An ip6tables-restore that takes 200 ms a run and logs what it was given; ip6tables lists no rules.
        var dir = Directory.CreateTempSubdirectory("pmip6-batch-ip6tables-").FullName;
        try
        {
            var tool = Path.Combine(dir, "ip6tables");
            var log = Path.Combine(dir, "restore.log");
            File.WriteAllText(tool, "#!/bin/sh\nexit 0\n");
            File.WriteAllText(tool + "-restore", $"#!/bin/sh\nsleep 0.2\ncat >> {log}\necho RUN >> {log}\n");
            foreach (var file in new[] { tool, tool + "-restore" })
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var queue = _namespaces.Run(_r, () => NetfilterQueue.Open(new() { QueueNumber = Queue, ReceiveTimeout = TimeSpan.FromMilliseconds(300) }));
            using var buffering = new HandoverBuffering(queue, new Ip6TablesRules(tool),
                new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits { MaxHoldTime = TimeSpan.FromSeconds(30) }, _ => { });
            buffering.Start();

            // Twenty nodes start buffering at once: the first round takes what was there, the next one all the others.
            Assert.Equal(20, Enumerable.Range(0, 20).Count(i => buffering.Begin($"mn{i}@x", [Ipv6Prefix.Parse($"2001:db8:{100 + i:x}::/64")])));
            Eventually(() => buffering.PendingRuleWork == 0, "every rule change made");
            var text = File.ReadAllText(log);
            _output.WriteLine($"{buffering.RuleRounds} rounds:\n{text}");
            Assert.InRange(buffering.RuleRounds, 1, 3);
            Assert.Equal(buffering.RuleRounds, text.Split('\n').Count(l => l == "RUN"));
            Assert.Equal(20, text.Split('\n').Count(l => l.StartsWith("-I PREROUTING -d 2001:db8:", StringComparison.Ordinal)));
            Assert.Equal(0, buffering.RuleRoundFallbacks);

            // A node discarded and buffered again in quick succession: its removal and its new rule are made in that order,
            // in separate rounds (a round never holds one prefix twice).
            var p = Ipv6Prefix.Parse($"2001:db8:{100:x}::/64");
            buffering.Discard("mn0@x", [p], "spec");
            Assert.True(buffering.Begin("mn0@x", [p]));
            Eventually(() => buffering.PendingRuleWork == 0, "the discard and the new episode's rule");
            var lines = File.ReadAllText(log).Split('\n').Where(l => l.Contains($" {p} ", StringComparison.Ordinal)).ToList();
            Assert.Equal(["-I", "-D", "-I"], lines.Select(l => l[..2]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_rule_already_in_the_table_is_not_inserted_a_second_time_when_the_start_could_not_remove_it()
    {
        // ip6tables lists one rule of ours and cannot delete it; ip6tables-restore logs what it is given.
        var dir = Directory.CreateTempSubdirectory("pmip6-stale-ip6tables-").FullName;
        try
        {
            var tool = Path.Combine(dir, "ip6tables");
            var log = Path.Combine(dir, "restore.log");
            File.WriteAllText(tool, $$"""
                #!/bin/sh
                case "$*" in
                  *-S*) printf -- '-P PREROUTING ACCEPT\n-A PREROUTING -d 2001:db8:64::/64 -m comment --comment pmip6 -j NFQUEUE --queue-num {{Queue}}\n' ;;
                  *-D*) echo "iptables: Resource temporarily unavailable." >&2; exit 4 ;;
                esac
                exit 0

                """);
            File.WriteAllText(tool + "-restore", $"#!/bin/sh\ncat >> {log}\n");
            foreach (var file in new[] { tool, tool + "-restore" })
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var warnings = new List<string>();
            var queue = _namespaces.Run(_r, () => NetfilterQueue.Open(new() { QueueNumber = Queue, ReceiveTimeout = TimeSpan.FromMilliseconds(300) }));
            using var buffering = new HandoverBuffering(queue, new Ip6TablesRules(tool),
                new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits { MaxHoldTime = TimeSpan.FromSeconds(30) }, m => { lock (warnings) warnings.Add(m); });
            buffering.Start();
            Assert.Contains(warnings, w => w.Contains("could not list or remove the buffering rules", StringComparison.Ordinal));

            // The rule for 2001:db8:64::/64 is there: only the other node's rule is inserted (the prefix given with host bits
            // set is the same rule).
            Assert.True(buffering.Begin("mn0@x", [Ipv6Prefix.Parse("2001:db8:64::1/64")]));
            Assert.True(buffering.Begin("mn1@x", [Ipv6Prefix.Parse("2001:db8:65::/64")]));
            Eventually(() => buffering.PendingRuleWork == 0, "both rule changes made");
            var inserted = File.ReadAllText(log).Split('\n').Where(l => l.StartsWith("-I", StringComparison.Ordinal)).ToList();
            Assert.Equal(["-I PREROUTING -d 2001:db8:65::/64 -m comment --comment pmip6 -j NFQUEUE --queue-num " + Queue], inserted);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Our_rules_are_read_back_from_the_listing_with_their_prefix_and_queue()
    {
        Assert.True(Ip6TablesRules.TryParseQueueRule("-A PREROUTING -d 2001:db8:a::/64 -m comment --comment pmip6 -j NFQUEUE --queue-num 7", out var prefix, out var queue));
        Assert.Equal((Hnp, (ushort)7), (prefix, queue));
        Assert.False(Ip6TablesRules.TryParseQueueRule("-A PREROUTING -d 2001:db8:a::/64 -m comment --comment other -j NFQUEUE --queue-num 7", out _, out _));
        Assert.False(Ip6TablesRules.TryParseQueueRule("-A PREROUTING -d nonsense -m comment --comment pmip6 -j NFQUEUE --queue-num 7", out _, out _));
        Assert.False(Ip6TablesRules.TryParseQueueRule("-P PREROUTING ACCEPT", out _, out _));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Buffering_holds_no_more_nodes_while_its_rule_changes_wait_and_holds_them_again_once_they_are_done()
    {
        // An ip6tables that takes 200 ms a run (and changes nothing): the rules thread falls behind at once.
        var dir = Directory.CreateTempSubdirectory("pmip6-slow-ip6tables-").FullName;
        try
        {
            var tool = Path.Combine(dir, "ip6tables");
            File.WriteAllText(tool, "#!/bin/sh\nsleep 0.2\n");
            File.SetUnixFileMode(tool, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var queue = _namespaces.Run(_r, () => NetfilterQueue.Open(new() { QueueNumber = Queue, ReceiveTimeout = TimeSpan.FromMilliseconds(300) }));
            using var buffering = new HandoverBuffering(queue, new Ip6TablesRules(tool), new Pmip6Akka.Dataplane.Forwarding.HandoverBufferLimits(), _ => { },
                maxPendingRuleWork: 3);
            buffering.Start();
            static Ipv6Prefix[] Prefix(int i) => [Ipv6Prefix.Parse($"2001:db8:{100 + i:x}::/64")];

            var held = Enumerable.Range(0, 20).Count(i => buffering.Begin($"mn{i}@x", Prefix(i)));
            Assert.Equal(3, held);
            Assert.Equal(17, buffering.SkippedForRuleBacklog);
            Assert.Equal(3, buffering.Buffer.NodesBuffering);
            Assert.InRange(buffering.PendingRuleWork, 1, 3);

            // Three rules added (and, as the nodes' buffers end, removed): room again.
            var until = Stopwatch.StartNew();
            while (buffering.PendingRuleWork >= 3 && until.Elapsed < TimeSpan.FromSeconds(10))
                Thread.Sleep(20);
            Assert.True(buffering.Begin("later@x", Prefix(99)), $"still {buffering.PendingRuleWork} rule changes waiting");
            Assert.Equal(17, buffering.SkippedForRuleBacklog);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
