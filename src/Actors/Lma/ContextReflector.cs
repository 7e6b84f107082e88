// Context Reflector, LMA side (issue 7): the previous MAG's de-registration carries the next MAG's
// address and the MN's context; the LMA keeps a Context Cache Entry (CCE) holding both proxy-CoAs,
// reflects the context to the next MAG until acknowledged, accepts uplink from both MAGs while the CCE
// lives, and hands the session over when the next MAG registers. Anything else falls back to the
// standard RFC 5213 behaviour with a reason.
//
// Pure and immutable, beside BindingState: each Decide* runs BindingState.Decide first (so every
// standard check still applies) and only adds to its outcome. The caller persists the events of both
// in one journal (BindingState.Apply ignores the CCE events, ContextReflectorState.Apply the BCE ones
// except SessionRemoved), carries out the effects and counts the FellBack reasons.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Protocol;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

/// <summary>One Context Data item: a feature and its opaque state.</summary>
public sealed record ContextBlob(ContextFeature Feature, ImmutableArray<byte> Data)
{
    public bool Equals(ContextBlob? other) =>
        other is not null && Feature == other.Feature && Data.AsSpan().SequenceEqual(other.Data.AsSpan());

    public override int GetHashCode() => HashCode.Combine(Feature, Data.Length);
}

/// <summary>What a de-registration PBU carries for the reflector: the next MAG and the context items.</summary>
public sealed record ReflectedContext(Ipv6Address NextMag, ImmutableArray<ContextBlob> Items)
{
    /// <summary>Sum of the items' blobs, the figure the size limit applies to.</summary>
    public int Length => Items.Sum(i => i.Data.Length);

    /// <summary>
    /// Reads the context items of a decoded PBU. False with an error when an item is bad; true with a
    /// null context when the PBU names no next MAG (a plain de-registration).
    /// </summary>
    public static bool TryFrom(in MobilityOptionSet options, ContextLimits limits, out ReflectedContext? context, out DecodeError error)
    {
        context = null;
        var items = ContextItems.Of(options, limits);
        Ipv6Address? nextMag = null;
        var blobs = ImmutableArray.CreateBuilder<ContextBlob>();
        while (items.MoveNext())
        {
            var item = items.Current;
            if (item.Type == ContextItemType.NextMagAddress)
                nextMag ??= item.Address;
            else if (item.Type == ContextItemType.ContextData)
                blobs.Add(new ContextBlob(item.Feature, [.. item.Blob]));
        }
        error = items.Error;
        if (error.IsError)
            return false;
        if (nextMag is { } mag)
            context = new ReflectedContext(mag, blobs.ToImmutable());
        return true;
    }
}

public enum DownlinkMode : byte
{
    /// <summary>Send the MN's downlink to the next MAG ahead of its registration.</summary>
    Forward = 0,
    /// <summary>Hold the MN's downlink in the handover buffer until the next MAG registers.</summary>
    Buffer = 1,
}

/// <summary>Why the reflector left a handover to the standard behaviour (counted and logged by the caller).</summary>
public enum ReflectorFallback : byte
{
    Disabled = 1,
    /// <summary>The standard decision rejected the de-registration (e.g. a stale timestamp).</summary>
    Rejected = 2,
    /// <summary>The MAG sending the context does not hold the binding.</summary>
    NotBindingHolder = 3,
    NextMagIsPreviousMag = 4,
    /// <summary>The next MAG is unknown or not authorised for proxy registration.</summary>
    NextMagNotAuthorized = 5,
    ContextTooLarge = 6,
    Expired = 7,
    NeverAcknowledged = 8,
    RefusedByNextMag = 9,
    RegisteredElsewhere = 10,
    ReturnedToPreviousMag = 11,
}

public enum ContextReleaseReason : byte
{
    /// <summary>The next MAG registered: the CCE became its proxy BCE.</summary>
    ConsumedByNextMag = 0,
    Expired = 1,
    NeverAcknowledged = 2,
    RefusedByNextMag = 3,
    RegisteredElsewhere = 4,
    ReturnedToPreviousMag = 5,
}

/// <summary>The de-registration was turned into a Context Cache Entry (persisted).</summary>
public sealed record ContextCached(
    string MobileNodeId,
    int SessionId,
    ImmutableArray<Ipv6Prefix> Prefixes,
    Ipv6Address PreviousMag,
    Ipv6Address NextMag,
    ImmutableArray<ContextBlob> Context,
    DateTimeOffset CachedAt,
    DateTimeOffset ExpiresAt,
    ushort Sequence,
    DownlinkMode Downlink) : IBindingEvent;

/// <summary>The next MAG acknowledged the Context Reflection: retransmission stops.</summary>
public sealed record ContextReflectionAcknowledged(string MobileNodeId, int SessionId, ushort Sequence, DateTimeOffset At) : IBindingEvent;

/// <summary>The CCE is gone (handed over or fallen back).</summary>
public sealed record ContextReleased(string MobileNodeId, int SessionId, ContextReleaseReason Reason, DateTimeOffset At) : IBindingEvent;

/// <summary>
/// A Context Cache Entry. <see cref="Attempts"/> and <see cref="LastSentAt"/> are not persisted: after
/// a replay an unacknowledged entry counts one attempt sent at <see cref="CachedAt"/>, so the next
/// <see cref="ContextReflectorState.Tick"/> resends it at once if its back-off has passed.
/// </summary>
public sealed record ContextCacheEntry(
    int SessionId,
    ImmutableArray<Ipv6Prefix> Prefixes,
    Ipv6Address PreviousMag,
    Ipv6Address NextMag,
    ImmutableArray<ContextBlob> Context,
    DateTimeOffset CachedAt,
    DateTimeOffset ExpiresAt,
    ushort Sequence,
    DownlinkMode Downlink,
    bool Acknowledged,
    int Attempts,
    DateTimeOffset LastSentAt)
{
    public bool AcceptsUplinkFrom(Ipv6Address proxyCoa) => proxyCoa == PreviousMag || proxyCoa == NextMag;

    public bool IsLive(DateTimeOffset now) => now < ExpiresAt;
}

public sealed record ReflectorSettings
{
    public static readonly ReflectorSettings Default = new();

    public bool Enabled { get; init; } = true;

    /// <summary>CCE lifetime; the de-registered BCE is kept at least as long.</summary>
    public TimeSpan ContextLifetime { get; init; } = ProtocolConstants.MinDelayBeforeBceDelete;

    /// <summary>Size limit on a context (sum of its blobs), whatever the wire decoder allowed.</summary>
    public int MaxContextLength { get; init; } = ContextLimits.Default.MaxContextLength;

    public DownlinkMode Downlink { get; init; } = DownlinkMode.Forward;

    /// <summary>First retransmission delay of an unacknowledged reflection; doubles up to <see cref="MaxRetransmitDelay"/>.</summary>
    public TimeSpan InitialRetransmitDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetransmitDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Reflections sent (first one included) before the LMA gives up on the next MAG.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>The wait after attempt <paramref name="attempts"/> before the next one.</summary>
    public TimeSpan RetransmitDelay(int attempts)
    {
        var delay = InitialRetransmitDelay;
        for (var i = 1; i < attempts && delay < MaxRetransmitDelay; i++)
            delay += delay;
        return delay < MaxRetransmitDelay ? delay : MaxRetransmitDelay;
    }
}

/// <summary>The Context Reflection the LMA sends to the next MAG (Experimental MH, Kind 1).</summary>
public sealed record ContextReflectionMessage(
    string MobileNodeId,
    ImmutableArray<Ipv6Prefix> Prefixes,
    ushort Sequence,
    TimeSpan Lifetime,
    ImmutableArray<ContextBlob> Context)
{
    public bool TryWrite(Span<byte> buffer, out int length)
    {
        var w = MobilityHeaderWriter.ContextReflection(buffer);
        WireText.WriteMobileNodeIdentifier(ref w, MobileNodeId);
        foreach (var prefix in Prefixes)
            w.HomeNetworkPrefix(prefix);
        w.ContextSequence(Sequence);
        w.ContextLifetime((uint)Math.Clamp((long)Math.Ceiling(Lifetime.TotalSeconds), 0, uint.MaxValue));
        foreach (var item in Context)
            w.ContextData(item.Feature, item.Data.AsSpan());
        return w.TryFinish(out length);
    }
}

/// <summary>What the caller must do besides persisting events.</summary>
public abstract record ReflectorEffect
{
    /// <summary>Send (or resend) the Context Reflection to the next MAG.</summary>
    public sealed record SendContextReflection(Ipv6Address NextMag, ContextReflectionMessage Message, int Attempt) : ReflectorEffect;

    /// <summary>While the CCE lives, the session's downlink goes to (or waits for) the next MAG.</summary>
    public sealed record SetDownlink(int SessionId, ImmutableArray<Ipv6Prefix> Prefixes, DownlinkMode Mode, Ipv6Address NextMag) : ReflectorEffect;

    /// <summary>The CCE is gone: the session's downlink follows its binding again (flushing any buffer there).</summary>
    public sealed record RestoreDownlink(int SessionId, ImmutableArray<Ipv6Prefix> Prefixes) : ReflectorEffect;

    /// <summary>Revoke the previous MAG's state for these prefixes with a BRI (RFC 5846).</summary>
    public sealed record RevokePreviousMag(Ipv6Address PreviousMag, ImmutableArray<Ipv6Prefix> Prefixes, RevocationTrigger Trigger) : ReflectorEffect;

    /// <summary>The standard behaviour applies; count and log the reason. Listed before the effects it explains.</summary>
    public sealed record FellBack(ReflectorFallback Reason, int? SessionId) : ReflectorEffect;
}

/// <summary>A binding decision (standard, or extended by the reflector) and the reflector's effects.</summary>
public sealed record ReflectorOutcome(BindingDecision Decision, ImmutableArray<ReflectorEffect> Effects)
{
    public ReflectorFallback? Fallback => Effects.OfType<ReflectorEffect.FellBack>().FirstOrDefault()?.Reason;
}

/// <summary>Events to persist and effects to carry out, outside a PBU.</summary>
public sealed record ReflectorStep(ImmutableArray<IBindingEvent> Events, ImmutableArray<ReflectorEffect> Effects)
{
    public static readonly ReflectorStep None = new([], []);
}

/// <summary>The CCEs of one mobile node.</summary>
public sealed record ContextReflectorState(string MobileNodeId, ImmutableList<ContextCacheEntry> Entries) : Persistence.IPmip6Serializable
{
    public bool IsEmpty => Entries.IsEmpty;

    public static ContextReflectorState Empty(string mobileNodeId) => new(mobileNodeId, []);

    public ContextCacheEntry? EntryFor(int sessionId) => Entries.FirstOrDefault(e => e.SessionId == sessionId);

    /// <summary>While a CCE lives, uplink is accepted from both its MAGs' tunnels.</summary>
    public bool AcceptsUplinkFrom(Ipv6Address proxyCoa, DateTimeOffset now) =>
        Entries.Any(e => e.IsLive(now) && e.AcceptsUplinkFrom(proxyCoa));

    /// <summary>As <see cref="AcceptsUplinkFrom(Ipv6Address, DateTimeOffset)"/>, for the session owning one prefix.</summary>
    public bool AcceptsUplinkFrom(Ipv6Address proxyCoa, Ipv6Prefix prefix, DateTimeOffset now) =>
        Entries.Any(e => e.IsLive(now) && e.Prefixes.Contains(prefix) && e.AcceptsUplinkFrom(proxyCoa));

    /// <summary>The earliest expiry or due retransmission (for the timer).</summary>
    public DateTimeOffset? NextDeadline(ReflectorSettings settings) => Entries.IsEmpty ? null
        : Entries.Min(e => e.Acknowledged ? e.ExpiresAt : Min(e.ExpiresAt, e.LastSentAt + settings.RetransmitDelay(e.Attempts)));

    /// <summary>
    /// Decides a de-registration PBU from the serving MAG. Without a context this is exactly
    /// BindingState.Decide; with one, the session becomes a CCE when the sender holds the binding, the
    /// next MAG is authorised and the context is within the size limit.
    /// </summary>
    public ReflectorOutcome DecideDeregistration(BindingState binding, ProxyBindingUpdate pbu, ReflectedContext? context,
        MobileNodePolicy policy, LmaAdmissionSettings admission, ReflectorSettings settings, DateTimeOffset now,
        BindingSettings? bindingSettings = null)
    {
        var standard = binding.Decide(pbu, policy, now, bindingSettings);
        if (context is null || !pbu.IsDeregistration)
            return new ReflectorOutcome(standard, []);
        ReflectorOutcome Fallback(ReflectorFallback reason, int? session = null) =>
            new(standard, [new ReflectorEffect.FellBack(reason, session)]);
        if (!settings.Enabled)
            return Fallback(ReflectorFallback.Disabled);
        if (standard is not BindingDecision.Accept accept)
            return Fallback(ReflectorFallback.Rejected);
        // BindingState only de-registers the session this MAG serves; anything else changes nothing.
        if (accept.Events is not [SessionDeregistered deregistered])
            return Fallback(ReflectorFallback.NotBindingHolder);
        var session = binding.Sessions.First(s => s.Id == deregistered.SessionId);
        if (context.NextMag == pbu.ProxyCoa)
            return Fallback(ReflectorFallback.NextMagIsPreviousMag, session.Id);
        if (!LmaAdmission.IsAuthorized(admission, context.NextMag))
            return Fallback(ReflectorFallback.NextMagNotAuthorized, session.Id);
        if (context.Length > settings.MaxContextLength)
            return Fallback(ReflectorFallback.ContextTooLarge, session.Id);

        var expiresAt = now + settings.ContextLifetime;
        var kept = deregistered with { DeleteAt = Max(deregistered.DeleteAt, expiresAt) };
        var cached = new ContextCached(MobileNodeId, session.Id, session.Prefixes, pbu.ProxyCoa, context.NextMag, context.Items,
            now, expiresAt, pbu.Sequence, settings.Downlink);
        var reflection = new ContextReflectionMessage(MobileNodeId, session.Prefixes, pbu.Sequence, settings.ContextLifetime, context.Items);
        return new ReflectorOutcome(accept with { Events = [kept, cached] },
        [
            new ReflectorEffect.SendContextReflection(context.NextMag, reflection, 1),
            new ReflectorEffect.SetDownlink(session.Id, session.Prefixes, settings.Downlink, context.NextMag),
        ]);
    }

    /// <summary>
    /// Decides a registration PBU. When it registers a session that has a CCE: from the next MAG, the
    /// CCE becomes its proxy BCE and the previous MAG is revoked; from any other MAG, the CCE is dropped.
    /// </summary>
    public ReflectorOutcome DecideRegistration(BindingState binding, ProxyBindingUpdate pbu, MobileNodePolicy policy, DateTimeOffset now,
        BindingSettings? bindingSettings = null, ImmutableArray<Ipv6Prefix>? assignedPrefixes = null, bool mayDefer = true)
    {
        var standard = binding.Decide(pbu, policy, now, bindingSettings, assignedPrefixes, mayDefer);
        if (pbu.IsDeregistration || standard is not BindingDecision.Accept accept)
            return new ReflectorOutcome(standard, []);
        var registered = accept.Events.OfType<SessionRegistered>().FirstOrDefault();
        if (registered is null || EntryFor(registered.SessionId) is not { } entry)
            return new ReflectorOutcome(standard, []);
        var restore = new ReflectorEffect.RestoreDownlink(entry.SessionId, entry.Prefixes);
        if (registered.ProxyCoa == entry.NextMag)
        {
            var previous = binding.Sessions.FirstOrDefault(s => s.Id == entry.SessionId);
            var trigger = previous is null || previous.AccessTechnology == pbu.AccessTechnology
                ? RevocationTrigger.InterMagHandoverSameAccessType
                : RevocationTrigger.InterMagHandoverDifferentAccessType;
            return new ReflectorOutcome(
                accept with { Events = accept.Events.Add(new ContextReleased(MobileNodeId, entry.SessionId, ContextReleaseReason.ConsumedByNextMag, now)) },
                [restore, new ReflectorEffect.RevokePreviousMag(entry.PreviousMag, entry.Prefixes, trigger)]);
        }
        var (reason, fallback) = registered.ProxyCoa == entry.PreviousMag
            ? (ContextReleaseReason.ReturnedToPreviousMag, ReflectorFallback.ReturnedToPreviousMag)
            : (ContextReleaseReason.RegisteredElsewhere, ReflectorFallback.RegisteredElsewhere);
        return new ReflectorOutcome(
            accept with { Events = accept.Events.Add(new ContextReleased(MobileNodeId, entry.SessionId, reason, now)) },
            [new ReflectorEffect.FellBack(fallback, entry.SessionId), restore]);
    }

    /// <summary>A Context Reflection Acknowledgement from <paramref name="from"/>; one that matches no CCE changes nothing.</summary>
    public ReflectorStep OnAcknowledgement(Ipv6Address from, ushort sequence, ContextReflectionStatus status, DateTimeOffset now)
    {
        var entry = Entries.FirstOrDefault(e => e.NextMag == from && e.Sequence == sequence);
        if (entry is null || !entry.IsLive(now))
            return ReflectorStep.None;
        if ((byte)status >= 128)
            return Release(entry, ContextReleaseReason.RefusedByNextMag, ReflectorFallback.RefusedByNextMag, now);
        return entry.Acknowledged
            ? ReflectorStep.None
            : new ReflectorStep([new ContextReflectionAcknowledged(MobileNodeId, entry.SessionId, sequence, now)], []);
    }

    /// <summary>
    /// Expiry and retransmission. Returns the state with its retransmission bookkeeping advanced (not
    /// persisted) and the events to persist and apply to it.
    /// </summary>
    public (ContextReflectorState State, ReflectorStep Step) Tick(DateTimeOffset now, ReflectorSettings settings)
    {
        var events = ImmutableArray.CreateBuilder<IBindingEvent>();
        var effects = ImmutableArray.CreateBuilder<ReflectorEffect>();
        var entries = Entries;
        foreach (var e in Entries)
        {
            if (!e.IsLive(now))
            {
                Add(Release(e, ContextReleaseReason.Expired, ReflectorFallback.Expired, now));
                continue;
            }
            if (e.Acknowledged || now < e.LastSentAt + settings.RetransmitDelay(e.Attempts))
                continue;
            if (e.Attempts >= settings.MaxAttempts)
            {
                Add(Release(e, ContextReleaseReason.NeverAcknowledged, ReflectorFallback.NeverAcknowledged, now));
                continue;
            }
            var message = new ContextReflectionMessage(MobileNodeId, e.Prefixes, e.Sequence, e.ExpiresAt - now, e.Context);
            effects.Add(new ReflectorEffect.SendContextReflection(e.NextMag, message, e.Attempts + 1));
            entries = entries.Replace(e, e with { Attempts = e.Attempts + 1, LastSentAt = now });
        }
        return (this with { Entries = entries }, new ReflectorStep(events.ToImmutable(), effects.ToImmutable()));

        void Add(ReflectorStep step)
        {
            events.AddRange(step.Events);
            effects.AddRange(step.Effects);
        }
    }

    private ReflectorStep Release(ContextCacheEntry entry, ContextReleaseReason reason, ReflectorFallback fallback, DateTimeOffset now) =>
        new([new ContextReleased(MobileNodeId, entry.SessionId, reason, now)],
            [new ReflectorEffect.FellBack(fallback, entry.SessionId), new ReflectorEffect.RestoreDownlink(entry.SessionId, entry.Prefixes)]);

    public ContextReflectorState Apply(IBindingEvent e) => e switch
    {
        ContextCached c => this with
        {
            Entries = Entries.RemoveAll(x => x.SessionId == c.SessionId).Add(new ContextCacheEntry(c.SessionId, c.Prefixes, c.PreviousMag,
                c.NextMag, c.Context, c.CachedAt, c.ExpiresAt, c.Sequence, c.Downlink, Acknowledged: false, Attempts: 1, LastSentAt: c.CachedAt)),
        },
        ContextReflectionAcknowledged a => this with
        {
            Entries = Entries.Select(x => x.SessionId == a.SessionId && x.Sequence == a.Sequence ? x with { Acknowledged = true } : x).ToImmutableList(),
        },
        ContextReleased r => this with { Entries = Entries.RemoveAll(x => x.SessionId == r.SessionId) },
        // The BCE itself is gone (revoked, or its de-registration delay ran out): no CCE outlives it.
        SessionRemoved r => this with { Entries = Entries.RemoveAll(x => x.SessionId == r.SessionId) },
        _ => this,
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
