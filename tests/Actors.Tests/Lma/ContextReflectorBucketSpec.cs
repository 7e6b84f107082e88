// The Context Reflector in the binding entity (issue 7): what the LMA persists, sends and tells its
// dataplane when a de-registration carries a context — driven with PBUs and acknowledgements,
// watched through a probe standing for the dataplane (and so for the network).
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Actors.Tests.Scenarios;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;
using static Pmip6Akka.Actors.Tests.Lma.DataplaneProbe;

namespace Pmip6Akka.Actors.Tests.Lma;

public sealed class ContextReflectorBucketSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Lma = Domain.LmaAddress;
    private static readonly Ipv6Address Mag1 = Domain.Mag1Address;
    private static readonly Ipv6Address Mag2 = Domain.Mag2Address;
    private static readonly TimeSpan Timeout = DataplaneProbe.Timeout;
    private static readonly ImmutableArray<ContextBlob> Context =
        [new ContextBlob(ContextFeature.AaaSessionState, [1, 2, 3]), new ContextBlob(ContextFeature.QosProfile, [4, 5])];
    private ushort _sequence = 100;
    private readonly Counters _counters = new();

    /// <param name="retransmit">The first retransmission delay (doubling up to twice it); 200 ms unless given.</param>
    private static BindingEntitySettings Settings(DownlinkMode mode, TimeSpan? lifetime = null, TimeSpan? retransmit = null) =>
        new(Lma, BindingSettings.Default, Domain.Pool, 64)
        {
            Admission = new LmaAdmissionSettings([Mag1, Mag2]),
            Reflector = new ReflectorSettings
            {
                Enabled = true, Downlink = mode, ContextLifetime = lifetime ?? TimeSpan.FromSeconds(10),
                InitialRetransmitDelay = retransmit ?? TimeSpan.FromMilliseconds(200), MaxRetransmitDelay = 2 * (retransmit ?? TimeSpan.FromMilliseconds(200)),
                MaxAttempts = 3,
            },
            InitialBriTimeout = TimeSpan.FromSeconds(5),
        };

    private IActorRef Region(BindingEntitySettings settings, TestProbe dataplane) =>
        Sys.ActorOf(LocalBindingRegion.Props(b => BindingBucket.Props(b, settings, dataplane.Ref, null, _counters)));

    private HandleProxyBindingUpdate Pbu(Ipv6Address mag, Ipv6Prefix prefix, TimeSpan lifetime, HandoffIndicator hi, ReflectedContext? context = null) =>
        new(new ProxyBindingUpdate(mag, ++_sequence, lifetime, Mn, [prefix], hi, AccessTechnologyType.Ieee8023, "020000000101", null,
            Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)) { Context = context }, new MobileNodePolicy(Mn));

    private static Ipv6Prefix Any => new(default, 0);

    /// <summary>Everything the bucket sends the dataplane within <paramref name="window"/>.</summary>
    /// <summary>Context Reflections the bucket has sent, first attempts and retransmissions (each counted before it goes to the dataplane).</summary>
    private long ReflectionsSent() =>
        _counters.Get("context_reflections_sent_total", "attempt", "first") + _counters.Get("context_reflections_sent_total", "attempt", "retransmission");

    private static IEnumerable<(Ipv6Address To, byte[] Message)> Sent(IEnumerable<object> messages, MobilityHeaderType type) =>
        messages.OfType<SendMobilityMessage>()
            .Where(m => MobilityHeader.TryDecode(m.Message, out var mh, out _) && mh.Type == type)
            .Select(m => (m.Destination, m.Message));

    private static BindingAcknowledgementStatus PbaStatus(IEnumerable<object> messages, Ipv6Address to)
    {
        var (_, bytes) = Assert.Single(Sent(messages, MobilityHeaderType.BindingAcknowledgement), s => s.To == to);
        Assert.True(BindingAcknowledgement.TryDecode(bytes, out var pba, out _));
        return pba.Status;
    }

    private Ipv6Prefix Register(IActorRef region, TestProbe dataplane)
    {
        region.Tell(Pbu(Mag1, Any, TimeSpan.FromHours(1), HandoffIndicator.AttachmentOverNewInterface));
        var install = dataplane.FishForMessage<InstallBinding>(_ => true, Timeout);
        dataplane.FishForMessage<SendMobilityMessage>(_ => true, Timeout);
        return Assert.Single(install.Prefixes);
    }

    [Theory]
    [InlineData(DownlinkMode.Forward)]
    [InlineData(DownlinkMode.Buffer)]
    public void The_previous_mags_context_is_cached_reflected_to_the_next_mag_and_handed_over_when_it_registers(DownlinkMode mode)
    {
        var dataplane = CreateTestProbe();
        // Retransmission after 1 s: the de-registration's collection below holds one reflection, not a retransmission too, on a loaded machine.
        var retransmit = TimeSpan.FromSeconds(1);
        var region = Region(Settings(mode, retransmit: retransmit), dataplane);
        var prefix = Register(region, dataplane);

        // 1-2. The previous MAG de-registers with the next MAG and the context: a CCE, a PBA, a reflection.
        var deregistration = Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Mag2, Context));
        region.Tell(deregistration);
        var afterDeregistration = CollectUntil(dataplane, r => r.OfType<AcceptUplink>().Any() && r.OfType<SendMobilityMessage>().Count() >= 2
            && (mode == DownlinkMode.Forward ? r.OfType<InstallBinding>().Any() : r.OfType<BufferDownlink>().Any()));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, PbaStatus(afterDeregistration, Mag1));
        var (to, bytes) = Assert.Single(Sent(afterDeregistration, MobilityHeaderType.Experimental));
        Assert.Equal(Mag2, to);
        Assert.True(ContextReflection.TryDecode(bytes, out var reflection, out var error), error.ToString());
        Assert.Equal((Mn, deregistration.Pbu.Sequence, 2), (reflection.MobileNodeId.ToString(), reflection.Sequence, reflection.Context.ContextDataItems));

        // 5. Downlink to the next MAG ahead of its registration, or held; uplink accepted from both MAGs.
        var uplink = Assert.Single(afterDeregistration.OfType<AcceptUplink>());
        Assert.Equal(prefix, Assert.Single(uplink.Prefixes));
        if (mode == DownlinkMode.Forward)
        {
            Assert.Equal(Mag2, Assert.Single(afterDeregistration.OfType<InstallBinding>()).ProxyCoa);
            Assert.Equal([Mag1], uplink.AlsoFrom.ToArray());
            Assert.Empty(afterDeregistration.OfType<BufferDownlink>());
        }
        else
        {
            Assert.Equal(prefix, Assert.Single(Assert.Single(afterDeregistration.OfType<BufferDownlink>()).Prefixes));
            Assert.Equal([Mag2], uplink.AlsoFrom.ToArray());
            Assert.Empty(afterDeregistration.OfType<InstallBinding>());
        }

        // The next MAG acknowledges: no retransmission after that, in a window the first one would have fallen in.
        region.Tell(new ContextReflectionAnswered(Mn, Mag2, reflection.Sequence, ContextReflectionStatus.Accepted));
        region.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Wait(); // answered after the acknowledgement was taken
        TakeAll(dataplane); // sent before it was taken
        var reflections = ReflectionsSent();
        Assert.Empty(Sent(Collect(dataplane, retransmit + TimeSpan.FromMilliseconds(500)), MobilityHeaderType.Experimental));
        Assert.Equal(reflections, ReflectionsSent());

        // 4. The next MAG's PBU turns the CCE into its BCE; the previous MAG is revoked.
        region.Tell(Pbu(Mag2, prefix, TimeSpan.FromHours(1), HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var afterRegistration = CollectUntil(dataplane, r => r.OfType<AcceptUplink>().Any() && r.OfType<InstallBinding>().Any()
            && r.OfType<SendMobilityMessage>().Count() >= 2);
        Assert.Equal(BindingAcknowledgementStatus.Accepted, PbaStatus(afterRegistration, Mag2));
        Assert.Equal(Mag2, Assert.Single(afterRegistration.OfType<InstallBinding>()).ProxyCoa);
        Assert.Empty(Assert.Single(afterRegistration.OfType<AcceptUplink>()).AlsoFrom);
        var (revoked, bri) = Assert.Single(Sent(afterRegistration, MobilityHeaderType.BindingRevocation));
        Assert.Equal(Mag1, revoked);
        Assert.True(MobilityHeader.TryDecode(bri, out var briHeader, out _));
        Assert.True(BindingRevocation.TryDecode(briHeader, out var indication, out _));
        Assert.Equal(RevocationTrigger.InterMagHandoverSameAccessType, indication.Trigger);

        var binding = region.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout).Result;
        var session = Assert.Single(binding.Sessions);
        Assert.Equal((Mag2, SessionState.Active, prefix), (session.ProxyCoa, session.State, Assert.Single(session.Prefixes)));
        Assert.Equal(1, _counters.Get("context_handovers_total"));
    }

    [Fact]
    public void A_context_that_expires_falls_back_to_the_standard_handover()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(DownlinkMode.Forward, lifetime: TimeSpan.FromMilliseconds(500)), dataplane);
        var prefix = Register(region, dataplane);
        region.Tell(Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Mag2, Context)));
        var reflection = dataplane.FishForMessage<SendMobilityMessage>(m => m.Destination == Mag2, Timeout);
        Assert.True(ContextReflection.TryDecode(reflection.Message, out var r, out _));
        region.Tell(new ContextReflectionAnswered(Mn, Mag2, r.Sequence, ContextReflectionStatus.Accepted));

        // Expired: the downlink returns to the standard state (held at the LMA for the previous binding), uplink from one MAG.
        var restore = dataplane.FishForMessage<AcceptUplink>(a => a.AlsoFrom.IsEmpty, Timeout);
        Assert.Equal(prefix, Assert.Single(restore.Prefixes));
        Assert.Equal(Mag1, dataplane.FishForMessage<InstallBinding>(_ => true, Timeout).ProxyCoa);
        dataplane.FishForMessage<BufferDownlink>(_ => true, Timeout);
        Assert.Equal(1, _counters.Get("reflector_fallback_total", "reason", "expired"));

        // A standard handover still completes, and nobody is revoked for it.
        region.Tell(Pbu(Mag2, prefix, TimeSpan.FromHours(1), HandoffIndicator.HandoffBetweenMagsForSameInterface));
        var after = CollectUntil(dataplane, r => r.OfType<SendMobilityMessage>().Any(m => m.Destination == Mag2));
        Assert.Equal(BindingAcknowledgementStatus.Accepted, PbaStatus(after, Mag2));
        Assert.Empty(Sent(after, MobilityHeaderType.BindingRevocation));
    }

    [Fact]
    public void An_unknown_next_mag_is_not_reflected_to_and_the_deregistration_is_standard()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(DownlinkMode.Forward), dataplane);
        var prefix = Register(region, dataplane);
        region.Tell(Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Domain.RogueMagAddress, Context)));
        var after = CollectUntil(dataplane, r => r.OfType<SendMobilityMessage>().Any() && r.OfType<BufferDownlink>().Any());
        after.AddRange(Collect(dataplane, TimeSpan.FromMilliseconds(300))); // and nothing else: no reflection
        Assert.Equal(BindingAcknowledgementStatus.Accepted, PbaStatus(after, Mag1));
        Assert.Empty(Sent(after, MobilityHeaderType.Experimental));
        Assert.Single(after.OfType<BufferDownlink>());
        Assert.Empty(after.OfType<AcceptUplink>());
        Assert.Equal(1, _counters.Get("reflector_fallback_total", "reason", "next-mag-not-authorized"));
    }

    [Fact]
    public void A_lost_reflection_is_sent_again_with_back_off_until_acknowledged_and_given_up_after_max_attempts()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(DownlinkMode.Forward), dataplane);
        var prefix = Register(region, dataplane);
        var started = DateTimeOffset.UtcNow; // before the de-registration: no attempt is sent earlier
        region.Tell(Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Mag2, Context)));

        // Nobody answers: attempts at 0, +200 ms, +400 ms (MaxAttempts 3), then the fallback.
        var sends = new List<(DateTimeOffset At, ushort Sequence)>();
        for (var i = 0; i < 3; i++)
        {
            var send = dataplane.FishForMessage<SendMobilityMessage>(m => m.Destination == Mag2, Timeout);
            Assert.True(ContextReflection.TryDecode(send.Message, out var r, out _));
            sends.Add((DateTimeOffset.UtcNow, r.Sequence));
        }
        Assert.Single(sends.Select(s => s.Sequence).Distinct());
        // The times are the spec thread's receipts, late by any amount on a loaded machine: a late first receipt
        // shortens the gap after it. So the lower bounds count from before the de-registration (an attempt is never
        // sent before its back-off has passed since the one before: 200, then 200 + 400 ms), the upper bounds between
        // receipts. The exact back-off is checked on a virtual clock in Lma/ContextReflectorSpec.
        Assert.True((sends[1].At - started).TotalMilliseconds >= 195, $"first retransmission {(sends[1].At - started).TotalMilliseconds} ms after the de-registration");
        Assert.True((sends[2].At - started).TotalMilliseconds >= 595, $"second retransmission {(sends[2].At - started).TotalMilliseconds} ms after the de-registration");
        Assert.InRange((sends[1].At - sends[0].At).TotalMilliseconds, 0, 1000);
        Assert.InRange((sends[2].At - sends[1].At).TotalMilliseconds, 0, 1500);
        dataplane.FishForMessage<AcceptUplink>(a => a.AlsoFrom.IsEmpty, Timeout);
        Assert.Equal(1, _counters.Get("reflector_fallback_total", "reason", "never-acknowledged"));
        Assert.Equal(2, _counters.Get("context_reflections_sent_total", "attempt", "retransmission"));
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_next_mag_that_refuses_the_context_ends_the_cce_at_once()
    {
        var dataplane = CreateTestProbe();
        var region = Region(Settings(DownlinkMode.Buffer), dataplane);
        var prefix = Register(region, dataplane);
        region.Tell(Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Mag2, Context)));
        var send = dataplane.FishForMessage<SendMobilityMessage>(m => m.Destination == Mag2, Timeout);
        Assert.True(ContextReflection.TryDecode(send.Message, out var r, out _));
        region.Tell(new ContextReflectionAnswered(Mn, Mag2, r.Sequence, ContextReflectionStatus.InsufficientResources));
        dataplane.FishForMessage<AcceptUplink>(a => a.AlsoFrom.IsEmpty, Timeout);
        Assert.Equal(1, _counters.Get("reflector_fallback_total", "reason", "refused-by-next-mag"));
    }

    [Fact]
    public async Task An_lma_restarted_between_the_deregistration_and_the_new_pbu_recovers_the_cce_from_the_journal_and_completes_the_handover()
    {
        using var db = new TempDb();
        var settings = Settings(DownlinkMode.Forward);
        settings = settings with { Reflector = settings.Reflector with { MaxAttempts = 20 } };
        async Task<(ActorSystem Node, IActorRef Region, TestProbe Dataplane)> Start()
        {
            var node = await ActorSystemFactory.StartAsync("lma", db.Node(), SpecConfig.Strict());
            var dataplane = CreateTestProbe(node);
            var region = await ClusterSharding.Get(node).StartAsync("binding",
                b => BindingBucket.Props(b, settings, dataplane.Ref, null, _counters), ClusterShardingSettings.Create(node), new MnIdMessageExtractor());
            return (node, region, dataplane);
        }

        var (node1, region1, dataplane1) = await Start();
        var prefix = Register(region1, dataplane1);
        region1.Tell(Pbu(Mag1, prefix, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown, new ReflectedContext(Mag2, Context)));
        dataplane1.FishForMessage<SendMobilityMessage>(m => m.Destination == Mag1, Timeout); // the PBA: the CCE is in the journal
        await node1.Terminate();

        var (node2, region2, dataplane2) = await Start();
        try
        {
            // Recovered without any message: downlink to the next MAG again, uplink from both, the reflection resent.
            var firstRecovered = dataplane2.FishForMessage<object>(_ => true, TimeSpan.FromSeconds(20));
            List<object> recovered = [firstRecovered, .. CollectUntil(dataplane2, r => r.Prepend(firstRecovered).OfType<InstallBinding>().Any(i => i.ProxyCoa == Mag2)
                && r.Prepend(firstRecovered).OfType<AcceptUplink>().Any(a => a.AlsoFrom.SequenceEqual([Mag1]))
                && Sent(r.Prepend(firstRecovered), MobilityHeaderType.Experimental).Any(s => s.To == Mag2))];
            Assert.Contains(recovered.OfType<InstallBinding>(), i => i.ProxyCoa == Mag2);
            Assert.Contains(recovered.OfType<AcceptUplink>(), a => a.AlsoFrom.SequenceEqual([Mag1]));
            Assert.Contains(Sent(recovered, MobilityHeaderType.Experimental), s => s.To == Mag2);

            region2.Tell(Pbu(Mag2, prefix, TimeSpan.FromHours(1), HandoffIndicator.HandoffBetweenMagsForSameInterface));
            var after = CollectUntil(dataplane2, r => r.OfType<SendMobilityMessage>().Any(m => m.Destination == Mag2
                && BindingAcknowledgement.TryDecode(m.Message, out _, out _)) && Sent(r, MobilityHeaderType.BindingRevocation).Any());
            Assert.Equal(BindingAcknowledgementStatus.Accepted, PbaStatus(after, Mag2));
            Assert.Contains(Sent(after, MobilityHeaderType.BindingRevocation), s => s.To == Mag1);
            var session = Assert.Single((await region2.Ask<BindingSnapshot>(new GetBinding(Mn), Timeout)).Sessions);
            Assert.Equal((Mag2, prefix), (session.ProxyCoa, Assert.Single(session.Prefixes)));
        }
        finally { await node2.Terminate(); }
    }
}
