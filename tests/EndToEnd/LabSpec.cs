// `pmip6 lab` end to end, through the built pmip6.dll as an operator runs it: unmodified Linux
// mobile nodes get their prefix by SLAAC, reach the CN through the userspace tunnel, keep their
// address and TCP connections across moves and across an LMA crash, and `lab down` leaves nothing.
// One lab is shared by the specs of this collection (not run in parallel with anything: the lab's
// namespace names are fixed); it is brought up on demand and always taken down at the end.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Pmip6Akka.Hosts.Lab;

namespace Pmip6Akka.EndToEnd.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "lab";
}

public sealed class LabFixture : IDisposable
{
    private bool _up;
    private string? _upFailure;

    public LabFixture() => Lab("down"); // a lab left by an interrupted run would block `lab up`

    /// <summary>Runs `pmip6 lab ARGS` (as root, in the host namespace).</summary>
    public (int ExitCode, string Out, string Err) Lab(params string[] args) => Lab(TimeSpan.FromMinutes(2), args);

    /// <summary>Runs `pmip6 lab ARGS`, killed after <paramref name="timeout"/> (a scenario that brings up a cluster runs longer).</summary>
    public (int ExitCode, string Out, string Err) Lab(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { DaemonDomain.Pmip6Dll, "lab" }.Concat(args))
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
            process.Kill(entireProcessTree: true);
        return (process.ExitCode, output, err.Result);
    }

    /// <summary>A lab with 2 MAGs and 1 mobile node (on mag1 after start-up); a failed start fails every later spec at once.</summary>
    public void EnsureUp()
    {
        if (_upFailure is not null)
            throw new Xunit.Sdk.XunitException($"lab up failed earlier: {_upFailure}");
        if (_up)
            return;
        var up = Lab("up", "--mags", "2", "--mns", "1", "--timeout", "30");
        if (up.ExitCode != 0)
        {
            _upFailure = $"exit {up.ExitCode}: {up.Err.Trim()}";
            throw new Xunit.Sdk.XunitException($"lab up failed: {_upFailure}");
        }
        _up = true;
    }

    public void MarkDown() => _up = false;

    public JsonElement Status()
    {
        var status = Lab("status", "--json");
        Assert.True(status.ExitCode == 0, status.Err);
        return JsonDocument.Parse(status.Out).RootElement;
    }

    public JsonElement MobileNode(JsonElement status) => status.GetProperty("mns")[0];

    public string Address() => Assert.Single(MobileNode(Status()).GetProperty("addresses").EnumerateArray()).GetString()!;

    /// <summary>Moves mn1 to the MAG it is not on; returns that MAG's name.</summary>
    public string MoveToOtherMag()
    {
        var current = MobileNode(Status()).GetProperty("mag").GetString();
        var target = current == "mag1" ? "mag2" : "mag1";
        var move = Lab("move", "mn1", target);
        Assert.True(move.ExitCode == 0, $"lab move failed: {move.Err}");
        Assert.Contains("detach to registration", move.Out);
        return target;
    }

    public void Dispose() => Lab("down");
}

[Collection(LabCollection.Name)]
public sealed class LabSpec(LabFixture lab)
{
    private static bool Ping(string ns, string address, int count = 3) =>
        Hosts.Lab.Tool.TryRun("ip", ["netns", "exec", ns, "ping", "-6", "-c", $"{count}", "-i", "0.2", "-W", "2", address]).ExitCode == 0;

    [Fact]
    public void A_mobile_node_gets_a_global_address_from_its_home_network_prefix_by_slaac()
    {
        lab.EnsureUp();
        var status = lab.Status();
        var mn = lab.MobileNode(status);
        var hnp = Dataplane.Wire.Ipv6Prefix.Parse(Assert.Single(mn.GetProperty("hnps").EnumerateArray()).GetString()!);
        var address = Dataplane.Wire.Ipv6Address.Parse(lab.Address());
        Assert.True(hnp.Contains(address), $"{address} is not in {hnp}");
        Assert.True(Dataplane.Wire.Ipv6Prefix.Parse(LabPlan.PrefixPool).Contains(hnp.Address));
        // SLAAC from the MN's MAC 02:00:00:00:00:01 (modified EUI-64).
        Assert.EndsWith("::ff:fe00:1", address.ToString());
    }

    [Fact]
    public void The_cn_and_the_mobile_node_ping_each_other_through_the_tunnel()
    {
        lab.EnsureUp();
        var address = lab.Address();
        Assert.True(Ping(LabPlan.CnNamespace, address), $"CN cannot ping the MN at {address}");
        Assert.True(Ping("pmip-mn1", LabPlan.CnAddress), "the MN cannot ping the CN");
    }

    [Fact]
    public void A_tcp_connection_survives_a_move_and_the_mobile_node_keeps_its_address()
    {
        lab.EnsureUp();
        var before = lab.Address();
        using var transfer = new TcpTransfer(LabPlan.CnNamespace, "pmip-mn1", IPAddress.Parse(before), 512 * 1024, Stopwatch.GetTimestamp());
        transfer.Start(TimeSpan.FromSeconds(10));
        Thread.Sleep(500);
        lab.MoveToOtherMag();
        Thread.Sleep(1500);
        var result = transfer.Finish(TimeSpan.FromSeconds(15));
        Assert.True(result.Ok, $"TCP: {result.BytesReceived} of {result.BytesSent} bytes, {result.Error}");
        Assert.True(result.BytesSent > 512 * 1024, $"only {result.BytesSent} bytes sent");
        Assert.Equal(before, lab.Address());
    }

    [Fact]
    public void The_lma_binding_cache_shows_the_new_proxy_care_of_address_after_a_move()
    {
        lab.EnsureUp();
        var target = lab.MoveToOtherMag();
        var expected = LabPlan.Mag(LabPlan.ParseMag(target)!.Value).Address;
        var binding = Assert.Single(lab.Status().GetProperty("bindings").EnumerateArray());
        Assert.Equal("mn1@lab.pmip6", binding.GetProperty("mnId").GetString());
        Assert.Equal(expected, binding.GetProperty("proxyCoa").GetString());
        Assert.Equal("registered", binding.GetProperty("state").GetString());
        Assert.Equal(target, lab.MobileNode(lab.Status()).GetProperty("mag").GetString());
    }

    [Fact]
    public void After_the_lma_is_killed_and_restarted_traffic_recovers_and_the_mobile_node_keeps_its_address()
    {
        lab.EnsureUp();
        var address = lab.Address();
        var pid = LabState.ReadPid(LabPlan.RunDirectory, "lma")!.Value;
        LabDaemons.Kill(pid);
        Assert.False(LabDaemons.IsAlive(pid));

        var restarted = LabDaemons.Start(LabPlan.RunDirectory, "lma", LabPlan.LmaNamespace, "lma", Path.Combine(LabPlan.RunDirectory, LabConfigs.LmaFile));
        LabDaemons.AwaitReady(LabPlan.RunDirectory, "lma", LabPlan.LmaNamespace, LabPlan.LmaHttpPort, restarted, LabUp.DaemonStartTimeout, CancellationToken.None);
        DaemonDomain.Eventually(() => Assert.True(Ping(LabPlan.CnNamespace, address, 2), $"CN cannot reach {address} after the LMA restart"),
            TimeSpan.FromSeconds(30));
        Assert.Equal(address, lab.Address());
        Assert.Equal("ok", lab.Status().GetProperty("lma")[0].GetProperty("health").GetString());
    }

    [Fact]
    public void Lab_down_leaves_no_namespace_process_or_run_directory_and_is_idempotent()
    {
        lab.EnsureUp();
        var pids = LabState.ReadPids(LabPlan.RunDirectory).Values.ToList();
        Assert.NotEmpty(pids);

        var down = lab.Lab("down");
        lab.MarkDown();
        Assert.True(down.ExitCode == 0, down.Err);
        Assert.Empty(LabTeardown.LabNamespaces());
        Assert.All(pids, pid => Assert.False(LabDaemons.IsAlive(pid), $"daemon {pid} still runs"));
        Assert.False(Directory.Exists(LabPlan.RunDirectory));
        var again = lab.Lab("down");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to remove", again.Out);
    }
}
