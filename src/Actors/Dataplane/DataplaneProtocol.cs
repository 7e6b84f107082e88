// The control plane talks to the network only through messages to its node's dataplane actor, and
// hears from it through decoded events (ARCHITECTURE.md). The real dataplane owns raw sockets; tests
// use the in-memory one. Payloads are whole Mobility Headers (checksum filled by the kernel, or by
// the in-memory network).
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

/// <summary>Send one Mobility Header message from <see cref="Source"/> to <see cref="Destination"/>.</summary>
public sealed record SendMobilityMessage(byte[] Message, Ipv6Address Source, Ipv6Address Destination);

/// <summary>
/// A Mobility Header message arrived (still encoded: the receiver decodes it). <see cref="ReceivedAt"/>
/// is when the dataplane took it off the wire: timestamp checks use it, so time spent queueing inside
/// the node never counts against the peer's clock.
/// </summary>
public sealed record MobilityMessageReceived(byte[] Message, Ipv6Address Source, Ipv6Address Destination, DateTimeOffset ReceivedAt);

/// <summary>Subscribe an actor to every MobilityMessageReceived for <see cref="Address"/>.</summary>
public sealed record RegisterEndpoint(Ipv6Address Address);

public sealed record EndpointRegistered(Ipv6Address Address);

/// <summary>Dataplane effects of a binding (acted on by the Linux dataplane issue; logged and counted until then).</summary>
public sealed record InstallBinding(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes, Ipv6Address ProxyCoa);

public sealed record RemoveBinding(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes);
