// The MAG's view of its access links (RFC 5213 §6.9.1.1, §6.8): one point-to-point link per mobile
// node. A link that comes up is probed until the node on it speaks (its first Router or Neighbor
// Solicitation carries its link-layer address, which the policy maps to an MN-ID); the node is then
// attached. Once its session is registered the node's prefixes are routed onto the link and Router
// Advertisements carry them with the binding's remaining lifetime. A link that goes down or away
// (the node moved to another MAG), or a NUD failure, detaches the node. Pure: events in, effects out.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Mag;

public abstract record AccessEffect
{
    /// <summary>An Echo Request out of the link: to all nodes (who is there?) or to the node (still there?).</summary>
    public sealed record Probe(int IfIndex, Ipv6Address? Destination = null) : AccessEffect;
    public sealed record Attach(int IfIndex, string MobileNodeId, byte[] LinkLayerAddress, Ipv6Address LinkLocal) : AccessEffect;
    public sealed record Detach(int IfIndex, string MobileNodeId, string Why) : AccessEffect;
    public sealed record InstallRoutes(int IfIndex, string MobileNodeId, ImmutableArray<Ipv6Prefix> Prefixes) : AccessEffect;
    public sealed record RemoveRoutes(int IfIndex, string MobileNodeId, ImmutableArray<Ipv6Prefix> Prefixes) : AccessEffect;
    /// <summary>A Router Advertisement for the node's prefixes, valid for <see cref="Lifetime"/>.</summary>
    public sealed record Advertise(int IfIndex, Ipv6Address Destination, byte[] RouterLinkLayerAddress, ImmutableArray<Ipv6Prefix> Prefixes, TimeSpan Lifetime) : AccessEffect;
    public sealed record Refused(int IfIndex, string LinkLayerId, string Why) : AccessEffect;
}

/// <summary>One access link and the node on it.</summary>
public sealed record AccessPort(int IfIndex, string Name, byte[] RouterLinkLayerAddress, bool Usable)
{
    public string? MobileNodeId { get; init; }
    public byte[]? NodeLinkLayerAddress { get; init; }
    public Ipv6Address NodeLinkLocal { get; init; }
    public ImmutableArray<Ipv6Prefix> Prefixes { get; init; } = [];
    /// <summary>Shared-prefix flow mobility: the node's other interfaces' prefixes, advertised here too (routed by the MAG itself).</summary>
    public ImmutableArray<Ipv6Prefix> SharedPrefixes { get; init; } = [];
    public DateTimeOffset ExpiresAt { get; init; }
    public int Probes { get; init; }
    public DateTimeOffset NextProbeAt { get; init; }
    /// <summary>When the node last spoke (solicitation or probe answer): its liveness.</summary>
    public DateTimeOffset LastHeard { get; init; }
    public bool Registered => !Prefixes.IsEmpty;
}

public sealed record AccessLinkState(ImmutableDictionary<int, AccessPort> Ports)
{
    /// <summary>Probes sent on a link before the MAG waits for the node's own solicitation.</summary>
    public const int MaxProbes = 12;

    /// <summary>Wait after the first probe; doubles per probe up to <see cref="MaxProbeInterval"/> (10, 20, 40 ms ... about 6 s in all).</summary>
    public static readonly TimeSpan FirstProbeInterval = TimeSpan.FromMilliseconds(10);
    public static readonly TimeSpan MaxProbeInterval = TimeSpan.FromSeconds(1);

    private static DateTimeOffset NextProbe(DateTimeOffset now, int probesSent) =>
        now + TimeSpan.FromTicks(Math.Min(MaxProbeInterval.Ticks, FirstProbeInterval.Ticks << Math.Min(probesSent - 1, 20)));

    public static readonly AccessLinkState Empty = new(ImmutableDictionary<int, AccessPort>.Empty);

    public AccessPort? PortOf(string mobileNodeId) => Ports.Values.FirstOrDefault(p => p.MobileNodeId == mobileNodeId);

    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnLink(int ifIndex, string name, bool usable, bool gone, byte[] routerMac,
        DateTimeOffset now = default)
    {
        Ports.TryGetValue(ifIndex, out var port);
        if (gone || !usable)
        {
            if (port is null)
                return (this, []);
            var effects = Leave(port, gone ? "access link removed" : "access link down");
            return (gone ? new(Ports.Remove(ifIndex)) : new(Ports.SetItem(ifIndex, new AccessPort(ifIndex, name, routerMac, false))), effects);
        }
        if (port is { Usable: true })
            return (this, []);
        // Up (again): whoever is there must show itself; probe now, the actor repeats until it answers.
        var fresh = new AccessPort(ifIndex, name, routerMac.Length > 0 ? routerMac : port?.RouterLinkLayerAddress ?? [], true)
        {
            Probes = 1,
            NextProbeAt = NextProbe(now, 1),
        };
        return (new(Ports.SetItem(ifIndex, fresh)), [new AccessEffect.Probe(ifIndex)]);
    }

    /// <summary>The actor's probe timer: probe again every link still waiting for its node whose back-off has passed.</summary>
    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnProbeTimer(DateTimeOffset now = default)
    {
        var waiting = Ports.Values.Where(p => p.Usable && p.MobileNodeId is null && p.Probes < MaxProbes && p.NextProbeAt <= now).ToList();
        if (waiting.Count == 0)
            return (this, []);
        var ports = Ports;
        foreach (var p in waiting)
            ports = ports.SetItem(p.IfIndex, p with { Probes = p.Probes + 1, NextProbeAt = NextProbe(now, p.Probes + 1) });
        return (new(ports), [.. waiting.Select(p => (AccessEffect)new AccessEffect.Probe(p.IfIndex))]);
    }

    public bool AnyWaiting => Ports.Values.Any(p => p.Usable && p.MobileNodeId is null && p.Probes < MaxProbes);

    /// <summary>When the next probe is due (the actor sets its timer to it), or null when no link waits.</summary>
    public DateTimeOffset? NextProbeDue =>
        Ports.Values.Where(p => p.Usable && p.MobileNodeId is null && p.Probes < MaxProbes).Select(p => (DateTimeOffset?)p.NextProbeAt).Min();

    /// <summary>A node spoke on <paramref name="ifIndex"/>; <paramref name="identify"/> maps its link-layer address to an MN-ID (policy).</summary>
    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnNodeSeen(int ifIndex, byte[] nodeMac, Ipv6Address linkLocal,
        bool solicitedRouter, Func<byte[], string?> identify, DateTimeOffset now)
    {
        if (!Ports.TryGetValue(ifIndex, out var port) || !port.Usable)
            return (this, []);
        if (port.MobileNodeId is not null && port.NodeLinkLayerAddress is { } known && known.AsSpan().SequenceEqual(nodeMac))
        {
            var updated = port with { NodeLinkLocal = linkLocal.IsLinkLocal ? linkLocal : port.NodeLinkLocal, LastHeard = now };
            var state = new AccessLinkState(Ports.SetItem(ifIndex, updated));
            // A solicitation from a registered node is answered at once (RFC 4861 §6.2.6).
            return solicitedRouter && updated.Registered ? (state, [Advertise(updated, now)]) : (state, []);
        }
        var effects = ImmutableArray.CreateBuilder<AccessEffect>();
        if (port.MobileNodeId is not null)
            effects.AddRange(Leave(port, "another node appeared on the link"));
        var mn = identify(nodeMac);
        var linkLayerId = Convert.ToHexString(nodeMac);
        if (mn is null)
        {
            effects.Add(new AccessEffect.Refused(ifIndex, linkLayerId, "no policy profile lists this link-layer address"));
            return (new(Ports.SetItem(ifIndex, new AccessPort(ifIndex, port.Name, port.RouterLinkLayerAddress, true) { Probes = MaxProbes })), effects.ToImmutable());
        }
        var other = PortOf(mn);
        var ports = Ports;
        if (other is not null && other.IfIndex != ifIndex)
        {
            effects.AddRange(Leave(other, "the node re-appeared on another link"));
            ports = ports.SetItem(other.IfIndex, new AccessPort(other.IfIndex, other.Name, other.RouterLinkLayerAddress, other.Usable) { Probes = MaxProbes });
        }
        var attached = new AccessPort(ifIndex, port.Name, port.RouterLinkLayerAddress, true)
        {
            MobileNodeId = mn,
            NodeLinkLayerAddress = nodeMac,
            NodeLinkLocal = linkLocal,
            Probes = port.Probes,
            LastHeard = now,
        };
        effects.Add(new AccessEffect.Attach(ifIndex, mn, nodeMac, linkLocal));
        return (new(ports.SetItem(ifIndex, attached)), effects.ToImmutable());
    }

    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnNeighborFailed(int ifIndex, Ipv6Address address)
    {
        if (!Ports.TryGetValue(ifIndex, out var port) || port.MobileNodeId is null)
            return (this, []);
        var ours = address == port.NodeLinkLocal || port.Prefixes.Any(p => p.Contains(address));
        if (!ours)
            return (this, []);
        var effects = Leave(port, "neighbour unreachable (NUD failed)");
        return (new(Ports.SetItem(ifIndex, new AccessPort(ifIndex, port.Name, port.RouterLinkLayerAddress, port.Usable) { Probes = MaxProbes })), effects);
    }

    /// <summary>
    /// Liveness of attached nodes (issue 6: detach as early as possible when a node stops answering, not only on
    /// link down): a node silent for <paramref name="interval"/> is asked directly (unicast Echo Request); one
    /// silent for <paramref name="timeout"/> is detached, like a Neighbor Unreachability Detection failure.
    /// </summary>
    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnLivenessTimer(DateTimeOffset now, TimeSpan interval, TimeSpan timeout)
    {
        var effects = ImmutableArray.CreateBuilder<AccessEffect>();
        var ports = Ports;
        foreach (var port in Ports.Values)
        {
            if (port.MobileNodeId is null || !port.Usable)
                continue;
            var silent = now - port.LastHeard;
            if (silent >= timeout)
            {
                effects.AddRange(Leave(port, $"no answer for {silent.TotalSeconds:F1} s (NUD)"));
                // Whoever turns up on the link later is looked for again.
                ports = ports.SetItem(port.IfIndex, new AccessPort(port.IfIndex, port.Name, port.RouterLinkLayerAddress, true)
                {
                    Probes = 1,
                    NextProbeAt = NextProbe(now, 1),
                });
            }
            else if (silent >= interval)
                effects.Add(new AccessEffect.Probe(port.IfIndex, port.NodeLinkLocal.IsLinkLocal ? port.NodeLinkLocal : null));
        }
        return effects.Count == 0 ? (this, []) : (new(ports), effects.ToImmutable());
    }

    /// <summary>The node's session changed (a SessionReport from the MAG).</summary>
    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnSession(string mobileNodeId, MagSessionPhase phase,
        ImmutableArray<Ipv6Prefix> prefixes, TimeSpan lifetime, DateTimeOffset now)
    {
        var port = PortOf(mobileNodeId);
        if (port is null)
            return (this, []);
        switch (phase)
        {
            case MagSessionPhase.Registered or MagSessionPhase.Refreshing or MagSessionPhase.Anticipated when !prefixes.IsDefaultOrEmpty:
            {
                var updated = port with { Prefixes = prefixes, ExpiresAt = now + lifetime };
                var effects = ImmutableArray.CreateBuilder<AccessEffect>();
                if (port.Registered && !port.Prefixes.SequenceEqual(prefixes))
                    effects.Add(new AccessEffect.RemoveRoutes(port.IfIndex, mobileNodeId, [.. port.Prefixes.Except(prefixes)]));
                if (!port.Registered || !port.Prefixes.SequenceEqual(prefixes))
                    effects.Add(new AccessEffect.InstallRoutes(port.IfIndex, mobileNodeId, prefixes));
                effects.Add(Advertise(updated, now));
                return (new(Ports.SetItem(port.IfIndex, updated)), effects.ToImmutable());
            }
            case MagSessionPhase.Closed or MagSessionPhase.Failed:
            {
                ImmutableArray<AccessEffect> effects = port.Registered ? [new AccessEffect.RemoveRoutes(port.IfIndex, mobileNodeId, port.Prefixes)] : [];
                // The node stays known on its link (no new attach loop) but unregistered.
                return (new(Ports.SetItem(port.IfIndex, port with { Prefixes = [], SharedPrefixes = [] })), effects);
            }
            default:
                return (this, []);
        }
    }

    /// <summary>
    /// Shared-prefix flow mobility: the node's other prefixes to advertise on its link besides its own. A registered node hears
    /// the new set at once; a prefix that leaves the set is no longer advertised and ages out on the node by its last lifetime
    /// (it may be the one an outage left the node: it must not be withdrawn here).
    /// </summary>
    public (AccessLinkState State, ImmutableArray<AccessEffect> Effects) OnSharedPrefixes(string mobileNodeId, ImmutableArray<Ipv6Prefix> prefixes, DateTimeOffset now)
    {
        if (PortOf(mobileNodeId) is not { } port)
            return (this, []);
        var updated = port with { SharedPrefixes = prefixes.IsDefault ? [] : prefixes };
        var state = new AccessLinkState(Ports.SetItem(port.IfIndex, updated));
        return updated.Usable && updated.Registered && !updated.SharedPrefixes.IsEmpty ? (state, [Advertise(updated, now)]) : (state, []);
    }

    /// <summary>The periodic unsolicited Router Advertisement to every registered node.</summary>
    public ImmutableArray<AccessEffect> OnAdvertiseTimer(DateTimeOffset now) =>
        [.. Ports.Values.Where(p => p.Usable && p.Registered).Select(p => (AccessEffect)Advertise(p, now))];

    private static AccessEffect.Advertise Advertise(AccessPort port, DateTimeOffset now)
    {
        var left = port.ExpiresAt - now;
        var destination = port.NodeLinkLocal.IsLinkLocal ? port.NodeLinkLocal : AllNodes;
        var prefixes = port.SharedPrefixes.IsEmpty ? port.Prefixes : [.. port.Prefixes.Concat(port.SharedPrefixes).Distinct()];
        return new AccessEffect.Advertise(port.IfIndex, destination, port.RouterLinkLayerAddress, prefixes, left < TimeSpan.Zero ? TimeSpan.Zero : left);
    }

    private static ImmutableArray<AccessEffect> Leave(AccessPort port, string why)
    {
        if (port.MobileNodeId is null)
            return [];
        var effects = ImmutableArray.CreateBuilder<AccessEffect>();
        if (port.Registered)
            effects.Add(new AccessEffect.RemoveRoutes(port.IfIndex, port.MobileNodeId, port.Prefixes));
        effects.Add(new AccessEffect.Detach(port.IfIndex, port.MobileNodeId, why));
        return effects.ToImmutable();
    }

    public static readonly Ipv6Address AllNodes = Ipv6Address.Parse("ff02::1");
}
