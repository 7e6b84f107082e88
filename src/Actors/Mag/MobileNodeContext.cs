// Context Reflector, MAG side (issue 7): the per-MN context a MAG hands over when the node leaves
// for a MAG it knows (a handover hint) and the contexts it receives, reflected by the LMA, for nodes
// about to arrive. Pure: the MagNode actor owns the clock and the timers.
//
// The features and their blobs (Context Data items, docs/PROTOCOL.md):
//   AAA session state       version 1 (8), authorized-at (64, Unix ms), valid-for (32, s)
//   QoS profile             version 1 (8), traffic class (8), downlink kbit/s (32), uplink kbit/s (32)
//   Accounting counters     version 1 (8), attached time (64, ms), handovers (32)
//   Header compression      opaque: carried on unchanged (this MAG runs no compressor of its own)
using System.Buffers.Binary;
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

/// <summary>What the authorisation step (AAA) established for the node, and until when it holds.</summary>
public sealed record AaaSession(DateTimeOffset AuthorizedAt, TimeSpan ValidFor)
{
    public const int Length = 13;

    public bool IsValid(DateTimeOffset now) => now < AuthorizedAt + ValidFor;
}

/// <summary>The node's QoS profile: what the access link grants it (0 = no limit).</summary>
public sealed record QosProfile(byte TrafficClass, uint DownlinkKbps, uint UplinkKbps)
{
    public const int Length = 10;
}

/// <summary>Accounting carried from MAG to MAG: the node's attached time and handovers so far.</summary>
public sealed record AccountingCounters(TimeSpan AttachedTime, uint Handovers)
{
    public const int Length = 13;

    public static readonly AccountingCounters Zero = new(TimeSpan.Zero, 0);
}

/// <summary>The context a MAG keeps for one node and hands over in its de-registration.</summary>
public sealed record MobileNodeContext(AaaSession? Aaa, QosProfile? Qos, AccountingCounters Accounting, ImmutableArray<byte>? HeaderCompression)
{
    private const byte Version = 1;

    public ImmutableArray<ContextBlob> ToItems()
    {
        var items = ImmutableArray.CreateBuilder<ContextBlob>();
        if (Aaa is { } aaa)
        {
            var b = new byte[AaaSession.Length];
            b[0] = Version;
            BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(1), aaa.AuthorizedAt.ToUnixTimeMilliseconds());
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(9), (uint)Math.Clamp(aaa.ValidFor.TotalSeconds, 0, uint.MaxValue));
            items.Add(new ContextBlob(ContextFeature.AaaSessionState, [.. b]));
        }
        if (Qos is { } qos)
        {
            var b = new byte[QosProfile.Length];
            b[0] = Version;
            b[1] = qos.TrafficClass;
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(2), qos.DownlinkKbps);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(6), qos.UplinkKbps);
            items.Add(new ContextBlob(ContextFeature.QosProfile, [.. b]));
        }
        var a = new byte[AccountingCounters.Length];
        a[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(a.AsSpan(1), (long)Accounting.AttachedTime.TotalMilliseconds);
        BinaryPrimitives.WriteUInt32BigEndian(a.AsSpan(9), Accounting.Handovers);
        items.Add(new ContextBlob(ContextFeature.AccountingCounters, [.. a]));
        if (HeaderCompression is { } hc)
            items.Add(new ContextBlob(ContextFeature.HeaderCompressionState, hc));
        return items.ToImmutable();
    }

    /// <summary>
    /// Reads the items of a reflected context. An item of a known feature with a bad blob fails with its
    /// name; items of features we do not know are skipped (another MAG may know more than we do).
    /// </summary>
    public static bool TryFrom(ImmutableArray<ContextBlob> items, out MobileNodeContext context, out string? error)
    {
        AaaSession? aaa = null;
        QosProfile? qos = null;
        var accounting = AccountingCounters.Zero;
        ImmutableArray<byte>? hc = null;
        error = null;
        foreach (var item in items)
        {
            var b = item.Data.AsSpan();
            switch (item.Feature)
            {
                case ContextFeature.AaaSessionState when b.Length == AaaSession.Length && b[0] == Version:
                    aaa = new AaaSession(DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(b[1..])),
                        TimeSpan.FromSeconds(BinaryPrimitives.ReadUInt32BigEndian(b[9..])));
                    break;
                case ContextFeature.QosProfile when b.Length == QosProfile.Length && b[0] == Version:
                    qos = new QosProfile(b[1], BinaryPrimitives.ReadUInt32BigEndian(b[2..]), BinaryPrimitives.ReadUInt32BigEndian(b[6..]));
                    break;
                case ContextFeature.AccountingCounters when b.Length == AccountingCounters.Length && b[0] == Version:
                    var ms = BinaryPrimitives.ReadInt64BigEndian(b[1..]);
                    accounting = new AccountingCounters(TimeSpan.FromMilliseconds(Math.Max(0, ms)), BinaryPrimitives.ReadUInt32BigEndian(b[9..]));
                    break;
                case ContextFeature.HeaderCompressionState:
                    hc = item.Data;
                    break;
                case ContextFeature.AaaSessionState or ContextFeature.QosProfile or ContextFeature.AccountingCounters:
                    error = $"{item.Feature} item of {b.Length} octets (version {(b.IsEmpty ? 0 : b[0])}) is not one we read";
                    context = new MobileNodeContext(null, null, AccountingCounters.Zero, null);
                    return false;
            }
        }
        context = new MobileNodeContext(aaa, qos, accounting, hc);
        return true;
    }
}

/// <summary>A context the LMA reflected to this MAG for a node about to arrive.</summary>
public sealed record ReflectedArrival(string MobileNodeId, ImmutableArray<Ipv6Prefix> Prefixes, MobileNodeContext Context, ushort Sequence,
    DateTimeOffset ReceivedAt, DateTimeOffset ExpiresAt);

/// <summary>The next MAG's store of reflected contexts: bounded, expiring, one per node (the newest wins).</summary>
public sealed class ReflectedContextStore(int capacity)
{
    private readonly Dictionary<string, ReflectedArrival> _arrivals = new(StringComparer.Ordinal);

    public int Count => _arrivals.Count;

    /// <summary>False when the store is full of live contexts of other nodes (the LMA then falls back).</summary>
    public bool TryStore(ReflectedArrival arrival, DateTimeOffset now)
    {
        if (!_arrivals.ContainsKey(arrival.MobileNodeId) && _arrivals.Count >= capacity)
        {
            Expire(now);
            if (_arrivals.Count >= capacity)
                return false;
        }
        _arrivals[arrival.MobileNodeId] = arrival;
        return true;
    }

    /// <summary>The node's live context, removed from the store: it is used once.</summary>
    public ReflectedArrival? Take(string mobileNodeId, DateTimeOffset now) =>
        _arrivals.Remove(mobileNodeId, out var arrival) && now < arrival.ExpiresAt ? arrival : null;

    public int Expire(DateTimeOffset now)
    {
        var gone = _arrivals.Where(a => now >= a.Value.ExpiresAt).Select(a => a.Key).ToList();
        foreach (var mn in gone)
            _arrivals.Remove(mn);
        return gone.Count;
    }
}
