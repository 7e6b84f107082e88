// SIGHUP's half of key rotation: the daemon asks the node's SignallingGuard to check its keys now and
// gets back what happened: a new ring, nothing new, or a broken file with the old ring kept.
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Tests;

public sealed class SignallingGuardReloadSpec() : TestKit("akka.actor.serialize-messages = off")
{
    private sealed class ScriptedKeys(KeyRing initial, Queue<KeyRingPoll> polls) : IKeyRingSource
    {
        public KeyRing Current { get; } = initial;
        public KeyRingPoll Poll() => polls.Count > 0 ? polls.Dequeue() : KeyRingPoll.Unchanged;
    }

    private static KeyRing Ring(params uint[] spis) => new(spis.Select(spi => new SecurityAssociation(spi, Ipv6Address.Parse("2001:db8::1"),
        AuthenticationAlgorithm.HmacSha256, [.. Enumerable.Range(1, 32).Select(i => (byte)i)], null, null)).ToList());

    [Fact]
    public void Reload_keys_answers_loaded_unchanged_or_failed_and_a_failure_keeps_the_ring_in_use()
    {
        var counters = new Counters();
        var polls = new Queue<KeyRingPoll>([
            new KeyRingPoll(Ring(4096, 4097), null),
            KeyRingPoll.Unchanged,
            new KeyRingPoll(null, "configuration key pmip6.keys[0].secret: expected hex:<octets> or base64:<octets> in /etc/pmip6/keys.conf"),
        ]);
        var guard = Sys.ActorOf(SignallingGuard.Props(CreateTestProbe().Ref, new ScriptedKeys(Ring(4096), polls),
            new AuthenticationSettings(true, TimeSpan.FromSeconds(1)), new SignallingGuard.SignallingGuardSettings(TimeSpan.FromHours(1)), counters));

        guard.Tell(new SignallingGuard.ReloadKeys());
        Assert.Equal(new SignallingGuard.KeysReloaded("loaded", 2, null), ExpectMsg<SignallingGuard.KeysReloaded>());
        guard.Tell(new SignallingGuard.ReloadKeys());
        Assert.Equal(new SignallingGuard.KeysReloaded("unchanged", 2, null), ExpectMsg<SignallingGuard.KeysReloaded>());
        guard.Tell(new SignallingGuard.ReloadKeys());
        var failed = ExpectMsg<SignallingGuard.KeysReloaded>();
        Assert.Equal(("failed", 2), (failed.Result, failed.Keys)); // the two keys loaded first stay in use
        Assert.Contains("pmip6.keys[0].secret", failed.Problem);
        Assert.Equal(1, counters.Get("security_keys_reloads_total", "result", "loaded"));
        Assert.Equal(1, counters.Get("security_keys_reloads_total", "result", "failed"));
    }
}
