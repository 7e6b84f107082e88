using System.Runtime.Serialization;
using Akka.Configuration;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Persistence;

namespace Pmip6Akka.Actors.Tests;

/// <summary>The shipped HOCON binds every message we own to Pmip6Serializer, which refuses what it cannot read.</summary>
public sealed class Pmip6SerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    public Pmip6SerializerSpec()
        : base(ActorSystemFactory.BuildConfig(new NodeOptions("unused.db"),
            ConfigurationFactory.ParseString("akka.actor.provider = local\nakka.loglevel = WARNING")))
    {
    }

    private Pmip6Serializer Serializer => (Pmip6Serializer)Sys.Serialization.FindSerializerForType(typeof(SessionRemoved));

    [Fact]
    public void The_marker_interface_binds_every_event_and_message_to_Pmip6Serializer_with_id_5213()
    {
        var types = typeof(IPmip6Serializable).Assembly.GetTypes()
            .Where(t => typeof(IPmip6Serializable).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false }).ToList();
        Assert.Contains(typeof(SessionRegistered), types);
        foreach (var t in types)
        {
            var s = Sys.Serialization.FindSerializerForType(t);
            Assert.IsType<Pmip6Serializer>(s);
            Assert.Equal(5213, s.Identifier);
        }
    }

    [Fact]
    public void Every_serializable_type_has_a_codec()
    {
        var types = typeof(IPmip6Serializable).Assembly.GetTypes()
            .Where(t => typeof(IPmip6Serializable).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false });
        var manifests = Pmip6Serializer.Manifests;
        Assert.All(manifests, m => Assert.Matches(@"^[a-z0-9-]+\.v[0-9]+$", m));
        Assert.Equal(types.Count(), Pmip6Serializer.CurrentManifests.Count);
        Assert.Subset(manifests.ToHashSet(), Pmip6Serializer.CurrentManifests.ToHashSet());
    }

    [Fact]
    public void An_unknown_manifest_is_a_SerializationException()
    {
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([1, 2, 3], "bce-registered.v99"));
    }

    [Fact]
    public void Truncated_or_padded_payloads_are_a_SerializationException()
    {
        var bytes = Serializer.ToBinary(new RevokeBinding("x"));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary(bytes[..^1], "revoke.v1"));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([.. bytes, 0], "revoke.v1"));
    }

    [Fact]
    public void The_cluster_messages_round_trip_and_a_counter_past_32_bits_is_refused()
    {
        var relayed = new RelayedUplink(1023, [0x60, 0, 0, 0, 0, 0, 59, 64], Pmip6Akka.Dataplane.Wire.Ipv6Address.Parse("2001:db8:1::2"));
        var back = (RelayedUplink)Serializer.FromBinary(Serializer.ToBinary(relayed), Serializer.Manifest(relayed));
        Assert.Equal((relayed.Bucket, relayed.Mag), (back.Bucket, back.Mag));
        Assert.Equal(relayed.Packet.ToArray(), back.Packet.ToArray());
        var chosen = new RestartCounterChosen(uint.MaxValue, new DateTimeOffset(2026, 11, 25, 21, 0, 0, TimeSpan.Zero));
        Assert.Equal(chosen, Serializer.FromBinary(Serializer.ToBinary(chosen), Serializer.Manifest(chosen)));
        Assert.Equal(new RestartCounterIs(7), Serializer.FromBinary(Serializer.ToBinary(new RestartCounterIs(7)), "restart-counter.v1"));
        Assert.Same(GetRestartCounter.Instance, Serializer.FromBinary(Serializer.ToBinary(GetRestartCounter.Instance), "get-restart-counter.v1"));
        // 2^32 as a varint: not a Restart Counter.
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([0x80, 0x80, 0x80, 0x80, 0x10], "restart-counter.v1"));
    }

    [Fact]
    public void An_unregistered_type_is_a_SerializationException()
    {
        Assert.Throws<SerializationException>(() => Serializer.ToBinary(new Unregistered()));
    }

    private sealed record Unregistered : IPmip6Serializable;
}
