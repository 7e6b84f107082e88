// Binary layouts of the flow-mobility events, state and messages (issue 8); same rules as Pmip6Codecs:
// a shipped manifest's layout never changes.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using static Pmip6Akka.Actors.Persistence.Pmip6Serializer;

namespace Pmip6Akka.Actors.Persistence;

internal static class FlowCodecs
{
    public static readonly Codec[] All =
    [
        Make<FlowRouted>("flow-routed.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Int(e.RouteId); WriteKey(w, e.Key); w.Byte((byte)e.Reason); w.Long(e.At.UtcTicks);
            },
            r => new FlowRouted(r.String(), r.Int(), RouteId(r, "flow-routed.v1"), ReadKey(r), (FlowMoveReason)r.Byte(), At(r))),
        Make<FlowRouteRemoved>("flow-route-removed.v1", (w, e) =>
            {
                w.String(e.MobileNodeId); w.Int(e.SessionId); w.Int(e.RouteId); WriteKey(w, e.Key); w.Byte((byte)e.Reason); w.Long(e.At.UtcTicks);
            },
            r => new FlowRouteRemoved(r.String(), r.Int(), RouteId(r, "flow-route-removed.v1"), ReadKey(r), (FlowRouteRemoval)r.Byte(), At(r))),
        Make<FlowMobilityState>("flow-state.v1", (w, s) =>
            {
                // Announcements are not kept: they are derived from the sessions and sent afresh after recovery.
                w.String(s.MobileNodeId); w.Int(s.NextRouteId); w.Int(s.Routes.Count);
                foreach (var x in s.Routes)
                {
                    w.Int(x.RouteId); WriteKey(w, x.Key); w.Int(x.SessionId); w.Byte((byte)x.Reason); w.Long(x.At.UtcTicks);
                }
            },
            r =>
            {
                var mn = r.String();
                var next = RouteId(r, "flow-state.v1");
                var n = Pmip6Codecs.Count(r, "flow-state.v1", r.Int(), max: 1 << 16);
                var routes = ImmutableList.CreateBuilder<FlowRoute>();
                for (var i = 0; i < n; i++)
                {
                    var route = new FlowRoute(RouteId(r, "flow-state.v1"), ReadKey(r), r.Int(), (FlowMoveReason)r.Byte(), At(r));
                    // Written before keys with ports lost their flow label, two routes may now have one key: the later one
                    // stands (as Apply keeps it when the events are replayed).
                    routes.RemoveAll(x => x.Key == route.Key);
                    routes.Add(route);
                }
                return FlowMobilityState.Empty(mn) with { Routes = routes.ToImmutable(), NextRouteId = next };
            }),
        Make<RouteFlow>("route-flow.v1", (w, m) => { w.String(m.MobileNodeId); WriteKey(w, m.Key); w.Address(m.To); w.Byte((byte)m.Reason); },
            r => new RouteFlow(r.String(), ReadKey(r), r.Address(), (FlowMoveReason)r.Byte())),
        Make<FlowRouteAnswer>("flow-route-answer.v1", (w, m) => { w.String(m.MobileNodeId); w.Int(m.RouteId); w.NullableString(m.Error); },
            r => new FlowRouteAnswer(r.String(), RouteId(r, "flow-route-answer.v1"), r.NullableString())),
        Make<FlowMobilityAnswered>("flow-answered.v1", (w, m) => { w.String(m.MobileNodeId); w.Address(m.From); w.Int(m.Sequence); w.Byte((byte)m.Status); },
            r => new FlowMobilityAnswered(r.String(), r.Address(), RouteId(r, "flow-answered.v1"), (UpdateNotificationStatus)r.Byte())),
        Make<FlowExpired>("flow-expired.v1", (w, m) => { w.String(m.MobileNodeId); w.Int(m.RouteId); WriteKey(w, m.Key); },
            r => new FlowExpired(r.String(), RouteId(r, "flow-expired.v1"), ReadKey(r))),
        Make<GetFlowRoutes>("get-flow-routes.v1", (w, m) => w.String(m.MobileNodeId), r => new GetFlowRoutes(r.String())),
        Make<FlowRoutesView>("flow-routes.v1", (w, m) =>
            {
                w.String(m.MobileNodeId); w.Int(m.Routes.Length);
                foreach (var x in m.Routes)
                {
                    w.Int(x.RouteId); WriteKey(w, x.Key); w.Int(x.SessionId); w.Address(x.Via); w.Byte((byte)x.Reason); w.Long(x.At.UtcTicks);
                }
                w.Int(m.AnnouncedTo.Length);
                foreach (var mag in m.AnnouncedTo)
                    w.Address(mag);
            },
            r =>
            {
                var mn = r.String();
                var n = Pmip6Codecs.Count(r, "flow-routes.v1", r.Int(), max: 1 << 16);
                var routes = ImmutableArray.CreateBuilder<FlowRouteView>(n);
                for (var i = 0; i < n; i++)
                    routes.Add(new FlowRouteView(RouteId(r, "flow-routes.v1"), ReadKey(r), r.Int(), r.Address(), (FlowMoveReason)r.Byte(), At(r)));
                var m = Pmip6Codecs.Count(r, "flow-routes.v1", r.Int(), max: 1 << 10);
                var mags = ImmutableArray.CreateBuilder<Ipv6Address>(m);
                for (var i = 0; i < m; i++)
                    mags.Add(r.Address());
                return new FlowRoutesView(mn, routes.MoveToImmutable(), mags.MoveToImmutable());
            }),
    ];

    private static DateTimeOffset At(PayloadReader r) => new(r.Long(), TimeSpan.Zero);

    private static ushort RouteId(PayloadReader r, string manifest)
    {
        var v = r.Int();
        return v is >= 0 and <= ushort.MaxValue
            ? (ushort)v
            : throw new System.Runtime.Serialization.SerializationException($"Pmip6Serializer: corrupt '{manifest}' payload (16-bit value {v})");
    }

    /// <summary>The key: source, destination, flow label (0 when it has ports), next header, has-ports, then the two ports when it has them.</summary>
    private static void WriteKey(PayloadWriter w, FlowKey key)
    {
        w.Address(key.Source); w.Address(key.Destination); w.Long(key.FlowLabel); w.Byte(key.NextHeader); w.Bool(key.HasPorts);
        if (key.HasPorts) { w.Int(key.SourcePort); w.Int(key.DestinationPort); }
    }

    private static FlowKey ReadKey(PayloadReader r)
    {
        var source = r.Address(); var destination = r.Address(); var label = r.Long(); var nextHeader = r.Byte(); var hasPorts = r.Bool();
        if (label is < 0 or > Ipv6TrafficSelector.MaxFlowLabel)
            throw new System.Runtime.Serialization.SerializationException($"Pmip6Serializer: corrupt flow key (flow label {label})");
        ushort sourcePort = 0, destinationPort = 0;
        if (hasPorts)
        {
            var sp = r.Int(); var dp = r.Int();
            if (sp is < 0 or > ushort.MaxValue || dp is < 0 or > ushort.MaxValue)
                throw new System.Runtime.Serialization.SerializationException($"Pmip6Serializer: corrupt flow key (ports {sp}, {dp})");
            (sourcePort, destinationPort) = ((ushort)sp, (ushort)dp);
        }
        // Keys with ports carry no flow label since the label stopped being part of a transport flow's key; events written
        // before keep theirs and are read without it, so a recovered flow route matches the packets' keys again.
        return new FlowKey(source, destination, hasPorts ? 0u : (uint)label, nextHeader, sourcePort, destinationPort, hasPorts);
    }
}
