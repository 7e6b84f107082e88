// Properties of the Context Reflector codec (FsCheck): every encodable reflection round-trips, and
// no truncation or mutation makes the context decoders throw.
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;

namespace Pmip6Akka.Dataplane.Tests;

public class ContextReflectorPropertySpec
{
    private static readonly byte[][] Corpus = WireSamples.All()
        .Where(s => s.Name is "pbu-deregistration-context" or "context-reflection" or "context-reflection-acknowledgement" or "experimental-message")
        .Select(s => s.Packet).ToArray();

    [Property(MaxTest = 2000)]
    public bool Context_reflection_round_trips(ushort sequence, uint lifetime, NonEmptyArray<byte> mnId, UInt128 prefixBits,
        (byte Feature, byte[] Blob)[] items)
    {
        var id = mnId.Get.Take(60).ToArray();
        var context = (items ?? []).Take(6)
            .Select(i => ((ContextFeature)(1 + i.Feature % 4), (i.Blob ?? []).Take(200).ToArray())).ToArray();
        var prefix = new Ipv6Prefix(new Ipv6Address(prefixBits).Mask(64), 64);
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.ContextReflection(buffer);
        w.MobileNodeIdentifier(id);
        w.HomeNetworkPrefix(prefix);
        w.ContextSequence(sequence);
        w.ContextLifetime(lifetime);
        foreach (var (feature, blob) in context)
            w.ContextData(feature, blob);
        if (!w.TryFinish(out var length) || length % 8 != 0)
            return false;
        var limits = new ContextLimits { MaxContextLength = 6 * 200 };
        if (!ContextReflection.TryDecode(buffer.AsSpan(0, length), out var reflection, out _, contextLimits: limits))
            return false;
        var decoded = new List<(ContextFeature, byte[])>();
        foreach (var item in ContextItems.Of(reflection.Options, limits))
            if (item.Type == ContextItemType.ContextData)
                decoded.Add((item.Feature, item.Blob.ToArray()));
        return reflection.Sequence == sequence && reflection.LifetimeSeconds == lifetime
               && reflection.MobileNodeId.Identifier.SequenceEqual(id)
               && reflection.Context.ContextLength == context.Sum(c => c.Item2.Length)
               && decoded.Count == context.Length
               && decoded.Zip(context).All(p => p.First.Item1 == p.Second.Item1 && p.First.Item2.SequenceEqual(p.Second.Item2));
    }

    [Property(MaxTest = 2000)]
    public bool Acknowledgement_round_trips(ushort sequence, byte status, NonEmptyArray<byte> mnId)
    {
        var id = mnId.Get.Take(60).ToArray();
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.ContextReflectionAcknowledgement(buffer);
        w.MobileNodeIdentifier(id);
        w.ContextSequence(sequence);
        w.ContextStatus((ContextReflectionStatus)status);
        return w.TryFinish(out var length)
               && ContextReflectionAcknowledgement.TryDecode(buffer.AsSpan(0, length), out var ack, out _)
               && ack.Sequence == sequence && (byte)ack.Status == status && ack.IsAccepted == status < 128
               && ack.MobileNodeId.Identifier.SequenceEqual(id);
    }

    [Property(MaxTest = 2000)]
    public bool Next_mag_round_trips_in_a_de_registration(UInt128 address, ushort sequence)
    {
        var buffer = new byte[256];
        var w = MobilityHeaderWriter.BindingUpdate(buffer, sequence, BindingUpdateFlags.ProxyRegistration, 0);
        w.MobileNodeIdentifier("mn1"u8);
        w.ContextNextMag(new Ipv6Address(address));
        return w.TryFinish(out var length)
               && BindingUpdate.TryDecode(buffer.AsSpan(0, length), out var bu, out _)
               && ContextItems.TrySummarize(bu.Options, out var summary, out _)
               && summary.NextMag == new Ipv6Address(address);
    }

    /// <summary>Every context decoder over one Mobility Header; returns whether any of them accepted it.</summary>
    private static bool DecodeAll(ReadOnlySpan<byte> mh, ContextLimits limits)
    {
        var any = ContextReflection.TryDecode(mh, out var reflection, out var e1, contextLimits: limits);
        if (any)
            foreach (var item in ContextItems.Of(reflection.Options, limits))
                _ = item.Type == ContextItemType.ContextData ? item.Blob.Length : item.Data.Length;
        else
            Assert.True(e1.IsError);
        if (ContextReflectionAcknowledgement.TryDecode(mh, out _, out var e2)) any = true;
        else Assert.True(e2.IsError);
        if (BindingUpdate.TryDecode(mh, out var bu, out _))
        {
            if (ContextItems.TrySummarize(bu.Options, out var summary, out var e3, limits))
                _ = summary.NextMag;
            else
                Assert.True(e3.IsError);
        }
        return any;
    }

    [Property(MaxTest = 10000)]
    public void Mutated_context_messages_never_make_a_decoder_throw(int seed)
    {
        var mutator = new PacketMutator(Corpus, seed);
        var work = new byte[PacketMutator.MaxPacketLength];
        var length = mutator.Next(work, out _);
        var exact = work.AsSpan(0, length).ToArray();
        var mh = exact.Length > Ipv6Packet.HeaderLength ? exact.AsSpan(Ipv6Packet.HeaderLength) : exact.AsSpan();
        DecodeAll(mh, ContextLimits.Default);
        DecodeAll(mh, new ContextLimits { MaxItems = 2, MaxBlobLength = 8, MaxContextLength = 16 });
    }

    [Property(MaxTest = 5000)]
    public void Random_bytes_never_make_a_context_decoder_throw(byte[] bytes)
    {
        DecodeAll(bytes ?? [], ContextLimits.Default);
        // The same bytes behind a valid Experimental MH envelope, so they reach the item walker.
        var mh = new byte[8 + (bytes?.Length ?? 0)];
        mh[0] = IpProtocol.NoNextHeader;
        mh[2] = (byte)MobilityHeaderType.Experimental;
        mh[6] = ExperimentalKinds.ContextReflection;
        mh[7] = ExperimentalKinds.ContextReflectorVersion;
        bytes?.CopyTo(mh, 8);
        var usable = Math.Min(mh.Length / 8 * 8, MobilityHeader.MaxLength);
        if (usable >= 8)
        {
            mh[1] = (byte)(usable / 8 - 1);
            DecodeAll(mh.AsSpan(0, usable), ContextLimits.Default);
        }
    }

    [Fact]
    public void Every_context_sample_decodes_and_fails_cleanly_at_every_truncation()
    {
        foreach (var packet in Corpus)
        {
            var mh = packet.AsSpan(Ipv6Packet.HeaderLength).ToArray();
            Assert.True(MobilityHeader.TryDecode(mh, out _, out var error), error.ToString());
            for (var cut = 0; cut < mh.Length; cut++)
            {
                var truncated = mh.AsSpan(0, cut).ToArray();
                Assert.False(ContextReflection.TryDecode(truncated, out _, out error));
                Assert.True(error.IsError);
                Assert.False(ContextReflectionAcknowledgement.TryDecode(truncated, out _, out error));
                Assert.True(error.IsError);
            }
        }
        var reflection = WireSamples.All().Single(s => s.Name == "context-reflection").Packet.AsSpan(Ipv6Packet.HeaderLength);
        Assert.True(ContextReflection.TryDecode(reflection, out var r, out var e), e.ToString());
        Assert.Equal(4, r.Context.ContextDataItems);
    }
}
