// Context Reflector, LMA side (issue 7), read as the paper's sequence and driven without any actor:
// the previous MAG's de-registration carries the context, the LMA keeps a CCE and reflects it, the
// next MAG registers, and every other path falls back to RFC 5213 with a reason.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class ContextReflectorSpec
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Address Mag3 = Ipv6Address.Parse("2001:db8:3::2");
    private static readonly Ipv6Address Stranger = Ipv6Address.Parse("2001:db8:99::2");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a001::/64");
    private static readonly Ipv6Prefix Zero = new(default, 0);
    private static readonly MobileNodePolicy Policy = new(Mn, MaxLifetime: TimeSpan.FromHours(1));
    private static readonly LmaAdmissionSettings Admission = new([Mag1, Mag2, Mag3]);
    private static readonly ReflectorSettings Settings = ReflectorSettings.Default;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly ImmutableArray<ContextBlob> Items =
    [
        new(ContextFeature.AaaSessionState, [.. "aaa:session=42"u8]),
        new(ContextFeature.QosProfile, [0x00, 0x00, 0x27, 0x10]),
        new(ContextFeature.AccountingCounters, [0, 0, 0, 0, 0, 0, 0x10, 0]),
        new(ContextFeature.HeaderCompressionState, [1, 2, 3]),
    ];

    private static ProxyBindingUpdate Pbu(Ipv6Address mag, HandoffIndicator hi, TimeSpan lifetime, DateTimeOffset at, ushort sequence = 1,
        AccessTechnologyType att = AccessTechnologyType.Ieee8023) =>
        new(mag, sequence, lifetime, Mn, [Zero], hi, att, "020000000101", null, Pmip6Timestamp.FromDateTimeOffset(at));

    /// <summary>The journal both states are folded from, as the binding entity would persist it.</summary>
    private sealed class Lma
    {
        public List<IBindingEvent> Journal { get; } = [];
        public BindingState Binding { get; private set; } = BindingState.Empty(Mn);
        public ContextReflectorState Reflector { get; set; } = ContextReflectorState.Empty(Mn);

        public void Persist(IEnumerable<IBindingEvent> events)
        {
            foreach (var e in events)
            {
                // Through the serializer, as a journal would store them.
                var stored = (IBindingEvent)Pmip6Serializer.Decode(Pmip6Serializer.Encode(e), new Pmip6Serializer(null!).Manifest(e));
                Journal.Add(stored);
                Binding = Binding.Apply(stored);
                Reflector = Reflector.Apply(stored);
            }
        }

        public BindingDecision.Accept Accept(ReflectorOutcome outcome)
        {
            var accept = Assert.IsType<BindingDecision.Accept>(outcome.Decision);
            Persist(accept.Events);
            return accept;
        }

        public static Lma Replay(IEnumerable<IBindingEvent> journal)
        {
            var lma = new Lma();
            lma.Persist(journal);
            return lma;
        }
    }

    /// <summary>The MN attached at MAG1.</summary>
    private static Lma Registered()
    {
        var lma = new Lma();
        var outcome = lma.Reflector.DecideRegistration(lma.Binding, Pbu(Mag1, HandoffIndicator.AttachmentOverNewInterface, TimeSpan.FromHours(1), T0),
            Policy, T0, assignedPrefixes: [Hnp]);
        lma.Accept(outcome);
        return lma;
    }

    private static ReflectorOutcome Deregister(Lma lma, DateTimeOffset at, ReflectedContext? context, ReflectorSettings? settings = null,
        Ipv6Address? from = null) =>
        lma.Reflector.DecideDeregistration(lma.Binding, Pbu(from ?? Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, at, sequence: 9),
            context, Policy, Admission, settings ?? Settings, at);

    /// <summary>Steps 1-2: MAG1 de-registers with the context and MAG2 as next MAG; the LMA caches it.</summary>
    private static (Lma Lma, ReflectorOutcome Outcome) Cached(DownlinkMode downlink = DownlinkMode.Forward, ReflectorSettings? settings = null)
    {
        var lma = Registered();
        var outcome = Deregister(lma, T0.AddSeconds(60), new ReflectedContext(Mag2, Items), (settings ?? Settings) with { Downlink = downlink });
        lma.Accept(outcome);
        return (lma, outcome);
    }

    [Fact]
    public void Step_1_2_the_de_registration_with_a_context_becomes_a_cce_acknowledged_to_the_previous_mag_and_reflected_to_the_next()
    {
        var at = T0.AddSeconds(60);
        var (lma, outcome) = Cached();
        var accept = Assert.IsType<BindingDecision.Accept>(outcome.Decision);
        Assert.Equal(BindingAcknowledgementStatus.Accepted, accept.Reply.Status);
        Assert.Equal(Mag1, accept.Reply.ProxyCoa);
        Assert.Equal(TimeSpan.Zero, accept.Reply.Lifetime);
        Assert.Null(outcome.Fallback);

        var cached = Assert.IsType<ContextCached>(accept.Events[1]);
        Assert.Equal((Mag1, Mag2, (ushort)9, at + Settings.ContextLifetime), (cached.PreviousMag, cached.NextMag, cached.Sequence, cached.ExpiresAt));
        Assert.Equal(Items, cached.Context);
        var deregistered = Assert.IsType<SessionDeregistered>(accept.Events[0]);
        Assert.True(deregistered.DeleteAt >= cached.ExpiresAt); // the BCE outlives its CCE

        var send = Assert.IsType<ReflectorEffect.SendContextReflection>(outcome.Effects[0]);
        Assert.Equal((Mag2, 1, (ushort)9), (send.NextMag, send.Attempt, send.Message.Sequence));
        Assert.Equal([Hnp], send.Message.Prefixes.ToArray());
        Assert.Equal(Items, send.Message.Context);
        var downlink = Assert.IsType<ReflectorEffect.SetDownlink>(outcome.Effects[1]);
        Assert.Equal((DownlinkMode.Forward, Mag2), (downlink.Mode, downlink.NextMag));

        var entry = Assert.Single(lma.Reflector.Entries);
        Assert.False(entry.Acknowledged);
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(lma.Binding.Sessions).State);
    }

    [Fact]
    public void Step_2_the_reflection_message_is_a_context_reflection_on_the_wire()
    {
        var (_, outcome) = Cached();
        var send = Assert.IsType<ReflectorEffect.SendContextReflection>(outcome.Effects[0]);
        var buffer = new byte[MobilityHeader.MaxLength];
        Assert.True(send.Message.TryWrite(buffer, out var length));
        Assert.True(ContextReflection.TryDecode(buffer.AsSpan(0, length), out var reflection, out var error), error.ToString());
        Assert.Equal(Mn, reflection.MobileNodeId.ToString());
        Assert.Equal((ushort)9, reflection.Sequence);
        Assert.Equal((uint)Settings.ContextLifetime.TotalSeconds, reflection.LifetimeSeconds);
        Assert.Equal(4, reflection.Context.ContextDataItems);
    }

    [Fact]
    public void Step_1_the_context_is_read_from_the_de_registration_on_the_wire()
    {
        var sample = WireSamples.All().Single(s => s.Name == "pbu-deregistration-context");
        Assert.True(BindingUpdate.TryDecode(sample.Packet.AsSpan(Ipv6Packet.HeaderLength), out var bu, out var error));
        Assert.True(ReflectedContext.TryFrom(bu.Options, ContextLimits.Default, out var context, out error), error.ToString());
        Assert.Equal(WireSamples.Mag2, context!.NextMag);
        Assert.Equal(WireSamples.Context.Select(c => c.Feature), context.Items.Select(i => i.Feature));

        var plain = WireSamples.All().Single(s => s.Name == "pbu-deregistration");
        Assert.True(BindingUpdate.TryDecode(plain.Packet.AsSpan(Ipv6Packet.HeaderLength), out bu, out _));
        Assert.True(ReflectedContext.TryFrom(bu.Options, ContextLimits.Default, out context, out _));
        Assert.Null(context);
    }

    [Fact]
    public void Step_3_the_acknowledgement_stops_retransmission()
    {
        var (lma, _) = Cached();
        var at = T0.AddSeconds(60.2);
        var step = lma.Reflector.OnAcknowledgement(Mag2, 9, ContextReflectionStatus.Accepted, at);
        Assert.IsType<ContextReflectionAcknowledged>(Assert.Single(step.Events));
        lma.Persist(step.Events);
        Assert.True(Assert.Single(lma.Reflector.Entries).Acknowledged);
        Assert.Empty(lma.Reflector.OnAcknowledgement(Mag2, 9, ContextReflectionStatus.Accepted, at).Events); // duplicate
        Assert.Empty(lma.Reflector.OnAcknowledgement(Mag3, 9, ContextReflectionStatus.Accepted, at).Events); // not the next MAG
        Assert.Empty(lma.Reflector.OnAcknowledgement(Mag2, 8, ContextReflectionStatus.Accepted, at).Events); // stale sequence
        var (_, tick) = lma.Reflector.Tick(T0.AddSeconds(65), Settings);
        Assert.Empty(tick.Effects);
    }

    [Fact]
    public void Step_4_the_next_mag_s_pbu_turns_the_cce_into_its_bce_and_revokes_the_previous_mag()
    {
        var (lma, _) = Cached();
        lma.Persist(lma.Reflector.OnAcknowledgement(Mag2, 9, ContextReflectionStatus.Accepted, T0.AddSeconds(60.1)).Events);
        var at = T0.AddSeconds(61);
        var outcome = lma.Reflector.DecideRegistration(lma.Binding,
            Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), at, sequence: 1), Policy, at);
        var accept = lma.Accept(outcome);
        var registered = Assert.IsType<SessionRegistered>(accept.Events[0]);
        Assert.Equal((RegistrationKind.Handover, Mag2), (registered.Kind, registered.ProxyCoa));
        Assert.Equal(ContextReleaseReason.ConsumedByNextMag, Assert.IsType<ContextReleased>(accept.Events[1]).Reason);
        var revoke = Assert.Single(outcome.Effects.OfType<ReflectorEffect.RevokePreviousMag>());
        Assert.Equal((Mag1, RevocationTrigger.InterMagHandoverSameAccessType), (revoke.PreviousMag, revoke.Trigger));
        Assert.Single(outcome.Effects.OfType<ReflectorEffect.RestoreDownlink>());
        Assert.Null(outcome.Fallback);
        Assert.Empty(lma.Reflector.Entries);
        Assert.Equal(SessionState.Active, Assert.Single(lma.Binding.Sessions).State);
        Assert.False(lma.Reflector.AcceptsUplinkFrom(Mag1, at));
    }

    [Fact]
    public void Step_4_a_next_mag_on_another_access_technology_is_revoked_with_the_different_access_trigger()
    {
        var (lma, _) = Cached();
        var at = T0.AddSeconds(61);
        var outcome = lma.Reflector.DecideRegistration(lma.Binding,
            Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), at, att: AccessTechnologyType.Ieee80211), Policy, at);
        Assert.Equal(RevocationTrigger.InterMagHandoverDifferentAccessType,
            Assert.Single(outcome.Effects.OfType<ReflectorEffect.RevokePreviousMag>()).Trigger);
    }

    [Theory]
    [InlineData(DownlinkMode.Forward)]
    [InlineData(DownlinkMode.Buffer)]
    public void Step_5_while_the_cce_lives_uplink_is_accepted_from_both_mags_and_downlink_follows_the_domain_mode(DownlinkMode mode)
    {
        var (lma, outcome) = Cached(mode);
        var at = T0.AddSeconds(60.5);
        Assert.True(lma.Reflector.AcceptsUplinkFrom(Mag1, at));
        Assert.True(lma.Reflector.AcceptsUplinkFrom(Mag2, at));
        Assert.True(lma.Reflector.AcceptsUplinkFrom(Mag2, Hnp, at));
        Assert.False(lma.Reflector.AcceptsUplinkFrom(Mag3, at));
        Assert.False(lma.Reflector.AcceptsUplinkFrom(Mag2, Ipv6Prefix.Parse("2001:db8:a002::/64"), at));
        Assert.False(lma.Reflector.AcceptsUplinkFrom(Mag2, T0.AddSeconds(60) + Settings.ContextLifetime));
        var downlink = Assert.Single(outcome.Effects.OfType<ReflectorEffect.SetDownlink>());
        Assert.Equal(mode, downlink.Mode);
        Assert.Equal([Hnp], downlink.Prefixes.ToArray());
    }

    [Fact]
    public void Step_6_an_expired_context_falls_back_to_the_standard_de_registration()
    {
        var (lma, _) = Cached();
        lma.Persist(lma.Reflector.OnAcknowledgement(Mag2, 9, ContextReflectionStatus.Accepted, T0.AddSeconds(60.1)).Events);
        var expiry = T0.AddSeconds(60) + Settings.ContextLifetime;
        Assert.Equal(expiry, lma.Reflector.NextDeadline(Settings));
        var (state, step) = lma.Reflector.Tick(expiry, Settings);
        lma.Reflector = state;
        Assert.Equal(ContextReleaseReason.Expired, Assert.IsType<ContextReleased>(Assert.Single(step.Events)).Reason);
        Assert.Equal(ReflectorFallback.Expired, Assert.Single(step.Effects.OfType<ReflectorEffect.FellBack>()).Reason);
        Assert.Single(step.Effects.OfType<ReflectorEffect.RestoreDownlink>());
        lma.Persist(step.Events);
        Assert.Empty(lma.Reflector.Entries);
        // The BCE is still there, awaiting a new MAG the standard way.
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(lma.Binding.Sessions).State);
    }

    [Fact]
    public void Step_6_a_lost_reflection_is_retransmitted_with_a_bounded_back_off_then_given_up()
    {
        var settings = Settings with { ContextLifetime = TimeSpan.FromSeconds(60) };
        var (lma, _) = Cached(settings: settings);
        var sentAt = new List<double>();
        var now = T0.AddSeconds(60);
        ReflectorStep last = ReflectorStep.None;
        for (var i = 0; i < 200 && last.Events.IsEmpty; i++)
        {
            now = now.AddMilliseconds(100);
            var (state, step) = lma.Reflector.Tick(now, settings);
            lma.Reflector = state;
            foreach (var send in step.Effects.OfType<ReflectorEffect.SendContextReflection>())
            {
                sentAt.Add(Math.Round((now - T0.AddSeconds(60)).TotalSeconds, 1));
                Assert.Equal(Mag2, send.NextMag);
                Assert.Equal(sentAt.Count + 1, send.Attempt);
            }
            last = step;
        }
        // Attempt 1 at 0 s (with the PBA), then after 1 s, 2 s and 4 s (capped), then give up 4 s later.
        Assert.Equal([1.0, 3.0, 7.0], sentAt);
        Assert.Equal(ContextReleaseReason.NeverAcknowledged, Assert.IsType<ContextReleased>(Assert.Single(last.Events)).Reason);
        Assert.Equal(ReflectorFallback.NeverAcknowledged, Assert.Single(last.Effects.OfType<ReflectorEffect.FellBack>()).Reason);
        Assert.Equal(11.0, Math.Round((now - T0.AddSeconds(60)).TotalSeconds, 1));
    }

    [Fact]
    public void Step_6_a_next_mag_that_refuses_the_context_falls_back()
    {
        var (lma, _) = Cached();
        var step = lma.Reflector.OnAcknowledgement(Mag2, 9, ContextReflectionStatus.InsufficientResources, T0.AddSeconds(60.1));
        Assert.Equal(ContextReleaseReason.RefusedByNextMag, Assert.IsType<ContextReleased>(Assert.Single(step.Events)).Reason);
        Assert.Equal(ReflectorFallback.RefusedByNextMag, Assert.Single(step.Effects.OfType<ReflectorEffect.FellBack>()).Reason);
    }

    [Fact]
    public void Step_6_an_unknown_or_unauthorised_next_mag_falls_back_to_the_standard_de_registration()
    {
        var lma = Registered();
        var at = T0.AddSeconds(60);
        var outcome = Deregister(lma, at, new ReflectedContext(Stranger, Items));
        Assert.Equal(ReflectorFallback.NextMagNotAuthorized, outcome.Fallback);
        var standard = lma.Binding.Decide(Pbu(Mag1, HandoffIndicator.HandoffStateUnknown, TimeSpan.Zero, at, sequence: 9), Policy, at);
        var expected = Assert.IsType<BindingDecision.Accept>(standard);
        var accept = Assert.IsType<BindingDecision.Accept>(outcome.Decision);
        Assert.Equal(expected.Events.ToArray(), accept.Events.ToArray());
        Assert.Equal(expected.Reply with { HomeNetworkPrefixes = [] }, accept.Reply with { HomeNetworkPrefixes = [] });
        Assert.IsType<SessionDeregistered>(Assert.Single(accept.Events));
        Assert.DoesNotContain(outcome.Effects, e => e is ReflectorEffect.SendContextReflection);
    }

    [Fact]
    public void Step_6_an_oversize_context_falls_back()
    {
        var lma = Registered();
        var big = new ReflectedContext(Mag2, [new ContextBlob(ContextFeature.HeaderCompressionState, [.. new byte[200]])]);
        Assert.Equal(ReflectorFallback.ContextTooLarge, Deregister(lma, T0.AddSeconds(60), big, Settings with { MaxContextLength = 199 }).Fallback);
        Assert.Null(Deregister(lma, T0.AddSeconds(60), big, Settings with { MaxContextLength = 200 }).Fallback);
    }

    [Fact]
    public void Step_6_a_context_from_a_mag_that_does_not_hold_the_binding_is_ignored()
    {
        var lma = Registered();
        var outcome = Deregister(lma, T0.AddSeconds(60), new ReflectedContext(Mag2, Items), from: Mag3);
        Assert.Equal(ReflectorFallback.NotBindingHolder, outcome.Fallback);
        Assert.Empty(Assert.IsType<BindingDecision.Accept>(outcome.Decision).Events);
    }

    [Fact]
    public void The_next_mag_being_the_previous_one_or_the_reflector_switched_off_falls_back()
    {
        var lma = Registered();
        Assert.Equal(ReflectorFallback.NextMagIsPreviousMag, Deregister(lma, T0.AddSeconds(60), new ReflectedContext(Mag1, Items)).Fallback);
        Assert.Equal(ReflectorFallback.Disabled,
            Deregister(lma, T0.AddSeconds(60), new ReflectedContext(Mag2, Items), Settings with { Enabled = false }).Fallback);
        var plain = Deregister(lma, T0.AddSeconds(60), null);
        Assert.Null(plain.Fallback);
        Assert.Empty(plain.Effects);
    }

    [Fact]
    public void A_stale_de_registration_is_rejected_as_the_standard_says()
    {
        var lma = Registered();
        var outcome = Deregister(lma, T0.AddSeconds(-10), new ReflectedContext(Mag2, Items));
        Assert.IsType<BindingDecision.Reject>(outcome.Decision);
        Assert.Equal(ReflectorFallback.Rejected, outcome.Fallback);
    }

    [Fact]
    public void Registration_at_a_third_mag_or_back_at_the_previous_one_drops_the_cce_without_revocation()
    {
        foreach (var (mag, reason) in new[] { (Mag3, ReflectorFallback.RegisteredElsewhere), (Mag1, ReflectorFallback.ReturnedToPreviousMag) })
        {
            var (lma, _) = Cached();
            var at = T0.AddSeconds(61);
            var outcome = lma.Reflector.DecideRegistration(lma.Binding,
                Pbu(mag, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), at), Policy, at);
            lma.Accept(outcome);
            Assert.Equal(reason, outcome.Fallback);
            Assert.DoesNotContain(outcome.Effects, e => e is ReflectorEffect.RevokePreviousMag);
            Assert.Empty(lma.Reflector.Entries);
            Assert.Equal(mag, Assert.Single(lma.Binding.Sessions).ProxyCoa);
        }
    }

    [Fact]
    public void An_lma_restarted_between_de_registration_and_the_new_pbu_restores_the_cce_from_its_events_and_completes_the_handover()
    {
        var (before, _) = Cached();
        var restarted = Lma.Replay(before.Journal);
        var entry = Assert.Single(restarted.Reflector.Entries);
        Assert.Equal((Mag1, Mag2, (ushort)9, false), (entry.PreviousMag, entry.NextMag, entry.Sequence, entry.Acknowledged));
        Assert.Equal(Items.ToArray(), entry.Context.ToArray());
        var (was, now) = (before.Binding.Sessions.Single(), restarted.Binding.Sessions.Single());
        Assert.Equal((was.ProxyCoa, was.State, was.DeleteAt), (now.ProxyCoa, now.State, now.DeleteAt));

        // Back 5 s later: the unacknowledged reflection is due and goes out at once.
        var at = T0.AddSeconds(65);
        Assert.True(restarted.Reflector.AcceptsUplinkFrom(Mag1, at));
        var (state, step) = restarted.Reflector.Tick(at, Settings);
        restarted.Reflector = state;
        Assert.Single(step.Effects.OfType<ReflectorEffect.SendContextReflection>());

        var outcome = restarted.Reflector.DecideRegistration(restarted.Binding,
            Pbu(Mag2, HandoffIndicator.HandoffBetweenMagsForSameInterface, TimeSpan.FromHours(1), at), Policy, at);
        restarted.Accept(outcome);
        Assert.Single(outcome.Effects.OfType<ReflectorEffect.RevokePreviousMag>());
        Assert.Empty(restarted.Reflector.Entries);
        Assert.Equal(Mag2, restarted.Binding.Sessions.Single().ProxyCoa);
    }

    [Fact]
    public void Removing_the_bce_removes_its_cce()
    {
        var (lma, _) = Cached();
        lma.Persist(lma.Binding.Revoke(T0.AddSeconds(61)));
        Assert.Empty(lma.Reflector.Entries);
    }

    [Fact]
    public void Context_events_round_trip_through_the_serializer()
    {
        var cached = new ContextCached(Mn, 3, [Hnp], Mag1, Mag2, Items, T0, T0.AddSeconds(10), 65535, DownlinkMode.Buffer);
        var manifest = new Pmip6Serializer(null!).Manifest(cached);
        Assert.Equal("cce-cached.v1", manifest);
        var back = (ContextCached)Pmip6Serializer.Decode(Pmip6Serializer.Encode(cached), manifest);
        Assert.Equal(cached with { Prefixes = [], Context = [] }, back with { Prefixes = [], Context = [] });
        Assert.Equal(cached.Prefixes.ToArray(), back.Prefixes.ToArray());
        Assert.Equal(cached.Context.ToArray(), back.Context.ToArray());

        var empty = cached with { Context = [] };
        Assert.Empty(((ContextCached)Pmip6Serializer.Decode(Pmip6Serializer.Encode(empty), manifest)).Context);

        var acknowledged = new ContextReflectionAcknowledged(Mn, 3, 9, T0);
        Assert.Equal(acknowledged, Pmip6Serializer.Decode(Pmip6Serializer.Encode(acknowledged), "cce-acknowledged.v1"));
        var released = new ContextReleased(Mn, 3, ContextReleaseReason.NeverAcknowledged, T0);
        Assert.Equal(released, Pmip6Serializer.Decode(Pmip6Serializer.Encode(released), "cce-released.v1"));
    }
}
