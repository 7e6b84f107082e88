// `pmip6 flow list` / `pmip6 flow move` and the LMA's /flows endpoints (issue 8): the flow table's rows
// with their mobile node, a move turned into the binding entity's RouteFlow for that flow's key, and
// every bad input answered with its own message. The LMA side is FlowEndpoints behind a real
// AdminHttpServer, with the binding entity stood in for by a function.
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Hosts.Http;

namespace Pmip6Akka.Hosts.Tests;

public sealed class FlowCommandsSpec : IAsyncDisposable
{
    private const string Mn = "mn1@pmip6.example";
    private static readonly Ipv6Address Cn = Ipv6Address.Parse("2001:db8:cc::2");
    private static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a000:5::/64");
    private static readonly Ipv6Address Host = Ipv6Address.Parse("2001:db8:a000:5::10");
    private static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:1::2");
    private static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:2::2");
    private readonly TunnelTable _tunnels = new();
    private readonly FlowTable _flows;
    private readonly List<RouteFlow> _asked = [];
    private FlowRouteAnswer _answer = new(Mn, 7, null);
    private readonly AdminHttpServer _server;
    private readonly string _endpoint;

    public FlowCommandsSpec()
    {
        _tunnels.Set(Hnp, Mag1);
        _flows = new FlowTable(_tunnels);
        var index = new BindingIndexView(1, 1, [new BindingSnapshot(Mn,
            [new SessionView(1, [Hnp], Mag1, SessionState.Active, AccessTechnologyType.Ieee8023, "0201", DateTimeOffset.UtcNow.AddHours(1))])]);
        var port = FreePort();
        _endpoint = $"http://127.0.0.1:{port}";
        _server = new AdminHttpServer(new Uri(_endpoint), request => (request.HttpMethod, request.Url!.AbsolutePath) switch
        {
            ("GET", "/flows") => Task.FromResult(FlowEndpoints.List(_flows, index)),
            ("POST", "/flows/move") => FlowEndpoints.Move(request.QueryString["mn-id"], request.QueryString["flow-id"], request.QueryString["to"], _flows,
                move => { lock (_asked) _asked.Add(move); return Task.FromResult(_answer); }),
            _ => Task.FromResult(HttpReply.Json("{}", 404)),
        }, _ => { });
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>An IPv6 UDP packet from the CN to the mobile node.</summary>
    private static byte[] Udp(ushort sourcePort, ushort destinationPort)
    {
        var packet = new byte[48];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 8);
        packet[6] = IpProtocol.Udp;
        packet[7] = 64;
        Cn.Write(packet.AsSpan(8));
        Host.Write(packet.AsSpan(24));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(40), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(42), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(44), 8);
        return packet;
    }

    private void Traffic()
    {
        Assert.Equal(ForwardingVerdict.Forward, _flows.Classify(Udp(40000, 5004), Stopwatch.GetTimestamp(), out _));
        Assert.Equal(ForwardingVerdict.Forward, _flows.Classify(Udp(40001, 5001), Stopwatch.GetTimestamp(), out _));
    }

    [Fact]
    public void Flow_list_shows_each_flow_with_its_mobile_node_and_tunnel()
    {
        Traffic();
        var run = Cli.Run("flow", "list", "--endpoint", _endpoint);
        Assert.Equal(0, run.ExitCode);
        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains($"[{Cn}]:40000 -> [{Host}]:5004 p17", lines[1]);
        Assert.Contains(Mn, lines[1]);
        Assert.Contains(Mag1.ToString(), lines[1]);
        Assert.Equal("2 flows", lines[3].Trim());

        var json = Cli.Run("flow", "list", "--json", "--endpoint", _endpoint);
        using var doc = System.Text.Json.JsonDocument.Parse(json.Out);
        var first = doc.RootElement.GetProperty("flows")[0];
        Assert.Equal((1UL, Mn, 5004), (first.GetProperty("id").GetUInt64(), first.GetProperty("mnId").GetString(), first.GetProperty("destinationPort").GetInt32()));
    }

    [Fact]
    public void Flow_move_asks_the_mobile_nodes_binding_entity_to_route_that_flows_six_tuple()
    {
        Traffic();
        var run = Cli.Run("flow", "move", Mn, "2", "--to", Mag2.ToString(), "--endpoint", _endpoint);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("\"routeId\":7", run.Out);
        var asked = Assert.Single(_asked);
        Assert.Equal(new RouteFlow(Mn, new FlowKey(Cn, Host, 0, IpProtocol.Udp, 40001, 5001, true), Mag2), asked);
    }

    [Fact]
    public void A_refused_or_impossible_move_fails_with_the_reason()
    {
        Traffic();
        _answer = new FlowRouteAnswer(Mn, 0, FlowMoveDecision.Describe(FlowMoveRefusal.NoSessionAtMag));
        var refused = Cli.Run("flow", "move", Mn, "1", "--to", Mag2.ToString(), "--endpoint", _endpoint);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("the mobile node has no active session at that MAG", refused.Err);

        var unknown = Cli.Run("flow", "move", Mn, "99", "--to", Mag2.ToString(), "--endpoint", _endpoint);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no flow 99 in the flow table", unknown.Err);
        Assert.Single(_asked); // the unknown flow never reached the entity
    }

    [Theory]
    [InlineData("flow move mn1 first --to 2001:db8:2::2", "flow-id must be a flow number")]
    [InlineData("flow move mn1 0 --to 2001:db8:2::2", "flow-id must be a flow number")]
    [InlineData("flow move mn1 3", "--to <mag-address> is required")]
    [InlineData("flow move mn1 3 --to mag2", "--to 'mag2' is not an IPv6 address")]
    [InlineData("flow move mn1", "flow-id")]
    [InlineData("flow list --colour", "unknown option --colour")]
    public void Bad_flow_arguments_exit_2_naming_the_problem(string line, string reason)
    {
        var run = Cli.Run(line.Split(' '));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(reason, run.Err);
    }

    [Fact]
    public async Task The_endpoint_names_each_bad_query_and_a_table_that_is_off()
    {
        Task<FlowRouteAnswer> Never(RouteFlow _) => throw new Xunit.Sdk.XunitException("must not be asked");
        async Task<(int, string)> Move(string? mn, string? id, string? to, FlowTable? flows)
        {
            var reply = await FlowEndpoints.Move(mn, id, to, flows, Never);
            return (reply.Status, reply.Body);
        }
        Assert.Equal((400, """{"error":"missing query parameter mn-id"}"""), await Move(null, "1", "2001:db8:2::2", _flows));
        Assert.Equal((400, """{"error":"missing query parameter flow-id"}"""), await Move(Mn, "", "2001:db8:2::2", _flows));
        Assert.Equal(400, (await Move(Mn, "-1", "2001:db8:2::2", _flows)).Item1);
        Assert.Equal((400, """{"error":"missing query parameter to (the address of the MAG)"}"""), await Move(Mn, "1", null, _flows));
        Assert.Equal(400, (await Move(Mn, "1", "::zz", _flows)).Item1);
        Assert.Equal(409, (await Move(Mn, "1", "2001:db8:2::2", null)).Item1);
        var off = FlowEndpoints.List(null, new BindingIndexView(0, 0, ImmutableArray<BindingSnapshot>.Empty));
        Assert.Equal(409, off.Status);
        Assert.Contains("flow-mobility.enabled = on", off.Body);
    }
}
