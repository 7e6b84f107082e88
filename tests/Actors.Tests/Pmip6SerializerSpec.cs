using System.Runtime.Serialization;
using Akka.Configuration;
using Pmip6Akka.Actors.Persistence;

namespace Pmip6Akka.Actors.Tests;

public sealed class Pmip6SerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    public Pmip6SerializerSpec()
        : base(ActorSystemFactory.BuildConfig(new NodeOptions("unused.db"),
            ConfigurationFactory.ParseString("akka.actor.provider = local\nakka.loglevel = WARNING")))
    {
    }

    private Pmip6Serializer Serializer => (Pmip6Serializer)Sys.Serialization.FindSerializerForType(typeof(TestEvent));

    [Fact]
    public void The_marker_interface_binds_every_sample_message_to_Pmip6Serializer_with_id_5213()
    {
        foreach (var t in new[] { typeof(TestEvent), typeof(TestBindingEvent), typeof(ShardEnvelope), typeof(TestIncrement), typeof(TestGet), typeof(TestCount), typeof(TestEntityStarted) })
        {
            var s = Sys.Serialization.FindSerializerForType(t);
            Assert.IsType<Pmip6Serializer>(s);
            Assert.Equal(5213, s.Identifier);
        }
    }

    [Fact]
    public void A_test_event_round_trips_with_manifest_test_event_v1()
    {
        var e = new TestEvent("mn-1@example", -7, 638_000_000_000_000_000L, ["a", "", "ünï"]);
        Assert.Equal("test-event.v1", Serializer.Manifest(e));
        var back = (TestEvent)Serializer.FromBinary(Serializer.ToBinary(e), "test-event.v1");
        Assert.Equal((e.EntityId, e.Delta, e.TimestampTicks), (back.EntityId, back.Delta, back.TimestampTicks));
        Assert.Equal(e.Labels, back.Labels);
    }

    [Fact]
    public void A_binding_event_round_trips_compactly()
    {
        var e = new TestBindingEvent("mn-42", ["2001:db8:1::/64", "2001:db8:2::/64"], 3600, long.MaxValue, "2001:db8::mag1");
        var bytes = Serializer.ToBinary(e);
        var back = (TestBindingEvent)Serializer.FromBinary(bytes, Serializer.Manifest(e));
        Assert.Equal("test-binding.v1", Serializer.Manifest(e));
        Assert.Equal((e.MnId, e.LifetimeSeconds, e.Sequence, e.MagAddress), (back.MnId, back.LifetimeSeconds, back.Sequence, back.MagAddress));
        Assert.Equal(e.HomeNetworkPrefixes, back.HomeNetworkPrefixes);
        Assert.True(bytes.Length < 70, $"payload is {bytes.Length} bytes");
    }

    [Fact]
    public void A_shard_envelope_carries_its_nested_message()
    {
        var env = new ShardEnvelope("mn-9", new TestIncrement(3));
        var back = (ShardEnvelope)Serializer.FromBinary(Serializer.ToBinary(env), "shard-envelope.v1");
        Assert.Equal(env, back);
    }

    [Fact]
    public void An_unknown_manifest_is_a_SerializationException()
    {
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([1, 2, 3], "test-event.v99"));
    }

    [Fact]
    public void Truncated_or_padded_payloads_are_a_SerializationException()
    {
        var bytes = Serializer.ToBinary(new TestCount("x", 5));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary(bytes[..^1], "test-count.v1"));
        Assert.Throws<SerializationException>(() => Serializer.FromBinary([.. bytes, 0], "test-count.v1"));
    }

    [Fact]
    public void An_unregistered_type_is_a_SerializationException()
    {
        Assert.Throws<SerializationException>(() => Serializer.ToBinary(new Unregistered()));
    }

    private sealed record Unregistered : IPmip6Serializable;
}
