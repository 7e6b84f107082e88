namespace Pmip6Akka.Actors.Persistence;

/// <summary>
/// Marker for every message/event Pmip6Akka owns. Bound to <see cref="Pmip6Serializer"/> in
/// hocon/persistence.conf (<c>akka.actor.serialization-bindings</c>). A type implementing it
/// must also be registered in <see cref="Pmip6Serializer"/>'s codec table, or serialization
/// fails loudly.
/// </summary>
public interface IPmip6Serializable;
