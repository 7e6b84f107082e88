// Flood limits on the Mobility Header receive path: a flooding source spends its own tokens, unknown
// sources share a trickle, and the whole node has a ceiling; every refusal is counted by scope. With
// authentication, what only claims a peer's address has a bucket apart from what verified as the peer's.
using System.Diagnostics;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;
using Xunit;

namespace Pmip6Akka.Dataplane.Tests.Security;

public sealed class ReceiveAdmissionSpec
{
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private static readonly Ipv6Address Stranger = Ipv6Address.Parse("2001:db8:66::6");
    private static long Ms(double ms) => (long)(ms * Stopwatch.Frequency / 1000);

    private static ReceiveAdmission Admission(ReceiveAdmissionLimits limits) => new([Mag1, Mag2], limits, 0);

    [Fact]
    public void A_flooding_mag_is_held_to_its_rate_while_the_other_mag_is_served()
    {
        var admission = Admission(new ReceiveAdmissionLimits { PerPeerRate = 1000, PerPeerBurst = 10, GlobalRate = 0 });
        var flood = Enumerable.Range(0, 1000).Count(i => admission.Admit(Mag1, Ms(i * 0.1)) == AdmissionScope.Admitted); // 10,000/s for 100 ms
        Assert.InRange(flood, 100, 120); // its burst plus 1000/s for 0.1 s
        Assert.Equal(AdmissionScope.Admitted, admission.Admit(Mag2, Ms(100)));
        Assert.Equal(1000 - flood, admission.Limited(AdmissionScope.Peer));
    }

    [Fact]
    public void Unknown_sources_share_one_small_bucket()
    {
        var admission = Admission(new ReceiveAdmissionLimits { OthersRate = 10, OthersBurst = 5, GlobalRate = 0 });
        var admitted = Enumerable.Range(0, 100).Count(i =>
            admission.Admit(new Ipv6Address(Stranger.Value + (UInt128)i), Ms(i)) == AdmissionScope.Admitted); // 100 spoofed sources in 100 ms
        Assert.InRange(admitted, 5, 7);
        Assert.Equal(100 - admitted, admission.Limited(AdmissionScope.Others));
        Assert.Equal(AdmissionScope.Admitted, admission.Admit(Mag1, Ms(100))); // the MAGs are not in that bucket
    }

    [Fact]
    public void The_node_has_a_ceiling_over_all_sources_and_zero_means_unlimited()
    {
        var admission = Admission(new ReceiveAdmissionLimits { PerPeerRate = 0, GlobalRate = 100, GlobalBurst = 50 });
        var admitted = Enumerable.Range(0, 400).Count(i => admission.Admit(i % 2 == 0 ? Mag1 : Mag2, Ms(i * 0.25)) == AdmissionScope.Admitted);
        Assert.InRange(admitted, 50, 62); // burst 50 plus 100/s over 0.1 s
        Assert.Equal(400 - admitted, admission.Limited(AdmissionScope.Global));

        var open = Admission(new ReceiveAdmissionLimits { PerPeerRate = 0, OthersRate = 0, GlobalRate = 0 });
        Assert.All(Enumerable.Range(0, 10_000), i => Assert.Equal(AdmissionScope.Admitted, open.Admit(Stranger, 0)));
    }

    [Fact]
    public void Tokens_come_back_with_time()
    {
        var admission = Admission(new ReceiveAdmissionLimits { PerPeerRate = 100, PerPeerBurst = 1, GlobalRate = 0 });
        Assert.Equal(AdmissionScope.Admitted, admission.Admit(Mag1, 0));
        Assert.Equal(AdmissionScope.Peer, admission.Admit(Mag1, Ms(1)));
        Assert.Equal(AdmissionScope.Admitted, admission.Admit(Mag1, Ms(11)));
    }

    [Fact]
    public void Unverified_messages_from_a_peers_address_spend_their_own_bucket_not_the_peers()
    {
        var admission = Admission(new ReceiveAdmissionLimits { PerPeerRate = 1000, PerPeerBurst = 10, GlobalRate = 0 });
        var spoofed = Enumerable.Range(0, 1000).Count(i => admission.AdmitUnverified(Mag1, Ms(i * 0.1)) == AdmissionScope.Admitted);
        Assert.InRange(spoofed, 100, 120); // held like a peer: its burst plus 1000/s for 0.1 s
        Assert.Equal(1000 - spoofed, admission.Limited(AdmissionScope.UnverifiedPeer));
        Assert.Equal(0, admission.Limited(AdmissionScope.Peer));
        // The peer's own bucket is untouched: its whole burst is still there.
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(AdmissionScope.Admitted, admission.Admit(Mag1, Ms(100))));
        Assert.Equal(AdmissionScope.Peer, admission.Admit(Mag1, Ms(100)));
        Assert.Equal("peer-unverified", ReceiveAdmission.ScopeName(AdmissionScope.UnverifiedPeer));
    }

    [Fact]
    public void Unverified_messages_from_unknown_sources_share_the_others_bucket_and_every_admission_the_ceiling()
    {
        var admission = Admission(new ReceiveAdmissionLimits { PerPeerRate = 0, OthersRate = 10, OthersBurst = 5, GlobalRate = 10, GlobalBurst = 8 });
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => admission.AdmitUnverified(Stranger, 0) == AdmissionScope.Admitted));
        Assert.Equal(15, admission.Limited(AdmissionScope.Others));
        // Five tokens of the node's eight are gone: verified messages get the other three.
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => admission.Admit(Mag1, 0) == AdmissionScope.Admitted));
        Assert.Equal(7, admission.Limited(AdmissionScope.Global));
    }
}
