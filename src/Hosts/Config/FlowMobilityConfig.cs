// The LMA's `flow-mobility { ... }` block (issue 8): what the binding entities do (FlowMobilitySettings),
// the userspace forwarder's flow table (FlowTableSettings, only when enabled) and the move-on-loss threshold.
using Pmip6Akka.Actors.Lma;
using Pmip6Akka.Dataplane.Forwarding;

namespace Pmip6Akka.Hosts.Config;

public sealed record FlowMobilityConfig(FlowMobilitySettings Entity, FlowTableSettings Table, double LossThreshold)
{
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
            c.Int(b + "loss-threshold-percent", 1, 100, 5) / 100.0);
    }
}
