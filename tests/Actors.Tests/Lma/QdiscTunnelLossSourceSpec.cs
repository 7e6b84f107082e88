// Move on loss reads each MAG's tunnel loss from the root qdisc of the device that carries it:
// offered = sent + dropped, lost = dropped; devices without a counting root qdisc give no row.
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Linux;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class QdiscTunnelLossSourceSpec
{
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:ff::1:1");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:ff::1:2");
    private static readonly Ipv6Address Mag3 = Ipv6Address.Parse("2001:db8:ff::1:3");
    private static readonly TunnelDevice[] Devices = [new(Mag1, "mag1"), new(Mag2, "mag2"), new(Mag3, "gone")];
    private static int IndexOf(string name) => name switch { "mag1" => 11, "mag2" => 12, _ => 0 };

    [Fact]
    public void Each_mag_gets_its_devices_root_qdisc_as_offered_and_dropped_packets()
    {
        QdiscStatistics[] qdiscs =
        [
            new(11, 0x80010000, 0xFFFFFFFF, "tbf", 150_000, 900, 100, 120),
            new(11, 0x00010000, 0x80010000, "pfifo", 150_000, 900, 7, 0), // a child: its drops are in the root's already
            new(12, 0x80020000, 0xFFFFFFFF, "fq_codel", 10_000, 50, 0, 0),
        ];

        var rows = QdiscTunnelLossSource.Counters(Devices, qdiscs, IndexOf);

        Assert.Equal([new TunnelCounters(Mag1, 1000, 100), new TunnelCounters(Mag2, 50, 0)], rows);
    }

    [Fact]
    public void A_device_with_noqueue_or_no_root_qdisc_says_nothing_rather_than_zero_loss()
    {
        QdiscStatistics[] qdiscs = [new(11, 0, 0xFFFFFFFF, "noqueue", 0, 0, 0, 0)];

        Assert.Empty(QdiscTunnelLossSource.Counters(Devices, qdiscs, IndexOf));
    }

    [Fact]
    public void A_refused_dump_is_counted_and_gives_no_rows()
    {
        var source = new QdiscTunnelLossSource(Devices, () => throw new IOException("RTM_GETQDISC dump failed"), IndexOf);

        Assert.Empty(source.Read());
        Assert.Equal(1, source.FailedReads);
    }
}
