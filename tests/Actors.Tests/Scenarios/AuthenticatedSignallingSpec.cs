// Authenticated signalling between LMA and MAG actors over the in-memory network (issue 10): every
// message protected on the way out and checked on the way in by each node's SignallingGuard, rejected
// ones dropped before the LMA's protocol handler (so before any binding entity and the journal),
// counted by reason; keys rolled over without a restart and without a dropped registration.
using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public class AuthenticatedSignallingSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn1 = "mn1@pmip6.example";
    private const string Intruder = "victim@pmip6.example";
    private const uint Mag1Spi = 4096, Mag2Spi = 4098, RolledSpi = 4097;
    private static readonly ImmutableArray<byte> Mag1Secret = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly ImmutableArray<byte> Mag2Secret = [.. Enumerable.Range(50, 32).Select(i => (byte)i)];
    private static readonly ImmutableArray<byte> RolledSecret = [.. Enumerable.Range(90, 32).Select(i => (byte)i)];

    /// <summary>A key ring the spec replaces while the nodes run, as a changed keys file would be.</summary>
    private sealed class SwappableKeys(KeyRing initial) : IKeyRingSource
    {
        private KeyRing? _next;
        public KeyRing Current { get; private set; } = initial;
        public void Replace(KeyRing ring) => Volatile.Write(ref _next, ring);

        public KeyRingPoll Poll()
        {
            var next = Interlocked.Exchange(ref _next, null);
            if (next is null)
                return KeyRingPoll.Unchanged;
            Current = next;
            return new KeyRingPoll(next, null);
        }
    }

    private static SecurityAssociation Key(uint spi, Ipv6Address peer, ImmutableArray<byte> secret, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        new(spi, peer, AuthenticationAlgorithm.HmacSha256, secret, notBefore, notAfter);

    /// <summary>The LMA holds one key per MAG; each MAG holds its own, named by the LMA's address.</summary>
    private static readonly Dictionary<Ipv6Address, SecurityAssociation[]> Keys = new()
    {
        [Domain.LmaAddress] = [Key(Mag1Spi, Domain.Mag1Address, Mag1Secret), Key(Mag2Spi, Domain.Mag2Address, Mag2Secret)],
        [Domain.Mag1Address] = [Key(Mag1Spi, Domain.LmaAddress, Mag1Secret)],
        [Domain.Mag2Address] = [Key(Mag2Spi, Domain.LmaAddress, Mag2Secret)],
    };

    private Domain AuthenticatedDomain(string[] mns, Dictionary<Ipv6Address, SwappableKeys>? sources = null, TimeSpan? heartbeat = null) =>
        new(this, mns, heartbeat: heartbeat, keys: node =>
        {
            var source = new SwappableKeys(new KeyRing(Keys[node]));
            if (sources is not null)
                sources[node] = source;
            return source;
        });

    private static long Rejected(Counters counters, string reason) => counters.Get("mh_auth_rejected_total", "reason", reason);

    private static long AllRejected(Counters counters) =>
        counters.Snapshot().Counters.Where(c => c.Name == "mh_auth_rejected_total").Sum(c => c.Value);

    /// <summary>A PBU for <paramref name="mn"/> as MAG 1 would send it, with a fresh timestamp.</summary>
    private static byte[] Pbu(string mn, ushort sequence)
    {
        var pbu = new ProxyBindingUpdate(Domain.Mag1Address, sequence, TimeSpan.FromMinutes(10), mn, [new Ipv6Prefix(default, 0)],
            HandoffIndicator.AttachmentOverNewInterface, AccessTechnologyType.Ieee8023, "020000000109", null, Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow));
        var buffer = new byte[MobilityHeader.MaxLength];
        Assert.True(pbu.TryWrite(buffer, out var length));
        return buffer[..length];
    }

    private static byte[] Protect(byte[] message, uint spi, ImmutableArray<byte> secret, Ipv6Address? source = null)
    {
        var buffer = new byte[MobilityHeader.MaxLength];
        message.CopyTo(buffer, 0);
        Assert.True(MessageAuthentication.TryProtect(buffer, message.Length, source ?? Domain.Mag1Address, Domain.LmaAddress, spi, secret.AsSpan(),
            Pmip6Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), out var length, out var error), error.ToString());
        return buffer[..length];
    }

    private void Inject(Domain domain, byte[] message, Ipv6Address? from = null) =>
        domain.Network.Tell(new SendMobilityMessage(message, from ?? Domain.Mag1Address, Domain.LmaAddress));

    [Fact]
    public void Registration_and_handover_run_with_every_message_authenticated()
    {
        var domain = AuthenticatedDomain([Mn1]);
        var (mag1, mag1Counters, reports1) = domain.StartMag(Domain.Mag1Address);
        var (mag2, mag2Counters, reports2) = domain.StartMag(Domain.Mag2Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var before = Domain.Expect(reports1, Mn1, MagSessionPhase.Registered);
        mag2.Tell(new MobileNodeAttached(Domain.Attach(Mn1, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        var after = Domain.Expect(reports2, Mn1, MagSessionPhase.Registered);
        mag1.Tell(new MobileNodeDetached(Mn1));
        Domain.Expect(reports1, Mn1, MagSessionPhase.Closed);

        Assert.Equal(before.Prefixes.ToArray(), after.Prefixes.ToArray());
        Assert.Equal(Domain.Mag2Address, Assert.Single(domain.Binding(Mn1).Sessions).ProxyCoa);
        AwaitAssert(() =>
        {
            Assert.True(domain.LmaCounters.Get("mh_auth_accepted_total", "protection", "protected") >= 3); // PBUs of both MAGs
            Assert.True(mag1Counters.Get("mh_auth_accepted_total", "protection", "protected") >= 2);     // PBAs (and heartbeat replies)
            Assert.True(mag2Counters.Get("mh_auth_accepted_total", "protection", "protected") >= 1);
        }, TimeSpan.FromSeconds(3));
        Assert.Equal(0, domain.LmaCounters.Get("mh_auth_accepted_total", "protection", "unprotected"));
        Assert.Equal(0, AllRejected(domain.LmaCounters) + AllRejected(mag1Counters) + AllRejected(mag2Counters));
        Assert.Equal(0, domain.LmaCounters.Get("mh_auth_sent_total", "outcome", "unprotected"));
    }

    [Fact]
    public void Forged_replayed_truncated_wrong_spi_and_unprotected_pbus_are_dropped_before_the_binding_entity_and_counted()
    {
        var domain = AuthenticatedDomain([Intruder]);
        var forged = Protect(Pbu(Intruder, 2), Mag1Spi, Mag1Secret);
        forged[BindingUpdate.LifetimeOffset] ^= 0xFF; // a longer lifetime than the MAG signed
        Inject(domain, forged);
        var truncated = Protect(Pbu(Intruder, 3), Mag1Spi, Mag1Secret)[..^16];
        truncated[^(1 + 4 + 1 + 16)] = MessageAuthentication.OptionDataLength - 16;
        truncated[MobilityHeader.HeaderLenOffset] = (byte)(truncated.Length / 8 - 1);
        Inject(domain, truncated);
        Inject(domain, Protect(Pbu(Intruder, 4), 9999, Mag1Secret));                       // an SPI the LMA does not know
        Inject(domain, Protect(Pbu(Intruder, 5), Mag2Spi, Mag2Secret));                    // MAG 2's key, from MAG 1's address
        Inject(domain, Protect(Pbu(Intruder, 6), Mag1Spi, Mag1Secret, Domain.RogueMagAddress), Domain.RogueMagAddress); // MAG 1's key, rogue source
        Inject(domain, Pbu(Intruder, 7));                                                  // no option at all

        AwaitAssert(() =>
        {
            Assert.Equal(1, Rejected(domain.LmaCounters, "bad-mac"));
            Assert.Equal(1, Rejected(domain.LmaCounters, "malformed"));
            Assert.Equal(1, Rejected(domain.LmaCounters, "unknown-spi"));
            Assert.Equal(2, Rejected(domain.LmaCounters, "unauthorized-peer"));
            Assert.Equal(1, Rejected(domain.LmaCounters, "missing-option"));
        }, TimeSpan.FromSeconds(5));
        // None reached the protocol handler, so none reached a binding entity or the journal.
        Assert.Equal(0, domain.LmaCounters.Get("pbu_received_total"));
        Assert.Empty(domain.Binding(Intruder).Sessions);

        // The same path with the genuine message: accepted and registered; then its replay is dropped.
        var genuine = Protect(Pbu(Intruder, 1), Mag1Spi, Mag1Secret);
        Inject(domain, genuine);
        AwaitAssert(() => Assert.Single(domain.Binding(Intruder).Sessions), TimeSpan.FromSeconds(5));
        Inject(domain, genuine);
        AwaitAssert(() => Assert.Equal(1, Rejected(domain.LmaCounters, "replay")), TimeSpan.FromSeconds(5));
        Assert.Equal(1, domain.LmaCounters.Get("pbu_received_total"));
        Assert.Equal(7, AllRejected(domain.LmaCounters));
    }

    [Fact]
    public void A_mag_without_the_key_gets_no_registration_and_the_lma_never_sees_its_pbus()
    {
        var domain = new Domain(this, [Mn1], keys: node => new SwappableKeys(new KeyRing(node == Domain.Mag1Address
            ? [Key(Mag1Spi, Domain.LmaAddress, Mag2Secret)] // the right SPI with the wrong secret
            : Keys[node])));
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address, MagSettings.Default with { MaxBindackTimeout = TimeSpan.FromMilliseconds(1600) });
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Failed, TimeSpan.FromSeconds(10));
        // The MAG gave up on its own clock; the LMA's guard counts on its own thread.
        AwaitAssert(() => Assert.True(Rejected(domain.LmaCounters, "bad-mac") >= 1), TimeSpan.FromSeconds(5));
        Assert.Equal(0, domain.LmaCounters.Get("pbu_received_total"));
        Assert.Empty(domain.Binding(Mn1).Sessions);
    }

    [Fact]
    public void Keys_roll_over_without_a_restart_and_without_a_dropped_registration()
    {
        var sources = new Dictionary<Ipv6Address, SwappableKeys>();
        // More than the registrations take on any machine: they go on until the old key has been retired a while.
        var mns = Enumerable.Range(0, 40).Select(i => $"roll{i}@pmip6.example").ToArray();
        var domain = AuthenticatedDomain(mns, sources, heartbeat: TimeSpan.FromMilliseconds(150));
        var (mag1, magCounters, reports) = domain.StartMag(Domain.Mag1Address);
        var spis = new ConcurrentBag<uint>();
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m =>
        {
            if (MessageAuthentication.TryFind(m.Message, out var option, out _) == AuthenticationPresence.Present)
                spis.Add(option.Spi);
            return false; // watch, never drop
        }));

        // Registrations under the old key only.
        mag1.Tell(new MobileNodeAttached(Domain.Attach(mns[0])));
        Domain.Expect(reports, mns[0], MagSessionPhase.Registered);

        // The operator adds the new key on both sides (valid from a moment ahead) and retires the old
        // one a little after that; both nodes pick the files up while they run.
        var rollAt = DateTimeOffset.UtcNow.AddSeconds(1.5);
        var retireAt = rollAt.AddSeconds(3);
        sources[Domain.LmaAddress].Replace(new KeyRing([
            Key(Mag1Spi, Domain.Mag1Address, Mag1Secret, notAfter: retireAt), Key(RolledSpi, Domain.Mag1Address, RolledSecret, notBefore: rollAt),
            Key(Mag2Spi, Domain.Mag2Address, Mag2Secret)]));
        sources[Domain.Mag1Address].Replace(new KeyRing([
            Key(Mag1Spi, Domain.LmaAddress, Mag1Secret, notAfter: retireAt), Key(RolledSpi, Domain.LmaAddress, RolledSecret, notBefore: rollAt)]));
        AwaitAssert(() =>
        {
            Assert.Equal(1, domain.LmaCounters.Get("security_keys_reloads_total", "result", "loaded"));
            Assert.Equal(1, magCounters.Get("security_keys_reloads_total", "result", "loaded"));
        }, TimeSpan.FromSeconds(3));

        // Keep registering new mobile nodes across the switch and past the old key's retirement (the last one
        // attached half a second after it, however fast or slow the machine), while heartbeats run both ways every 150 ms.
        var pastRetirement = retireAt.AddSeconds(0.5);
        var registered = new List<string> { mns[0] };
        var lastAttachedAt = DateTimeOffset.MinValue;
        foreach (var mn in mns[1..])
        {
            lastAttachedAt = DateTimeOffset.UtcNow;
            mag1.Tell(new MobileNodeAttached(Domain.Attach(mn)));
            Domain.Expect(reports, mn, MagSessionPhase.Registered);
            registered.Add(mn);
            if (lastAttachedAt > pastRetirement)
                break;
            Thread.Sleep(400);
        }
        Assert.True(lastAttachedAt > pastRetirement, "the registrations went on past the old key's retirement");

        Assert.Equal(0, AllRejected(domain.LmaCounters));
        Assert.Equal(0, AllRejected(magCounters));
        Assert.Equal(0, magCounters.Get("pbu_retransmissions_total"));
        Assert.All(registered, mn => Assert.Single(domain.Binding(mn).Sessions));
        Assert.Contains(Mag1Spi, spis);
        Assert.Contains(RolledSpi, spis);
    }
}
