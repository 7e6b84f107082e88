// A flood of valid PBUs against a journal that cannot keep up (issue 10: bounded queues on the receive
// path): a binding bucket refuses PBUs with 130 once too many events wait for the journal, instead of
// queueing them without bound, and serves again once the journal has caught up.
using Akka.Actor;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class JournalBacklogSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(SlowJournal.Hocon, output)
{
    private static string[] SameBucket(int count)
    {
        var bucket = BindingBuckets.Bucket("mn0@b.example");
        return Enumerable.Range(0, 100_000).Select(i => $"mn{i}@b.example").Where(mn => BindingBuckets.Bucket(mn) == bucket).Take(count).ToArray();
    }

    private static HandleProxyBindingUpdate Pbu(string mn) => new(
        new ProxyBindingUpdate(Domain.Mag1Address, 1, TimeSpan.FromHours(1), mn, [new Ipv6Prefix(default, 0)], HandoffIndicator.AttachmentOverNewInterface,
            AccessTechnologyType.Ieee8023, "02", null, Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)),
        new MobileNodePolicy(mn));

    private static (string Mn, BindingAcknowledgementStatus Status) Answer(SendMobilityMessage send)
    {
        Assert.True(BindingAcknowledgement.TryDecode(send.Message, out var pba, out _));
        Assert.True(pba.Options.TryGetMobileNodeIdentifier(out var id));
        return (id.ToString(), pba.Status);
    }

    [Fact]
    public void Past_the_pending_write_limit_pbus_are_refused_with_130_and_served_again_once_the_journal_caught_up()
    {
        var counters = new Counters();
        var dataplane = CreateTestProbe();
        var settings = new BindingEntitySettings(Domain.LmaAddress, BindingSettings.Default, Domain.Pool, 64) { MaxPendingWrites = 2 };
        var region = Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null, counters)));
        var mns = SameBucket(6);

        foreach (var mn in mns[..5])
            region.Tell(Pbu(mn));
        var answers = Enumerable.Range(0, 5).Select(_ => Answer(dataplane.FishForMessage<SendMobilityMessage>(_ => true, TimeSpan.FromSeconds(10)))).ToList();

        // Refusals go out at once; the two accepted ones wait for the (slow) journal.
        Assert.Equal(3, answers.Count(a => a.Status == BindingAcknowledgementStatus.InsufficientResources));
        Assert.Equal(mns[2..5], answers.Take(3).Select(a => a.Mn));
        Assert.Equal(mns[..2].Order(), answers.Skip(3).Where(a => a.Status == BindingAcknowledgementStatus.Accepted).Select(a => a.Mn).Order());
        Assert.Equal(3, counters.Get("pbu_refused_total", "reason", "journal-backlog"));

        // The journal caught up: the next MN (a MAG's retransmission would be the same) is served.
        region.Tell(Pbu(mns[5]));
        Assert.Equal((mns[5], BindingAcknowledgementStatus.Accepted), Answer(dataplane.FishForMessage<SendMobilityMessage>(_ => true, TimeSpan.FromSeconds(10))));
    }
}
