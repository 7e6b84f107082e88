// The LMA's `flow-mobility { ... }` block (issue 8): what the binding entities do (FlowMobilitySettings),
// the userspace forwarder's flow table (FlowTableSettings, only when enabled) and the move-on-loss threshold.
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;

namespace Pmip6Akka.Hosts.Config;

public sealed record FlowMobilityConfig(FlowMobilitySettings Entity, FlowTableSettings Table, double LossThreshold)
{
    /// <summary>The devices whose egress qdisc counters measure each MAG's tunnel loss; empty: no move on loss.</summary>
    public IReadOnlyList<TunnelDevice> LossDevices { get; init; } = [];

    /// <summary>How often the qdisc counters are read (one estimator window).</summary>
    public TimeSpan LossInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Move on loss runs when flow mobility is on and at least one loss device is configured.</summary>
    public bool MovesOnLoss => Enabled && LossDevices.Count > 0;

    public static readonly FlowMobilityConfig Off = new(FlowMobilitySettings.Default, FlowTableSettings.Default, 0.05);

    public bool Enabled => Entity.Enabled;

    /// <summary>The forwarder's flow table settings, or null (prefix-only forwarding) when flow mobility is off.</summary>
    public FlowTableSettings? TableIfEnabled => Enabled ? Table : null;

    public static FlowMobilityConfig Read(ConfigReader c, string path)
    {
        const string b = "flow-mobility.";
        var d = FlowMobilitySettings.Default;
        var initial = c.Duration(b + "initiate-retransmit-initial", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(32), d.InitialRetransmitDelay);
        var max = c.Duration(b + "initiate-retransmit-max", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), d.MaxRetransmitDelay);
        if (max < initial)
            throw new ConfigurationError($"{path}.{b}initiate-retransmit-max",
                $"{max.TotalMilliseconds} ms is shorter than initiate-retransmit-initial ({initial.TotalMilliseconds} ms)");
        var t = FlowTableSettings.Default;
        var devices = new List<TunnelDevice>();
        var i = 0;
        foreach (var entry in c.Objects(b + "loss-devices"))
        {
            var at = $"{path}.{b}loss-devices[{i++}]";
            var device = entry.String("device");
            if (device.Length is 0 or > 15 || device.Contains('/') || device.Any(char.IsWhiteSpace))
                throw new ConfigurationError($"{at}.device", $"'{device}' is not an interface name (1 to 15 characters, no '/' or space)");
            var mag = entry.Address("mag");
            if (devices.Any(d => d.Mag == mag))
                throw new ConfigurationError($"{at}.mag", $"{mag} is listed twice");
            entry.RefuseUnreadKeys();
            devices.Add(new TunnelDevice(mag, device));
        }
        return new FlowMobilityConfig(
            new FlowMobilitySettings
            {
                Enabled = c.Bool(b + "enabled", false),
                InitialRetransmitDelay = initial,
                MaxRetransmitDelay = max,
                MaxAttempts = c.Int(b + "initiate-max-attempts", 1, 20, d.MaxAttempts),
                MaxRoutesPerMobileNode = c.Int(b + "max-routes-per-mn", 1, 4096, d.MaxRoutesPerMobileNode),
            },
            t with
            {
                MaxFlows = c.Int(b + "max-flows", 1, 1 << 24, t.MaxFlows),
                IdleTimeout = c.Duration(b + "flow-idle-timeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(24), t.IdleTimeout),
                RateWindow = c.Duration(b + "rate-window", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), t.RateWindow),
            },
            c.Int(b + "loss-threshold-percent", 1, 100, 5) / 100.0)
        {
            LossDevices = devices,
            LossInterval = c.Duration(b + "loss-interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)),
        };
    }
}
