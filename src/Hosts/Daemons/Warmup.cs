// Runs one synthetic mobile node through the pure code a daemon uses for an attachment, a handover and
// a de-registration, before the daemon serves. With tiered compilation off every method is compiled
// fully optimised on its first call; doing those calls here moves that one-off cost (measured ~100 ms
// on the first handover a fresh MAG saw) out of the first real node's handover. Nothing here touches
// the network, the journal or the actors.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Hosts.Daemons;

public static class Warmup
{
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:ffff::1");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:ffff::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:ffff::3");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:ffff:1::/64");
    private static readonly byte[] NodeMac = [0x02, 0, 0, 0, 0xff, 0xff];
    private static readonly byte[] RouterMac = [0x02, 0, 0x5e, 0, 0xff, 0xff];

    /// <summary>
    /// The namespaces of the code an LMA runs per PBU, its dataplane and its endpoints (not the MAG's actors, capture or fuzzing;
    /// the MAG daemon's few types in Hosts.Daemons come along).
    /// </summary>
    internal static readonly string[] LmaNamespaces =
    [
        "Pmip6Akka.Actors.Lma", "Pmip6Akka.Actors.Persistence", "Pmip6Akka.Actors.Protocol", "Pmip6Akka.Actors.Dataplane",
        "Pmip6Akka.Actors.Observability", "Pmip6Akka.Dataplane.Wire", "Pmip6Akka.Dataplane.Linux", "Pmip6Akka.Dataplane.Forwarding",
        "Pmip6Akka.Dataplane.Security", "Pmip6Akka.Hosts.Daemons", "Pmip6Akka.Hosts.Http",
    ];

    /// <summary>
    /// Compiles the LMA's own code (<see cref="LmaNamespaces"/>) ahead of its first call: ~5,500 methods, about a second of one
    /// core. How many, how long it took, and what stopped it (null: nothing; an optimisation, so the daemon only warns).
    /// </summary>
    public static (int Methods, TimeSpan Took, string? Error) CompileLmaPath()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var types = new[] { typeof(BindingBucket).Assembly, typeof(Ipv6Address).Assembly, typeof(Warmup).Assembly }
                .SelectMany(a => a.GetTypes())
                .Where(t => !t.IsNested && t.Namespace is { } ns && LmaNamespaces.Any(n => ns == n || ns.StartsWith(n + ".", StringComparison.Ordinal))
                            && !ns.StartsWith("Pmip6Akka.Dataplane.Wire.Fuzzing", StringComparison.Ordinal));
            return (Compile(types), started.Elapsed, null);
        }
        catch (Exception e) // reflection over our own assemblies: not expected to fail
        {
            return (0, started.Elapsed, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Compiles every non-generic method with a body declared by <paramref name="types"/> and their nested types; how many.</summary>
    public static int Compile(IEnumerable<Type> types)
    {
        const System.Reflection.BindingFlags declared = System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Instance
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        var compiled = 0;
        var pending = new Stack<Type>(types);
        while (pending.TryPop(out var type))
        {
            foreach (var nested in type.GetNestedTypes(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
                pending.Push(nested);
            if (type.ContainsGenericParameters)
                continue;
            foreach (var method in type.GetMethods(declared).Cast<System.Reflection.MethodBase>().Concat(type.GetConstructors(declared)))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || method.GetMethodBody() is null)
                    continue;
                try
                {
                    System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    compiled++;
                }
                catch (Exception)
                {
                    // not compilable ahead (one the runtime will not prepare without its caller): compiled on first call as before
                }
            }
        }
        return compiled;
    }

    /// <summary>Returns how many synthetic registrations ran (all must succeed, else the code under warm-up is broken).</summary>
    public static int Run()
    {
        const string mn = "warmup@pmip6.invalid";
        var now = DateTimeOffset.UtcNow;
        var buffer = new byte[MobilityHeader.MaxLength];
        var policy = new MobileNodePolicy(mn);
        var binding = BindingState.Empty(mn);
        var ok = 0;

        // Attach at MAG 1 (access link, session, PBU on the wire, LMA decision, PBA back, RA out).
        var access = AccessLinkState.Empty.OnLink(1, "warm1", true, false, RouterMac, now).State;
        access = access.OnProbeTimer(now.AddSeconds(1)).State;
        access = access.OnNodeSeen(1, NodeMac, AccessLink.LinkLocalOf(NodeMac), true, _ => mn, now).State;
        var attachment = new Attachment(mn, Convert.ToHexString(NodeMac), AccessTechnologyType.Ieee8023, HandoffIndicator.HandoffStateUnknown, AccessLink.LinkLocalOf(NodeMac));
        ok += Register(attachment, Mag1, ref binding, policy, buffer, now, ref access, out _, out var session);

        // Handover: the link goes away at MAG 1 (de-registration), the node appears at MAG 2.
        access = access.OnLink(1, "warm1", false, true, RouterMac, now).State;
        (_, var effects) = session.Detach(now);
        foreach (var effect in effects)
            if (effect is MagEffect.SendPbu send && send.Pbu.TryWrite(buffer, out var length) && LmaSide(buffer.AsSpan(0, length), Mag1, ref binding, policy, now, buffer, out _))
                ok++;
        access = access.OnLink(2, "warm2", true, false, RouterMac, now).State;
        access = access.OnNodeSeen(2, NodeMac, AccessLink.LinkLocalOf(NodeMac), false, _ => mn, now).State;
        ok += Register(attachment, Mag2, ref binding, policy, buffer, now, ref access, out var forwarder, out _);

        // One packet each way through the tunnel rules, and an RS through the ND decoder.
        Span<byte> packet = stackalloc byte[48];
        packet[0] = 0x60;
        packet[5] = 8;
        Hnp.Address.Write(packet[8..]);
        Lma.Write(packet[24..]);
        forwarder.Encapsulate(packet, out _);
        forwarder.Decapsulate(packet, Lma);
        var rs = NdWriter.RouterSolicitation(buffer);
        rs.SourceLinkLayerAddress(NodeMac);
        if (rs.TryFinish(AccessLink.LinkLocalOf(NodeMac), Lma, out var rsLength) && NdMessage.TryDecode(buffer.AsSpan(0, rsLength), out _, out _))
            ok++;
        return ok;
    }

    /// <summary>
    /// The LMA's flow-move path (flow mobility on), measured cold at ~45 ms on the first `flow move` after start in the lab:
    /// a flow classified, listed and moved through the HTTP handler (its answer stubbed), pinned and unpinned in a flow table of
    /// its own, the entity's move decision, and the flow-routed event through the actor system's serializer and back.
    /// Returns 1 when the move was answered and the event read back equal.
    /// </summary>
    public static int RunFlows(Akka.Actor.ActorSystem system)
    {
        const string mn = "warmup@pmip6.invalid";
        var tunnels = new TunnelTable();
        tunnels.Set(Hnp, Mag1);
        var table = new FlowTable(tunnels, FlowTableSettings.Default with { MaxFlows = 16 });
        var packet = new byte[Ipv6Packet.HeaderLength + 16];
        packet[0] = 0x60;
        packet[5] = 16;
        packet[6] = IpProtocol.Udp;
        packet[7] = 64;
        Lma.Write(packet.AsSpan(8));
        new Ipv6Address(Hnp.Address.Value | 1).Write(packet.AsSpan(24));
        packet[Ipv6Packet.HeaderLength + 1] = 9;
        packet[Ipv6Packet.HeaderLength + 3] = 9;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        table.Classify(packet, now, out _);
        if (table.Snapshot(now) is not [var flow, ..])
            return 0;
        var reply = Http.FlowEndpoints.Move(mn, flow.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Mag2.ToString(), table,
            move => Task.FromResult(new FlowRouteAnswer(move.MobileNodeId, 1, null))).GetAwaiter().GetResult();
        table.Pin(flow.Key, tunnels.Endpoint(Mag2), now);
        table.Classify(packet, now, out _);
        table.Pin(flow.Key, null, now);
        FlowMobilityState.Empty(mn).DecideMove(BindingState.Empty(mn), flow.Key, Mag2, FlowMoveReason.Command, DateTimeOffset.UtcNow,
            new FlowMobilitySettings { Enabled = true });
        var routed = new FlowRouted(mn, 1, 1, flow.Key, FlowMoveReason.Command, DateTimeOffset.UtcNow);
        var serializer = system.Serialization.FindSerializerFor(routed);
        var back = system.Serialization.Deserialize(serializer.ToBinary(routed), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, routed));
        return reply.Status == 200 && Equals(back, routed) ? 1 : 0;
    }

    private static int Register(Attachment attachment, Ipv6Address mag, ref BindingState binding, MobileNodePolicy policy, byte[] buffer,
        DateTimeOffset now, ref AccessLinkState access, out TunnelForwarder forwarder, out MagSessionState session)
    {
        forwarder = new TunnelForwarder(TunnelRole.Gateway, new TunnelTable(), new ForwardingCounters());
        (session, var effects) = MagSessionState.Attach(attachment, mag, 7, now, MagSettings.Default);
        foreach (var effect in effects)
        {
            if (effect is not MagEffect.SendPbu send || !send.Pbu.TryWrite(buffer, out var length))
                continue;
            if (!LmaSide(buffer.AsSpan(0, length), mag, ref binding, policy, now, buffer, out var pbaLength))
                return 0;
            // The MAG decodes the PBA as MagNode does and hands it to the session.
            if (!MobilityHeader.TryDecode(buffer.AsSpan(0, pbaLength), out var mh, out _) || !BindingAcknowledgement.TryDecode(mh, out var ba, out _))
                return 0;
            var prefixes = ImmutableArray.CreateBuilder<Ipv6Prefix>();
            foreach (var hnp in ba.Options.OfType(MobilityOptionType.HomeNetworkPrefix))
                prefixes.Add(HomeNetworkPrefixOption.Read(hnp.Data));
            ba.Options.TryGetMobileNodeIdentifier(out var id);
            var pba = new ProxyBindingAcknowledgement(Lma, ba.Status, ba.Sequence, ba.Lifetime, id.ToString(), prefixes.ToImmutable(),
                ba.Options.HandoffIndicator, ba.Options.AccessTechnologyType, null, ba.Options.LinkLocalAddress, ba.Options.Timestamp);
            (session, _) = session.OnAcknowledgement(pba, now);
            var step = access.OnSession(attachment.MobileNodeId, session.Phase, session.Prefixes, session.GrantedLifetime, now);
            access = step.State;
            foreach (var a in step.Effects)
            {
                if (a is AccessEffect.Advertise advertise && AccessLink.TryWriteAdvertisement(buffer, advertise, TimeSpan.FromMinutes(30), 1460, out var ra))
                    NdMessage.TryDecode(buffer.AsSpan(0, ra), out _, out _);
                if (a is AccessEffect.InstallRoutes install)
                    foreach (var prefix in install.Prefixes)
                        forwarder.Table.Set(prefix, Lma);
            }
            access.OnAdvertiseTimer(now);
            return session.Phase == MagSessionPhase.Registered ? 1 : 0;
        }
        return 0;
    }

    private static bool LmaSide(ReadOnlySpan<byte> pbu, Ipv6Address mag, ref BindingState binding, MobileNodePolicy policy, DateTimeOffset now,
        byte[] buffer, out int pbaLength)
    {
        pbaLength = 0;
        if (!MobilityHeader.TryDecode(pbu, out var mh, out _) || !BindingUpdate.TryDecode(mh, out var bu, out _)
            || !ProxyBindingUpdate.TryFrom(bu, mag, out var decoded, out _))
            return false;
        var decision = binding.Decide(decoded!, policy, now, mayDefer: false);
        if (decision is BindingDecision.NeedPrefixes)
            decision = binding.Decide(decoded!, policy, now, assignedPrefixes: [Hnp], mayDefer: false);
        if (decision is not BindingDecision.Accept accept)
            return false;
        foreach (var e in accept.Events)
            binding = binding.Apply(e);
        return accept.Reply.TryWrite(buffer, out pbaLength);
    }
}
