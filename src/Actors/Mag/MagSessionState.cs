// One Binding Update List entry at the MAG (RFC 5213 §6.1, §6.9): the mobility session of one MN
// attached to this MAG. Pure: every input returns the new state and the effects to carry out
// (send a PBU, arm a timer, report). The actor owns the clock, the timers and the socket.
//
// Retransmission (RFC 6275 §11.8, RFC 5213 §6.9.4): the first PBU of a registration waits
// InitialBindackTimeoutFirstReg, refreshes and de-registrations INITIAL_BINDACK_TIMEOUT; each
// retransmission doubles the wait, and once the next wait would exceed MAX_BINDACK_TIMEOUT the MAG
// gives up. Every transmission carries a new sequence number and a fresh timestamp.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public enum MagSessionPhase : byte
{
    Registering = 0,
    Registered = 1,
    Refreshing = 2,
    Deregistering = 3,
    Closed = 4,
    Failed = 5,
    /// <summary>Reported by the MAG, not a session state: registering from a reflected context, routes installed ahead of the PBA.</summary>
    Anticipated = 6,
}

public sealed record MagSettings
{
    public static readonly MagSettings Default = new();

    public TimeSpan RequestedLifetime { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Refresh when this share of the granted lifetime has passed.</summary>
    public double RefreshAt { get; init; } = 0.8;
    public TimeSpan InitialBindackTimeoutFirstReg { get; init; } = ProtocolConstants.InitialBindackTimeoutFirstReg;
    public TimeSpan InitialBindackTimeout { get; init; } = ProtocolConstants.InitialBindackTimeout;
    public TimeSpan MaxBindackTimeout { get; init; } = ProtocolConstants.MaxBindackTimeout;
}

/// <summary>What the MAG knows of the MN when it attaches (from the access link and its policy profile).</summary>
public sealed record Attachment(string MobileNodeId, string LinkLayerId, AccessTechnologyType AccessTechnology,
    HandoffIndicator Handoff, Ipv6Address? LinkLocalAddress = null, ImmutableArray<Ipv6Prefix> KnownPrefixes = default)
{
    /// <summary>The access link the MN is on, when an access link reported it (flow mobility routes more prefixes onto it).</summary>
    public int? IfIndex { get; init; }
}

public abstract record MagEffect
{
    public sealed record SendPbu(ProxyBindingUpdate Pbu) : MagEffect;
    /// <summary>Arm (or re-arm) the session's single timer.</summary>
    public sealed record StartTimer(TimeSpan After) : MagEffect;
    public sealed record Established(ImmutableArray<Ipv6Prefix> Prefixes, TimeSpan Lifetime, RegistrationKind Kind) : MagEffect;
    public sealed record Rejected(BindingAcknowledgementStatus Status, string Meaning) : MagEffect;
    public sealed record GaveUp(MagSessionPhase During, int Transmissions) : MagEffect;
    public sealed record Closed : MagEffect;
}

public sealed record MagSessionState(
    Attachment Attachment,
    Ipv6Address MagAddress,
    MagSessionPhase Phase,
    ushort Sequence,
    ImmutableArray<Ipv6Prefix> Prefixes,
    TimeSpan GrantedLifetime,
    TimeSpan CurrentTimeout,
    int Transmissions,
    MagSettings Settings,
    int TimestampRetries = 0,
    ReflectedContext? HandoverContext = null)
{
    /// <summary>How often a PBU rejected with TIMESTAMP_MISMATCH is sent again before the session fails.</summary>
    public const int MaxTimestampRetries = 2;

    public bool IsTerminal => Phase is MagSessionPhase.Closed or MagSessionPhase.Failed;

    /// <summary>The MN attached: send the first PBU (all-zero HNP unless prefixes are known).</summary>
    public static (MagSessionState, ImmutableArray<MagEffect>) Attach(Attachment attachment, Ipv6Address magAddress, ushort initialSequence,
        DateTimeOffset now, MagSettings? settings = null)
    {
        settings ??= MagSettings.Default;
        var known = attachment.KnownPrefixes.IsDefaultOrEmpty ? [new Ipv6Prefix(default, 0)] : attachment.KnownPrefixes;
        var state = new MagSessionState(attachment, magAddress, MagSessionPhase.Registering, initialSequence, known, TimeSpan.Zero,
            settings.InitialBindackTimeoutFirstReg, 0, settings);
        return state.Transmit(now, settings.RequestedLifetime, attachment.Handoff);
    }

    /// <summary>
    /// The MN detached: de-register (lifetime 0), unless nothing was ever registered. With a
    /// <paramref name="handover"/> (Context Reflector) every transmission of the de-registration carries
    /// the next MAG and the node's context.
    /// </summary>
    public (MagSessionState, ImmutableArray<MagEffect>) Detach(DateTimeOffset now, ReflectedContext? handover = null)
    {
        if (IsTerminal)
            return (this, []);
        if (Phase == MagSessionPhase.Registering)
            return (this with { Phase = MagSessionPhase.Closed }, [new MagEffect.Closed()]);
        var state = this with
        {
            Phase = MagSessionPhase.Deregistering, CurrentTimeout = Settings.InitialBindackTimeout, Transmissions = 0, HandoverContext = handover,
        };
        return state.Transmit(now, TimeSpan.Zero, HandoffIndicator.HandoffStateUnknown);
    }

    /// <summary>A PBA for this MN arrived.</summary>
    public (MagSessionState, ImmutableArray<MagEffect>) OnAcknowledgement(ProxyBindingAcknowledgement pba, DateTimeOffset now)
    {
        if (IsTerminal || Phase == MagSessionPhase.Registered || pba.Sequence != Sequence)
            return (this, []); // late, duplicate or for an older transmission
        if (Phase == MagSessionPhase.Deregistering)
            return (this with { Phase = MagSessionPhase.Closed }, [new MagEffect.Closed()]);
        if (pba.Status == BindingAcknowledgementStatus.TimestampMismatch && TimestampRetries < MaxTimestampRetries && Phase != MagSessionPhase.Deregistering)
        {
            // RFC 5213 §5.5: the PBU was too old when it arrived (a busy path, or clock skew). Send it
            // again at once with a fresh timestamp; a persistent skew fails after a few tries.
            var retry = this with { TimestampRetries = TimestampRetries + 1 };
            var lifetime = Settings.RequestedLifetime;
            var handoff = Phase == MagSessionPhase.Registering ? Attachment.Handoff : HandoffIndicator.HandoffStateNotChanged;
            return retry.Transmit(now, lifetime, handoff);
        }
        if (!pba.IsAccepted)
            return (this with { Phase = MagSessionPhase.Failed }, [new MagEffect.Rejected(pba.Status, StatusText.Describe(pba.Status))]);
        if (pba.Lifetime <= TimeSpan.Zero || pba.HomeNetworkPrefixes.IsDefaultOrEmpty)
            return (this with { Phase = MagSessionPhase.Failed },
                [new MagEffect.Rejected(pba.Status, "accepted PBA without lifetime or prefixes: treated as a failure")]);
        var kind = Phase == MagSessionPhase.Refreshing ? RegistrationKind.Refresh : RegistrationKind.Initial;
        var state = this with
        {
            Phase = MagSessionPhase.Registered,
            Prefixes = pba.HomeNetworkPrefixes,
            GrantedLifetime = pba.Lifetime,
            Transmissions = 0,
        };
        return (state, [new MagEffect.Established(pba.HomeNetworkPrefixes, pba.Lifetime, kind),
            new MagEffect.StartTimer(pba.Lifetime * Settings.RefreshAt)]);
    }

    /// <summary>The session's timer fired: retransmit with back-off, give up, or refresh.</summary>
    public (MagSessionState, ImmutableArray<MagEffect>) OnTimer(DateTimeOffset now)
    {
        switch (Phase)
        {
            case MagSessionPhase.Registered:
                var refreshing = this with { Phase = MagSessionPhase.Refreshing, CurrentTimeout = Settings.InitialBindackTimeout, Transmissions = 0 };
                return refreshing.Transmit(now, Settings.RequestedLifetime, HandoffIndicator.HandoffStateNotChanged);
            case MagSessionPhase.Registering or MagSessionPhase.Refreshing or MagSessionPhase.Deregistering:
                var next = CurrentTimeout * 2;
                if (next > Settings.MaxBindackTimeout)
                    return (this with { Phase = MagSessionPhase.Failed }, [new MagEffect.GaveUp(Phase, Transmissions)]);
                var lifetime = Phase == MagSessionPhase.Deregistering ? TimeSpan.Zero : Settings.RequestedLifetime;
                var handoff = Phase switch
                {
                    MagSessionPhase.Registering => Attachment.Handoff,
                    MagSessionPhase.Refreshing => HandoffIndicator.HandoffStateNotChanged,
                    _ => HandoffIndicator.HandoffStateUnknown,
                };
                return (this with { CurrentTimeout = next }).Transmit(now, lifetime, handoff);
            default:
                return (this, []);
        }
    }

    /// <summary>The LMA restarted (heartbeat restart counter changed): register again at once.</summary>
    public (MagSessionState, ImmutableArray<MagEffect>) OnLmaRestart(DateTimeOffset now)
    {
        if (Phase is not (MagSessionPhase.Registered or MagSessionPhase.Refreshing))
            return (this, []);
        var state = this with { Phase = MagSessionPhase.Refreshing, CurrentTimeout = Settings.InitialBindackTimeout, Transmissions = 0 };
        return state.Transmit(now, Settings.RequestedLifetime, HandoffIndicator.HandoffStateNotChanged);
    }

    private (MagSessionState, ImmutableArray<MagEffect>) Transmit(DateTimeOffset now, TimeSpan lifetime, HandoffIndicator handoff)
    {
        var sequence = Transmissions == 0 && Phase == MagSessionPhase.Registering ? Sequence : (ushort)(Sequence + 1);
        var pbu = new ProxyBindingUpdate(MagAddress, sequence, lifetime, Attachment.MobileNodeId, Prefixes, handoff,
            Attachment.AccessTechnology, Attachment.LinkLayerId, Attachment.LinkLocalAddress, Pmip6Timestamp.FromDateTimeOffset(now))
        {
            Context = Phase == MagSessionPhase.Deregistering ? HandoverContext : null,
        };
        var state = this with { Sequence = sequence, Transmissions = Transmissions + 1 };
        return (state, [new MagEffect.SendPbu(pbu), new MagEffect.StartTimer(CurrentTimeout)]);
    }
}
