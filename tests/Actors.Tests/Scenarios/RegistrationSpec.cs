// PMIPv6 signalling end to end between LMA and MAG actors over the in-memory network.
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Actors.Mag;
using Pmip6Akka.Dataplane.Wire;
using Xunit.Abstractions;

namespace Pmip6Akka.Actors.Tests.Scenarios;

public class RegistrationSpec(ITestOutputHelper output) : TestKit(Domain.HoconForSpecs, output)
{
    private const string Mn1 = "mn1@pmip6.example";

    [Fact]
    public void First_registration_gives_the_mn_a_prefix_from_the_pool()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var registered = Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        var prefix = Assert.Single(registered.Prefixes);
        Assert.True(Domain.Pool.Contains(prefix.Address));
        Assert.Equal(64, prefix.Length);
        var binding = domain.Binding(Mn1);
        var session = Assert.Single(binding.Sessions);
        Assert.Equal(Domain.Mag1Address, session.ProxyCoa);
        Assert.Equal(prefix, Assert.Single(session.Prefixes));
    }

    [Fact]
    public void Refresh_keeps_the_prefix_and_extends_the_binding()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address, MagSettings.Default with { RequestedLifetime = TimeSpan.FromSeconds(8), RefreshAt = 0.25 });
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var first = Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        var expiresBefore = Assert.Single(domain.Binding(Mn1).Sessions).ExpiresAt;
        var refreshed = Domain.Expect(reports, Mn1, MagSessionPhase.Registered, TimeSpan.FromSeconds(5)); // refresh after 2 s
        Assert.Equal(first.Prefixes.ToArray(), refreshed.Prefixes.ToArray());
        AwaitAssert(() => Assert.True(Assert.Single(domain.Binding(Mn1).Sessions).ExpiresAt > expiresBefore), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Handover_with_the_deregistration_first_keeps_the_prefix()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports1) = domain.StartMag(Domain.Mag1Address);
        var (mag2, _, reports2) = domain.StartMag(Domain.Mag2Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var before = Domain.Expect(reports1, Mn1, MagSessionPhase.Registered);

        mag1.Tell(new MobileNodeDetached(Mn1));
        Domain.Expect(reports1, Mn1, MagSessionPhase.Closed);
        Assert.Equal(SessionState.AwaitingNewMag, Assert.Single(domain.Binding(Mn1).Sessions).State);

        mag2.Tell(new MobileNodeAttached(Domain.Attach(Mn1, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        var after = Domain.Expect(reports2, Mn1, MagSessionPhase.Registered);
        Assert.Equal(before.Prefixes.ToArray(), after.Prefixes.ToArray());
        var session = Assert.Single(domain.Binding(Mn1).Sessions);
        Assert.Equal(Domain.Mag2Address, session.ProxyCoa);
        Assert.Equal(SessionState.Active, session.State);
    }

    [Fact]
    public void Handover_with_the_deregistration_last_keeps_the_binding_at_the_new_mag()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports1) = domain.StartMag(Domain.Mag1Address);
        var (mag2, _, reports2) = domain.StartMag(Domain.Mag2Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var before = Domain.Expect(reports1, Mn1, MagSessionPhase.Registered);

        mag2.Tell(new MobileNodeAttached(Domain.Attach(Mn1, HandoffIndicator.HandoffBetweenMagsForSameInterface)));
        var after = Domain.Expect(reports2, Mn1, MagSessionPhase.Registered);
        mag1.Tell(new MobileNodeDetached(Mn1));
        Domain.Expect(reports1, Mn1, MagSessionPhase.Closed);

        Assert.Equal(before.Prefixes.ToArray(), after.Prefixes.ToArray());
        var session = Assert.Single(domain.Binding(Mn1).Sessions);
        Assert.Equal(Domain.Mag2Address, session.ProxyCoa);
        Assert.Equal(SessionState.Active, session.State);
    }

    [Fact]
    public void An_unauthorised_mag_is_rejected_with_154()
    {
        var domain = new Domain(this, [Mn1]);
        var (rogue, counters, reports) = domain.StartMag(Domain.RogueMagAddress);
        rogue.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var failed = Domain.Expect(reports, Mn1, MagSessionPhase.Failed);
        Assert.Contains("MAG_NOT_AUTHORIZED_FOR_PROXY_REG", failed.Detail);
        Assert.Equal(1, counters.Get("pba_rejected_total", "status", "154"));
        Assert.Empty(domain.Binding(Mn1).Sessions);
    }

    [Fact]
    public void An_unknown_mobile_node_is_rejected_with_153()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach("stranger@elsewhere")));
        var failed = Domain.Expect(reports, "stranger@elsewhere", MagSessionPhase.Failed);
        Assert.Contains("NOT_LMA_FOR_THIS_MOBILE_NODE", failed.Detail);
        Assert.Equal(1, domain.LmaCounters.Get("pba_sent_total", "status", "153"));
    }

    [Fact]
    public void The_mag_does_not_register_an_mn_its_policy_profiles_do_not_know()
    {
        var domain = new Domain(this, [Mn1]);
        var (mag1, counters, reports) = domain.StartMag(Domain.Mag1Address, policies: domain.Policies);
        mag1.Tell(new MobileNodeAttached(Domain.Attach("stranger@elsewhere")));
        var failed = Domain.Expect(reports, "stranger@elsewhere", MagSessionPhase.Failed);
        Assert.Contains("no policy profile", failed.Detail);
        Assert.Equal(1, counters.Get("attach_refused_total", "reason", "no-policy"));
        Assert.Equal(0, counters.Get("pbu_sent_total"));
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
    }

    [Fact]
    public void Two_mobile_nodes_never_share_a_prefix()
    {
        var mns = Enumerable.Range(1, 25).Select(i => $"mn{i}@pmip6.example").ToArray();
        var domain = new Domain(this, mns);
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address);
        foreach (var mn in mns)
            mag1.Tell(new MobileNodeAttached(Domain.Attach(mn)));
        var prefixes = new Dictionary<string, Ipv6Prefix>();
        while (prefixes.Count < mns.Length)
        {
            var report = reports.ExpectMsg<SessionReport>(TimeSpan.FromSeconds(10));
            if (report.Phase == MagSessionPhase.Registered)
                prefixes[report.MobileNodeId] = Assert.Single(report.Prefixes);
        }
        Assert.Equal(mns.Length, prefixes.Values.Distinct().Count());
    }

    [Fact]
    public void The_mag_retransmits_when_a_pba_is_lost()
    {
        var domain = new Domain(this, [Mn1]);
        var fast = MagSettings.Default with { InitialBindackTimeoutFirstReg = TimeSpan.FromMilliseconds(200) };
        var (mag1, counters, reports) = domain.StartMag(Domain.Mag1Address, fast);
        var dropped = 0;
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m =>
            m.Source == Domain.LmaAddress && m.Message[2] == (byte)MobilityHeaderType.BindingAcknowledgement && Interlocked.Increment(ref dropped) == 1));
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        // Once at least: a second retransmission (400 ms later) goes out when the first one's PBA takes longer than
        // that to come back, as it can on a loaded machine.
        Assert.True(counters.Get("pbu_retransmissions_total") >= 1);
        Assert.True(Volatile.Read(ref dropped) >= 2); // the first PBA was dropped, a retransmission's went through
    }

    [Fact]
    public void The_mag_gives_up_after_max_bindack_timeout()
    {
        var domain = new Domain(this, [Mn1]);
        var fast = MagSettings.Default with
        {
            InitialBindackTimeoutFirstReg = TimeSpan.FromMilliseconds(50),
            MaxBindackTimeout = TimeSpan.FromMilliseconds(400),
        };
        var (mag1, counters, reports) = domain.StartMag(Domain.Mag1Address, fast);
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m => m.Source == Domain.LmaAddress));
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        var failed = Domain.Expect(reports, Mn1, MagSessionPhase.Failed);
        Assert.Contains("no PBA after 4 transmissions", failed.Detail); // 50, 100, 200, 400 ms
        Assert.Equal(1, counters.Get("pbu_gave_up_total"));
    }

    [Fact]
    public void A_refreshed_binding_outlives_its_first_lifetime_and_expires_after_its_last_refresh()
    {
        // The bucket's expiry entry for the first lifetime fires while the MN is refreshed; it finds nothing due and queues
        // the later deadline, until the MAG goes silent.
        var domain = new Domain(this, [Mn1], BindingSettings.Default with { MaxLifetime = TimeSpan.FromSeconds(4) }); // one 4 s unit
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address, MagSettings.Default with { RequestedLifetime = TimeSpan.FromSeconds(4), RefreshAt = 0.25 });
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        var firstExpiry = Assert.Single(domain.Binding(Mn1).Sessions).ExpiresAt;
        AwaitAssert(() => Assert.True(DateTimeOffset.UtcNow > firstExpiry.AddSeconds(1.5)), TimeSpan.FromSeconds(7), TimeSpan.FromMilliseconds(250));
        Assert.True(Assert.Single(domain.Binding(Mn1).Sessions).ExpiresAt > firstExpiry); // past the first deadline, still bound
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m => m.Destination == Domain.LmaAddress)); // the MAG goes silent
        AwaitAssert(() => Assert.Empty(domain.Binding(Mn1).Sessions), TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public void Lifetime_expiry_removes_the_binding_and_frees_the_prefix()
    {
        var domain = new Domain(this, [Mn1], BindingSettings.Default with { MaxLifetime = TimeSpan.FromSeconds(4) });
        var (mag1, _, reports) = domain.StartMag(Domain.Mag1Address);
        mag1.Tell(new MobileNodeAttached(Domain.Attach(Mn1)));
        Domain.Expect(reports, Mn1, MagSessionPhase.Registered);
        domain.Network.Tell(new InMemoryNetwork.SetDropFilter(m => m.Destination == Domain.LmaAddress)); // the MAG goes silent
        Assert.Single(domain.Binding(Mn1).Sessions);
        AwaitAssert(() => Assert.Empty(domain.Binding(Mn1).Sessions), TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(250));
    }
}
