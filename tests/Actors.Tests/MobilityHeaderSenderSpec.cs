// The Linux dataplane's thread-safe sender: it puts messages on the raw socket from any thread, and once its
// owner closes it (before closing the socket) it refuses every send, counted, instead of writing to a descriptor
// number that may have been reused.
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests;

public class MobilityHeaderSenderSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly Ipv6Address Loopback = Ipv6Address.Parse("::1");

    /// <summary>A heartbeat (RFC 5847) whose sequence number tells this run's messages from other runs' on ::1.</summary>
    private static byte[] Heartbeat(uint sequence)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.Heartbeat(buffer, response: false, sequence);
        Assert.True(w.TryFinish(out var length));
        return buffer[..length];
    }

    private static HashSet<uint> ReceiveHeartbeats(MobilityHeaderSocket receiver, ISet<uint> wanted, TimeSpan patience)
    {
        var got = new HashSet<uint>();
        var buffer = new byte[MobilityHeaderSocket.MaxMessageLength];
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline && got.Count < wanted.Count)
        {
            var n = receiver.Receive(buffer, out _, out _, out _, out _);
            if (n > 0 && MobilityHeader.TryDecode(buffer.AsSpan(0, n), out var mh, out _) && mh.Type == MobilityHeaderType.Heartbeat
                && Pmip6Akka.Dataplane.Wire.Heartbeat.TryDecode(mh, out var hb, out _) && wanted.Contains(hb.Sequence))
                got.Add(hb.Sequence);
        }
        return got;
    }

    [Fact]
    public async Task Many_threads_send_through_one_sender_and_every_message_arrives()
    {
        using var receiver = MobilityHeaderSocket.Open(new() { LocalAddress = Loopback, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var socket = MobilityHeaderSocket.Open(new() { Device = "lo" });
        var counters = new Counters();
        var sender = new MobilityHeaderSender(socket, counters, Logging.GetLogger(Sys, "spec"));
        var first = (uint)Random.Shared.Next(1, int.MaxValue - 100);
        var sequences = Enumerable.Range((int)first, 64).Select(n => (uint)n).ToHashSet();

        await Task.WhenAll(sequences.Chunk(16).Select(chunk => Task.Run(() =>
        {
            foreach (var sequence in chunk)
                sender.Send(Heartbeat(sequence), Loopback, Loopback);
        })));

        Assert.Equal(sequences.Order(), ReceiveHeartbeats(receiver, sequences, TimeSpan.FromSeconds(5)).Order());
        Assert.Equal(64, counters.Get("mh_sent_total"));
    }

    [Fact]
    public void A_closed_sender_refuses_to_send_and_counts_the_refusal()
    {
        using var receiver = MobilityHeaderSocket.Open(new() { LocalAddress = Loopback, ReceiveTimeout = TimeSpan.FromMilliseconds(200) });
        using var socket = MobilityHeaderSocket.Open(new() { Device = "lo" });
        var counters = new Counters();
        var sender = new MobilityHeaderSender(socket, counters, Logging.GetLogger(Sys, "spec"));
        var sequence = (uint)Random.Shared.Next(1, int.MaxValue - 100);

        sender.Close();
        sender.Send(Heartbeat(sequence), Loopback, Loopback);

        Assert.Empty(ReceiveHeartbeats(receiver, new HashSet<uint> { sequence }, TimeSpan.FromMilliseconds(600)));
        Assert.Equal(0, counters.Get("mh_sent_total"));
        Assert.Equal(1, counters.Get("mh_send_errors_total", "errno", "closed"));
    }
}
