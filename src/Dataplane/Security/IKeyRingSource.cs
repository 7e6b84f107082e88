// Where a node's key ring comes from and how a new one is noticed (the daemons: the keys file, polled
// for changes; the specs: a ring they swap themselves). Rotation needs no restart.
namespace Pmip6Akka.Dataplane.Security;

/// <summary>What a poll found: a new ring, a problem with the new keys (the old ring stays), or nothing new (both null).</summary>
public readonly record struct KeyRingPoll(KeyRing? Keys, string? Error)
{
    public static KeyRingPoll Unchanged => default;
}

public interface IKeyRingSource
{
    /// <summary>The ring to start with.</summary>
    KeyRing Current { get; }

    /// <summary>Checks for new keys; never throws.</summary>
    KeyRingPoll Poll();
}
