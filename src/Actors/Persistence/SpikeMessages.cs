namespace Pmip6Akka.Actors.Persistence;

// Sample messages for the persistence spike and its specs. Their shape (sealed positional
// records of string / int / long / string[]) is the one the LMA binding events will use.

/// <summary>Sample event ("test-event.v1"): a counter entity's state change.</summary>
public sealed record TestEvent(string EntityId, int Delta, long TimestampTicks, string[] Labels)
    : IPmip6Serializable;

/// <summary>Sample event ("test-binding.v1"), shaped like a future binding-cache update.</summary>
public sealed record TestBindingEvent(
    string MnId, string[] HomeNetworkPrefixes, int LifetimeSeconds, long Sequence, string MagAddress)
    : IPmip6Serializable;

/// <summary>Command: add <paramref name="Delta"/>; the entity replies <see cref="TestCount"/>.</summary>
public sealed record TestIncrement(int Delta) : IPmip6Serializable;

/// <summary>Query: the entity replies <see cref="TestCount"/>.</summary>
public sealed record TestGet : IPmip6Serializable
{
    public static readonly TestGet Instance = new();
}

/// <summary>Reply: current count of an entity.</summary>
public sealed record TestCount(string EntityId, long Count) : IPmip6Serializable;

/// <summary>Published on the event stream when an entity finished recovery.</summary>
public sealed record TestEntityStarted(string EntityId, long Count) : IPmip6Serializable;
