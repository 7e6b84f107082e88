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
/// the node never counts against the peer's clock. <see cref="Authenticated"/>: the receive thread already checked
/// its authentication (and replay) and the node's SignallingGuard passes it on as it is.
/// </summary>
public sealed record MobilityMessageReceived(byte[] Message, Ipv6Address Source, Ipv6Address Destination, DateTimeOffset ReceivedAt,
    bool Authenticated = false);

/// <summary>Subscribe an actor to every MobilityMessageReceived for <see cref="Address"/>.</summary>
public sealed record RegisterEndpoint(Ipv6Address Address);

public sealed record EndpointRegistered(Ipv6Address Address);

/// <summary>Dataplane effects of a binding (acted on by the Linux dataplane issue; logged and counted until then).</summary>
public sealed record InstallBinding(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes, Ipv6Address ProxyCoa);

/// <summary>
/// The LMA accepted a de-registration: hold the MN's downlink (handover buffering) until its next binding is
/// installed, when it is released in order, paced.
/// </summary>
public sealed record BufferDownlink(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes);

/// <summary>
/// The LMA also accepts uplink from the session's prefixes from each of <paramref name="AlsoFrom"/> (the other MAG of
/// a Context Reflector handover, the other MAGs of a flow-mobility group); the whole set, replacing the earlier one;
/// empty: from the binding's MAG only.
/// </summary>
public sealed record AcceptUplink(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes,
    System.Collections.Immutable.ImmutableArray<Ipv6Address> AlsoFrom);

/// <summary>MAG: limit the node's downlink on its access link (its QoS profile), or lift the limit (<paramref name="DownlinkKbps"/> 0).</summary>
public sealed record ShapeAccessLink(string MobileNodeId, int IfIndex, string Device, uint DownlinkKbps);

/// <summary>
/// Flow mobility (issue 8): the LMA's flow table sends the flow <paramref name="Key"/> through the tunnel to
/// <paramref name="Via"/> (from its next packet, and for a flow that has not started yet), or back to its
/// prefix's tunnel when null. An expired pinned flow is reported back as <see cref="Lma.FlowExpired"/>.
/// </summary>
public sealed record PinFlow(string MobileNodeId, ushort RouteId, Pmip6Akka.Dataplane.Forwarding.FlowKey Key, Ipv6Address? Via);

public sealed record RemoveBinding(string MobileNodeId, int SessionId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes);

// ---- The MAG's access links (RFC 5213 §6.9: attach and detach; §6.8: the point-to-point link) ----

/// <summary>Subscribe an actor to the access-link events of this node's dataplane.</summary>
public sealed record RegisterAccessEndpoint;

/// <summary>
/// An access-link device changed (rtnetlink): <see cref="Usable"/> when it is administratively up and has
/// carrier; <see cref="Gone"/> when it was deleted or left the namespace (an MN's veth moving to another MAG).
/// </summary>
public sealed record AccessLinkChanged(int IfIndex, string Name, bool Usable, bool Gone, byte[] LinkLayerAddress);

/// <summary>A node spoke on an access link: a Router or Neighbor Solicitation carrying its link-layer address, or an answer to a probe.</summary>
public sealed record AccessNodeSeen(int IfIndex, byte[] LinkLayerAddress, Ipv6Address LinkLocal, bool SolicitedRouter);

/// <summary>A Neighbor Unreachability Detection failure for a node on an access link (rtnetlink NUD_FAILED).</summary>
public sealed record AccessNeighborFailed(int IfIndex, Ipv6Address Address);

/// <summary>Ask whoever is on the link (ff02::1), or one node (its link-local), to answer: an ICMPv6 Echo Request out of that device.</summary>
public sealed record ProbeAccessLink(int IfIndex, Ipv6Address? Destination = null);

/// <summary>Send one ICMPv6 message (its checksum filled by the kernel) out of an access link, hop limit 255.</summary>
public sealed record SendAccessMessage(int IfIndex, Ipv6Address Destination, byte[] Message);

/// <summary>
/// MAG side of a binding (RFC 5213 §6.10): the MN's prefixes routed onto its access link, its uplink routed
/// (source-based) into the tunnel towards <see cref="Lma"/>, and the tunnel's downlink for them accepted from it.
/// </summary>
public sealed record InstallAccessRoute(string MobileNodeId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes, int IfIndex, Ipv6Address Lma);

public sealed record RemoveAccessRoute(string MobileNodeId, Pmip6Akka.Dataplane.Wire.Ipv6Prefix[] Prefixes, int IfIndex, Ipv6Address Lma);

/// <summary>
/// A binding bucket started (<see cref="Routed"/> true) or stopped on this LMA node of a cluster: its prefix slice is routed
/// into the node's tunnel device (protocol 99, so the node's routing daemon announces it) or no longer.
/// </summary>
public sealed record RouteSlice(int Bucket, Pmip6Akka.Dataplane.Wire.Ipv6Prefix Slice, bool Routed);

/// <summary>
/// An LMA node of a cluster serves now: the shared LMA address (already on the tunnel device, where the Mobility Header socket
/// is bound) is also routed into the device with protocol 99, which is what the node's routing daemon announces. Until then
/// the core sends the node nothing: a starting or joining node would lose what it cannot answer yet.
/// </summary>
public sealed record AnnounceSharedAddress(Ipv6Address Address);

/// <summary>
/// Tunnelled uplink another node of the cluster received for a bucket this node owns (<see cref="Pmip6Akka.Actors.Lma.RelayedUplink"/>):
/// decapsulate it as if it had come from <see cref="From"/> (the MAG), under the same proxy-CoA check.
/// </summary>
public sealed record InjectUplink(byte[] Packet, Ipv6Address From);
