// The binary layouts of every Pmip6Akka event, snapshot and cross-node message (see Pmip6Serializer
// for the rules). A shipped manifest's layout never changes: a new layout is a new ".vN" manifest.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Actors.Persistence.Pmip6Serializer;

namespace Pmip6Akka.Actors.Persistence;

internal static class Pmip6Codecs
{
    public static readonly Codec[] All =
    [
        Make<SessionRegistered>("bce-registered.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Byte((byte)e.Kind); w.Prefixes(e.Prefixes); w.Address(e.ProxyCoa);
                w.Byte((byte)e.AccessTechnology); w.NullableString(e.LinkLayerId); w.NullableAddress(e.LinkLocalAddress);
                w.Long(e.RegisteredAt.UtcTicks); w.Long(e.Lifetime.Ticks); w.NullableTimestamp(e.Timestamp); w.Int(e.Sequence);
            },
            r => new SessionRegistered(r.String(), r.Int(), (RegistrationKind)r.Byte(), r.Prefixes(), r.Address(),
                (AccessTechnologyType)r.Byte(), r.NullableString(), r.NullableAddress(), new DateTimeOffset(r.Long(), TimeSpan.Zero),
                TimeSpan.FromTicks(r.Long()), r.NullableTimestamp(), (ushort)r.Int())),
        Make<SessionDeregistered>("bce-deregistered.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Long(e.At.UtcTicks); w.Long(e.DeleteAt.UtcTicks); w.NullableTimestamp(e.Timestamp);
            },
            r => new SessionDeregistered(r.String(), r.Int(), new DateTimeOffset(r.Long(), TimeSpan.Zero), new DateTimeOffset(r.Long(), TimeSpan.Zero),
                r.NullableTimestamp())),
        Make<SessionRemoved>("bce-removed.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Byte((byte)e.Reason); w.Long(e.At.UtcTicks); w.Prefixes(e.ReleasedPrefixes);
            },
            r => new SessionRemoved(r.String(), r.Int(), (RemovalReason)r.Byte(), new DateTimeOffset(r.Long(), TimeSpan.Zero), r.Prefixes())),
        Make<ContextCached>("cce-cached.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Prefixes(e.Prefixes); w.Address(e.PreviousMag); w.Address(e.NextMag);
                WriteContext(w, e.Context);
                w.Long(e.CachedAt.UtcTicks); w.Long(e.ExpiresAt.UtcTicks); w.Int(e.Sequence); w.Byte((byte)e.Downlink);
            },
            r =>
            {
                var mn = r.String(); var session = r.Int(); var prefixes = r.Prefixes(); var previous = r.Address(); var next = r.Address();
                var items = ReadContext(r, "cce-cached.v1");
                return new ContextCached(mn, session, prefixes, previous, next, items, new DateTimeOffset(r.Long(), TimeSpan.Zero),
                    new DateTimeOffset(r.Long(), TimeSpan.Zero), (ushort)r.Int(), (DownlinkMode)r.Byte());
            }),
        Make<ContextReflectionAcknowledged>("cce-acknowledged.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Int(e.Sequence); w.Long(e.At.UtcTicks);
            },
            r => new ContextReflectionAcknowledged(r.String(), r.Int(), (ushort)r.Int(), new DateTimeOffset(r.Long(), TimeSpan.Zero))),
        Make<ContextReleased>("cce-released.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Byte((byte)e.Reason); w.Long(e.At.UtcTicks);
            },
            r => new ContextReleased(r.String(), r.Int(), (ContextReleaseReason)r.Byte(), new DateTimeOffset(r.Long(), TimeSpan.Zero))),
        Make<BindingState>("bce-state.v1", (w, s) =>
            {
                w.String(s.MobileNodeId); w.Int(s.NextSessionId); w.Int(s.Sessions.Length);
                foreach (var x in s.Sessions)
                {
                    w.Int(x.Id); w.Prefixes(x.Prefixes); w.Address(x.ProxyCoa); w.Byte((byte)x.AccessTechnology); w.NullableString(x.LinkLayerId);
                    w.NullableAddress(x.LinkLocalAddress); w.Long(x.RegisteredAt.UtcTicks); w.Long(x.Lifetime.Ticks); w.NullableTimestamp(x.LastTimestamp);
                    w.Int(x.LastSequence); w.Byte((byte)x.State); w.Long(x.DeleteAt?.UtcTicks ?? -1);
                }
            },
            r =>
            {
                var mn = r.String();
                var next = r.Int();
                var count = r.Int();
                var sessions = ImmutableArray.CreateBuilder<MobilitySession>(Math.Clamp(count, 0, 16)); // a corrupt count fails on the reads below
                for (var i = 0; i < count; i++)
                {
                    var id = r.Int(); var prefixes = r.Prefixes(); var coa = r.Address(); var att = (AccessTechnologyType)r.Byte();
                    var ll = r.NullableString(); var lla = r.NullableAddress(); var at = new DateTimeOffset(r.Long(), TimeSpan.Zero);
                    var lifetime = TimeSpan.FromTicks(r.Long()); var ts = r.NullableTimestamp(); var seq = (ushort)r.Int();
                    var state = (SessionState)r.Byte(); var delete = r.Long();
                    sessions.Add(new MobilitySession(id, prefixes, coa, att, ll, lla, at, lifetime, ts, seq, state,
                        delete < 0 ? null : new DateTimeOffset(delete, TimeSpan.Zero)));
                }
                return new BindingState(mn, sessions.ToImmutable(), next);
            }),
        ReadOnly("bce-bucket.v1", r => new BindingBucketSnapshot(ReadNested<BindingState>(r), [])),
        ReadOnly("bce-bucket.v2", r => new BindingBucketSnapshot(ReadNested<BindingState>(r), ReadNested<ContextReflectorState>(r))),
        Make<BindingBucketSnapshot>("bce-bucket.v3", (w, s) =>
            {
                WriteNested(w, s.States);
                WriteNested(w, s.Reflectors.IsDefault ? [] : s.Reflectors);
                WriteNested(w, s.Flows.IsDefault ? [] : s.Flows);
            },
            r => new BindingBucketSnapshot(ReadNested<BindingState>(r), ReadNested<ContextReflectorState>(r)) { Flows = ReadNested<FlowMobilityState>(r) }),
        .. FlowCodecs.All,
        Make<ContextReflectorState>("cce-state.v1", (w, s) =>
            {
                w.String(s.MobileNodeId); w.Int(s.Entries.Count);
                foreach (var e in s.Entries)
                {
                    w.Int(e.SessionId); w.Prefixes(e.Prefixes); w.Address(e.PreviousMag); w.Address(e.NextMag); WriteContext(w, e.Context);
                    w.Long(e.CachedAt.UtcTicks); w.Long(e.ExpiresAt.UtcTicks); w.Int(e.Sequence); w.Byte((byte)e.Downlink); w.Bool(e.Acknowledged);
                }
            },
            r =>
            {
                var mn = r.String();
                var n = Count(r, "cce-state.v1", r.Int());
                var entries = ImmutableList.CreateBuilder<ContextCacheEntry>();
                for (var i = 0; i < n; i++)
                {
                    var session = r.Int(); var prefixes = r.Prefixes(); var previous = r.Address(); var next = r.Address();
                    var context = ReadContext(r, "cce-state.v1"); var cachedAt = new DateTimeOffset(r.Long(), TimeSpan.Zero);
                    var expiresAt = new DateTimeOffset(r.Long(), TimeSpan.Zero); var sequence = (ushort)r.Int(); var downlink = (DownlinkMode)r.Byte();
                    var acknowledged = r.Bool();
                    // Retransmission bookkeeping is not kept: one attempt, sent when cached (see ContextCacheEntry).
                    entries.Add(new ContextCacheEntry(session, prefixes, previous, next, context, cachedAt, expiresAt, sequence, downlink,
                        acknowledged, 1, cachedAt));
                }
                return new ContextReflectorState(mn, entries.ToImmutable());
            }),
        ReadOnly("pbu.v1", r => ReadPbu(r, withContext: false)),
        Make<HandleProxyBindingUpdate>("pbu.v2", WritePbu, r => ReadPbu(r, withContext: true)),
        Make<ContextReflectionAnswered>("cce-answered.v1", (w, m) => { w.String(m.MobileNodeId); w.Address(m.From); w.Int(m.Sequence); w.Byte((byte)m.Status); },
            r => new ContextReflectionAnswered(r.String(), r.Address(), (ushort)r.Int(), (ContextReflectionStatus)r.Byte())),
        Make<RevokeBinding>("revoke.v1", (w, m) => { w.String(m.MobileNodeId); w.Byte((byte)m.Trigger); },
            r => new RevokeBinding(r.String(), (RevocationTrigger)r.Byte())),
        Make<RevokeSessionsAt>("revoke-at-mag.v1", (w, m) => { w.String(m.MobileNodeId); w.Address(m.Mag); },
            r => new RevokeSessionsAt(r.String(), r.Address())),
        Make<RevocationStarted>("revocation-started.v1", (w, m) => { w.String(m.MobileNodeId); w.Int(m.Sessions); },
            r => new RevocationStarted(r.String(), r.Int())),
        Make<RevocationAcknowledged>("bra.v1", (w, m) => { w.String(m.MobileNodeId); w.Int(m.Sequence); w.Byte((byte)m.Status); w.Address(m.Mag); },
            r => new RevocationAcknowledged(r.String(), (ushort)r.Int(), (BindingRevocationStatus)r.Byte(), r.Address())),
        Make<StartBucket>("start-bucket.v1", (w, m) => w.Int(m.Bucket), r => new StartBucket(r.Int())),
        Make<BucketReady>("bucket-ready.v1", (w, m) => { w.Int(m.Bucket); w.Int(m.MobileNodes); }, r => new BucketReady(r.Int(), r.Int())),
        Make<RelayedUplink>("relayed-uplink.v1", (w, m) => { w.Int(m.Bucket); w.Blob(m.Packet); w.Address(m.Mag); },
            r => new RelayedUplink(r.Int(), r.Blob(), r.Address())),
        Make<GetRestartCounter>("get-restart-counter.v1", (_, _) => { }, _ => GetRestartCounter.Instance),
        Make<RestartCounterIs>("restart-counter.v1", (w, m) => w.Long(m.Value), r => new RestartCounterIs(Counter(r))),
        Make<RestartCounterChosen>("restart-counter-chosen.v1", (w, m) => { w.Long(m.Value); w.Long(m.At.UtcTicks); },
            r => new RestartCounterChosen(Counter(r), new DateTimeOffset(r.Long(), TimeSpan.Zero))),
        Make<BucketLayoutRecorded>("bucket-layout-recorded.v1", (w, m) => { w.Int(m.Buckets); w.Long(m.At.UtcTicks); },
            r => new BucketLayoutRecorded(r.Int(), new DateTimeOffset(r.Long(), TimeSpan.Zero))),
        Make<GetBinding>("get-binding.v1", (w, m) => w.String(m.MobileNodeId), r => new GetBinding(r.String())),
        Make<BindingSnapshot>("binding.v1", (w, m) =>
            {
                w.String(m.MobileNodeId); w.Int(m.Sessions.Length);
                foreach (var s in m.Sessions)
                {
                    w.Int(s.SessionId); w.Prefixes(s.Prefixes); w.Address(s.ProxyCoa); w.Byte((byte)s.State); w.Byte((byte)s.AccessTechnology);
                    w.NullableString(s.LinkLayerId); w.Long(s.ExpiresAt.UtcTicks);
                }
            },
            r =>
            {
                var mn = r.String();
                var n = r.Int();
                var sessions = ImmutableArray.CreateBuilder<SessionView>();
                for (var i = 0; i < n; i++)
                    sessions.Add(new SessionView(r.Int(), r.Prefixes(), r.Address(), (SessionState)r.Byte(), (AccessTechnologyType)r.Byte(),
                        r.NullableString(), new DateTimeOffset(r.Long(), TimeSpan.Zero)));
                return new BindingSnapshot(mn, sessions.ToImmutable());
            }),
    ];

    private static void WriteContext(PayloadWriter w, ImmutableArray<ContextBlob> context)
    {
        w.Int(context.IsDefault ? 0 : context.Length);
        foreach (var item in context.IsDefault ? [] : context) { w.Byte((byte)item.Feature); w.Blob(item.Data); }
    }

    private static ImmutableArray<ContextBlob> ReadContext(PayloadReader r, string manifest)
    {
        var n = Count(r, manifest, r.Int(), max: 256);
        var items = ImmutableArray.CreateBuilder<ContextBlob>(n);
        for (var i = 0; i < n; i++)
            items.Add(new ContextBlob((ContextFeature)r.Byte(), r.Blob()));
        return items.MoveToImmutable();
    }

    /// <summary>An RFC 5847 Restart Counter (32 bits, written as a varint long).</summary>
    private static uint Counter(PayloadReader r)
    {
        var v = r.Long();
        return v is >= 0 and <= uint.MaxValue ? (uint)v : throw new System.Runtime.Serialization.SerializationException($"Pmip6Serializer: restart counter {v} out of range");
    }

    internal static int Count(PayloadReader r, string manifest, int n, int max = 1 << 20) =>
        n >= 0 && n <= max ? n : throw new System.Runtime.Serialization.SerializationException($"Pmip6Serializer: corrupt '{manifest}' payload (count {n})");

    private static void WriteNested<T>(PayloadWriter w, IReadOnlyCollection<T> items) where T : IPmip6Serializable
    {
        w.Int(items.Count);
        foreach (var item in items)
            w.Nested(item);
    }

    private static ImmutableArray<T> ReadNested<T>(PayloadReader r)
    {
        var n = Count(r, "nested", r.Int());
        var items = ImmutableArray.CreateBuilder<T>(n);
        for (var i = 0; i < n; i++)
            items.Add((T)r.Nested());
        return items.MoveToImmutable();
    }

    private static void WritePbu(PayloadWriter w, HandleProxyBindingUpdate m)
    {
        var p = m.Pbu;
        w.Address(p.ProxyCoa); w.Int(p.Sequence); w.Long(p.Lifetime.Ticks); w.String(p.MobileNodeId); w.Prefixes(p.HomeNetworkPrefixes);
        w.Byte((byte)p.Handoff); w.Byte((byte)p.AccessTechnology); w.NullableString(p.LinkLayerId); w.NullableAddress(p.LinkLocalAddress);
        w.NullableTimestamp(p.Timestamp);
        var q = m.Policy;
        w.String(q.MobileNodeId); w.Bool(q.ProxyRegistrationEnabled); w.Int(q.HomeNetworkPrefixCount);
        w.Strings(q.AllowedAccessTechnologies?.Select(a => ((byte)a).ToString()).ToArray() ?? ["*"]);
        w.Long(q.MaxLifetime?.Ticks ?? -1); w.Int(q.MaxSessions);
        w.Long(m.ReceivedAtTimestamp);
        w.NullableAddress(p.Context?.NextMag);
        if (p.Context is { } context)
            WriteContext(w, context.Items);
    }

    private static HandleProxyBindingUpdate ReadPbu(PayloadReader r, bool withContext)
    {
        var pbu = new ProxyBindingUpdate(r.Address(), (ushort)r.Int(), TimeSpan.FromTicks(r.Long()), r.String(), r.Prefixes(),
            (HandoffIndicator)r.Byte(), (AccessTechnologyType)r.Byte(), r.NullableString(), r.NullableAddress(), r.NullableTimestamp());
        var mn = r.String(); var enabled = r.Bool(); var count = r.Int(); var atts = r.Strings(); var max = r.Long(); var sessions = r.Int();
        var policy = new MobileNodePolicy(mn, enabled, count,
            atts is ["*"] ? null : atts.Select(a => (AccessTechnologyType)byte.Parse(a)).ToImmutableHashSet(),
            max < 0 ? null : TimeSpan.FromTicks(max), sessions);
        var receivedAt = r.Long();
        if (withContext && r.NullableAddress() is { } nextMag)
            pbu = pbu with { Context = new ReflectedContext(nextMag, ReadContext(r, "pbu.v2")) };
        return new HandleProxyBindingUpdate(pbu, policy, receivedAt);
    }
}
