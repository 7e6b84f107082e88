// Every event, snapshot and cross-node message of the LMA round-trips through Pmip6Serializer
// with its versioned manifest.
using System.Collections.Immutable;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Persistence;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests.Lma;

public class BindingSerializationSpec
{
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a001::/64");
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address NextMag = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly DateTimeOffset T = new(2026, 11, 25, 12, 0, 0, 500, TimeSpan.Zero);
    private static readonly Pmip6Timestamp Stamp = Pmip6Timestamp.FromDateTimeOffset(T);

    private static T RoundTrip<T>(T value, string manifest) where T : class
    {
        var codecManifest = Manifest(value);
        Assert.Equal(manifest, codecManifest);
        return (T)Pmip6Serializer.Decode(Pmip6Serializer.Encode(value), manifest);
    }

    private static string Manifest(object value) => new Pmip6Serializer(null!).Manifest(value);

    [Fact]
    public void Binding_events_round_trip()
    {
        var registered = new SessionRegistered("mn1@pmip6.example", 3, RegistrationKind.Handover, [Hnp], Mag, AccessTechnologyType.Ieee80211,
            "020000000101", Ipv6Address.Parse("fe80::1"), T, TimeSpan.FromHours(1), Stamp, 65535);
        var back = RoundTrip(registered, "bce-registered.v1");
        Assert.Equal(registered with { Prefixes = [] }, back with { Prefixes = [] });
        Assert.Equal(registered.Prefixes.ToArray(), back.Prefixes.ToArray());

        var noOptions = registered with { LinkLayerId = null, LinkLocalAddress = null, Timestamp = null };
        Assert.Null(RoundTrip(noOptions, "bce-registered.v1").LinkLocalAddress);

        var deregistered = new SessionDeregistered("mn1@pmip6.example", 3, T, T.AddSeconds(10), Stamp);
        Assert.Equal(deregistered, RoundTrip(deregistered, "bce-deregistered.v1"));

        var removed = new SessionRemoved("mn1@pmip6.example", 3, RemovalReason.Revoked, T, [Hnp]);
        Assert.Equal(removed.ReleasedPrefixes.ToArray(), RoundTrip(removed, "bce-removed.v1").ReleasedPrefixes.ToArray());
    }

    [Fact]
    public void Binding_state_snapshot_round_trips()
    {
        var state = BindingState.Empty("mn1@pmip6.example")
            .Apply(new SessionRegistered("mn1@pmip6.example", 1, RegistrationKind.Initial, [Hnp], Mag, AccessTechnologyType.Ieee8023,
                null, null, T, TimeSpan.FromHours(1), Stamp, 7))
            .Apply(new SessionDeregistered("mn1@pmip6.example", 1, T, T.AddSeconds(10), Stamp));
        var back = RoundTrip(state, "bce-state.v1");
        Assert.Equal(state.NextSessionId, back.NextSessionId);
        var session = Assert.Single(back.Sessions);
        Assert.Equal(SessionState.AwaitingNewMag, session.State);
        Assert.Equal(T.AddSeconds(10), session.DeleteAt);
        Assert.Equal([Hnp], session.Prefixes.ToArray());
    }

    [Fact]
    public void A_bucket_snapshot_round_trips_every_mn_state()
    {
        var one = BindingState.Empty("mn1").Apply(new SessionRegistered("mn1", 1, RegistrationKind.Initial, [Hnp], Mag,
            AccessTechnologyType.Ieee8023, null, null, T, TimeSpan.FromHours(1), Stamp, 1));
        var two = BindingState.Empty("mn2");
        var cce = ContextReflectorState.Empty("mn1").Apply(new ContextCached("mn1", 1, [Hnp], Mag, NextMag,
            [new ContextBlob(ContextFeature.QosProfile, [1, 2, 3])], T, T.AddSeconds(10), 77, DownlinkMode.Buffer));
        var flows = FlowMobilityState.Empty("mn1").Apply(new FlowRouted("mn1", 1, 7,
            new Pmip6Akka.Dataplane.Forwarding.FlowKey(Mag, Hnp.Address, 0, 6, 80, 40000, true), FlowMoveReason.Loss, T));
        var back = RoundTrip(new BindingBucketSnapshot([one, two], [cce]) { Flows = [flows] }, "bce-bucket.v3");
        var route = Assert.Single(Assert.Single(back.Flows).Routes);
        Assert.Equal((7, flows.Routes[0].Key, 1, FlowMoveReason.Loss, T), ((int)route.RouteId, route.Key, route.SessionId, route.Reason, route.At));
        Assert.Equal((ushort)8, back.Flows[0].NextRouteId);
        Assert.Equal(["mn1", "mn2"], back.States.Select(s => s.MobileNodeId));
        Assert.Equal([Hnp], Assert.Single(back.States[0].Sessions).Prefixes.ToArray());
        var entry = Assert.Single(Assert.Single(back.Reflectors).Entries);
        Assert.Equal((NextMag, (ushort)77, DownlinkMode.Buffer, T.AddSeconds(10)), (entry.NextMag, entry.Sequence, entry.Downlink, entry.ExpiresAt));
        Assert.Equal(new ContextBlob(ContextFeature.QosProfile, [1, 2, 3]), Assert.Single(entry.Context));
    }

    [Fact]
    public void Snapshots_and_messages_written_before_the_Context_Reflector_still_read()
    {
        // v1 of both layouts is v2 less its trailing "no reflectors" / "no context" octet; v2 of the snapshot is
        // v3 less its trailing "no flow states" octet.
        var one = BindingState.Empty("mn1").Apply(new SessionRegistered("mn1", 1, RegistrationKind.Initial, [Hnp], Mag,
            AccessTechnologyType.Ieee8023, null, null, T, TimeSpan.FromHours(1), Stamp, 1));
        var v3 = Pmip6Serializer.Encode(new BindingBucketSnapshot([one], []));
        var snapshot = (BindingBucketSnapshot)Pmip6Serializer.Decode(v3[..^2], "bce-bucket.v1");
        Assert.Equal("mn1", Assert.Single(snapshot.States).MobileNodeId);
        Assert.Empty(snapshot.Reflectors);
        var v2 = (BindingBucketSnapshot)Pmip6Serializer.Decode(v3[..^1], "bce-bucket.v2");
        Assert.Equal("mn1", Assert.Single(v2.States).MobileNodeId);
        Assert.Empty(v2.Flows);

        var pbu = new ProxyBindingUpdate(Mag, 9, TimeSpan.Zero, "mn1", [Hnp], HandoffIndicator.HandoffStateUnknown, AccessTechnologyType.Ieee8023, null, null, Stamp);
        var message = Pmip6Serializer.Encode(new HandleProxyBindingUpdate(pbu, new MobileNodePolicy("mn1"), 5));
        var old = (HandleProxyBindingUpdate)Pmip6Serializer.Decode(message[..^1], "pbu.v1");
        Assert.Equal(9, old.Pbu.Sequence);
        Assert.Null(old.Pbu.Context);
    }

    [Fact]
    public void Mn_ids_map_to_a_bucket_that_is_stable_across_processes()
    {
        // Fixed values: a persistence id depends on them, so they must never change.
        Assert.Equal(BindingBuckets.Bucket("mn1@pmip6.example"), BindingBuckets.Bucket("mn1@pmip6.example"));
        Assert.Equal("193", BindingBuckets.EntityId("mn1@pmip6.example")); // FNV-1a 32 of the UTF-8 octets, mod 256 (961 mod 1024 before stop 23)
        Assert.InRange(BindingBuckets.Bucket(new string('x', 1000)), 0, BindingBuckets.Count - 1);
    }

    [Fact]
    public void Flow_mobility_events_and_messages_round_trip_and_a_corrupt_key_is_refused()
    {
        var key = new Pmip6Akka.Dataplane.Forwarding.FlowKey(Mag, Hnp.Address, 0, 17, 1, 65535, true);
        var portless = key with { HasPorts = false, SourcePort = 0, DestinationPort = 0, NextHeader = 50, FlowLabel = 0xFFFFF };
        // Written before keys with ports lost their flow label: read without it, so the route matches the packets' keys.
        Assert.Equal(key, RoundTrip(new FlowExpired("mn1", 3, key with { FlowLabel = 0xABCDE }), "flow-expired.v1").Key);
        Assert.Equal(new FlowRouted("mn1", 2, 65535, key, FlowMoveReason.Outage, T), RoundTrip(new FlowRouted("mn1", 2, 65535, key, FlowMoveReason.Outage, T), "flow-routed.v1"));
        Assert.Equal(new FlowRouteRemoved("mn1", 2, 1, portless, FlowRouteRemoval.Expired, T),
            RoundTrip(new FlowRouteRemoved("mn1", 2, 1, portless, FlowRouteRemoval.Expired, T), "flow-route-removed.v1"));
        Assert.Equal(new RouteFlow("mn1", key, NextMag, FlowMoveReason.Loss), RoundTrip(new RouteFlow("mn1", key, NextMag, FlowMoveReason.Loss), "route-flow.v1"));
        Assert.Equal(new FlowRouteAnswer("mn1", 0, "why"), RoundTrip(new FlowRouteAnswer("mn1", 0, "why"), "flow-route-answer.v1"));
        Assert.Equal(new FlowMobilityAnswered("mn1", Mag, 9, UpdateNotificationStatus.MobileNodeNotAttached),
            RoundTrip(new FlowMobilityAnswered("mn1", Mag, 9, UpdateNotificationStatus.MobileNodeNotAttached), "flow-answered.v1"));
        Assert.Equal(new FlowExpired("mn1", 3, key), RoundTrip(new FlowExpired("mn1", 3, key), "flow-expired.v1"));
        Assert.Equal(new GetFlowRoutes("mn1"), RoundTrip(new GetFlowRoutes("mn1"), "get-flow-routes.v1"));
        var view = RoundTrip(new FlowRoutesView("mn1", [new FlowRouteView(3, key, 2, NextMag, FlowMoveReason.Command, T)], [Mag, NextMag]), "flow-routes.v1");
        Assert.Equal((key, NextMag), (Assert.Single(view.Routes).Key, view.Routes[0].Via));
        Assert.Equal([Mag, NextMag], view.AnnouncedTo.ToArray());

        // A flow label wider than 20 bits cannot come from a packet: the row is corrupt.
        var bytes = Pmip6Serializer.Encode(new FlowExpired("mn1", 3, key with { FlowLabel = 0x100000 }));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => Pmip6Serializer.Decode(bytes, "flow-expired.v1"));
    }

    [Fact]
    public void Cross_node_messages_round_trip()
    {
        var pbu = new ProxyBindingUpdate(Mag, 9, TimeSpan.FromHours(1), "mn1@pmip6.example", [new Ipv6Prefix(default, 0)],
            HandoffIndicator.HandoffBetweenMagsForSameInterface, AccessTechnologyType.Ieee8023, "02", null, Stamp);
        var policy = new MobileNodePolicy("mn1@pmip6.example", true, 2, [AccessTechnologyType.Ieee8023], TimeSpan.FromMinutes(30), 3);
        var back = RoundTrip(new HandleProxyBindingUpdate(pbu, policy, 12345), "pbu.v2");
        Assert.Equal(pbu with { HomeNetworkPrefixes = [] }, back.Pbu with { HomeNetworkPrefixes = [] });
        Assert.Equal(policy.HomeNetworkPrefixCount, back.Policy.HomeNetworkPrefixCount);
        Assert.True(back.Policy.Allows(AccessTechnologyType.Ieee8023));
        Assert.False(back.Policy.Allows(AccessTechnologyType.Ieee80211));
        Assert.Equal(12345, back.ReceivedAtTimestamp);
        Assert.Equal(new RevokeBinding("mn1"), RoundTrip(new RevokeBinding("mn1"), "revoke.v1"));
        Assert.Equal(new GetBinding("mn1"), RoundTrip(new GetBinding("mn1"), "get-binding.v1"));
        var ack = new RevocationAcknowledged("mn1", 4, BindingRevocationStatus.Success, Mag);
        Assert.Equal(ack, RoundTrip(ack, "bra.v1"));
        var answered = new ContextReflectionAnswered("mn1", NextMag, 77, ContextReflectionStatus.InsufficientResources);
        Assert.Equal(answered, RoundTrip(answered, "cce-answered.v1"));

        var deregistration = pbu with
        {
            Lifetime = TimeSpan.Zero,
            Context = new ReflectedContext(NextMag, [new ContextBlob(ContextFeature.AaaSessionState, [9, 8]), new ContextBlob(ContextFeature.HeaderCompressionState, [])]),
        };
        var carried = RoundTrip(new HandleProxyBindingUpdate(deregistration, policy), "pbu.v2").Pbu.Context!;
        Assert.Equal(NextMag, carried.NextMag);
        Assert.Equal(deregistration.Context.Items.Select(i => (i.Feature, Convert.ToHexString(i.Data.AsSpan()))),
            carried.Items.Select(i => (i.Feature, Convert.ToHexString(i.Data.AsSpan()))));
    }

    [Fact]
    public void A_truncated_payload_is_a_serialization_error_not_a_crash()
    {
        var bytes = Pmip6Serializer.Encode(new SessionRemoved("mn1", 1, RemovalReason.Revoked, T, [Hnp]));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => Pmip6Serializer.Decode(bytes[..^3], "bce-removed.v1"));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => Pmip6Serializer.Decode(bytes, "bce-removed.v9"));
    }
}
