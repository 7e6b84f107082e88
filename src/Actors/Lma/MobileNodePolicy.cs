// The MN's policy profile (RFC 5213 §2.2, §5.3.1): whether it may use network-based mobility, how
// many home network prefixes each mobility session gets, which access technologies it may attach
// over, and the longest lifetime the LMA grants.
using System.Collections.Immutable;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Lma;

public sealed record MobileNodePolicy(
    string MobileNodeId,
    bool ProxyRegistrationEnabled = true,
    int HomeNetworkPrefixCount = 1,
    ImmutableHashSet<AccessTechnologyType>? AllowedAccessTechnologies = null,
    TimeSpan? MaxLifetime = null,
    int MaxSessions = 4)
{
    /// <summary>The node's QoS profile (what AAA would return), carried in a reflected context; null: none.</summary>
    public Mag.QosProfile? Qos { get; init; }

    /// <summary>
    /// IP flow mobility's shared-prefix model (RFC 7864 §3.1; profile key flow-mobility-model = "shared-prefix"): every MAG
    /// serving the node advertises all of the node's prefixes on its link, so each interface configures addresses from every
    /// prefix. False: the weak-host model, where each interface gets its own prefix advertised and the others are only routed
    /// to it. Read by the MAG from its own policy file; like <see cref="Qos"/>, not carried to the LMA with a PBU.
    /// </summary>
    public bool SharedPrefix { get; init; }

    public bool Allows(AccessTechnologyType att) => AllowedAccessTechnologies is null || AllowedAccessTechnologies.Contains(att);
}

/// <summary>Looks up policy profiles; an MN without one is not served by this LMA (status 153).</summary>
public interface IPolicyStore
{
    MobileNodePolicy? Find(string mobileNodeId);

    /// <summary>The MN-ID of the node with this link-layer address (how a MAG identifies a node that appears on an access link); null when none.</summary>
    string? MobileNodeIdFor(ReadOnlySpan<byte> linkLayerAddress) => null;
}

public sealed class InMemoryPolicyStore(IEnumerable<MobileNodePolicy> policies) : IPolicyStore
{
    private readonly Dictionary<string, MobileNodePolicy> _policies = policies.ToDictionary(p => p.MobileNodeId, StringComparer.Ordinal);

    public MobileNodePolicy? Find(string mobileNodeId) => _policies.GetValueOrDefault(mobileNodeId);
}
