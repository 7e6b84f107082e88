// The lab's handover-buffering choice (issue 6): `--buffering on|off` on `lab up` and `lab run`, and
// `--buffer-max-packets N` (the LMA's per-node cap, to provoke overflow). Written into lma.conf's
// `buffering` block and kept in state.json so `lab status` shows what the lab runs with.
using Pmip6Akka.Hosts.Cli;

namespace Pmip6Akka.Hosts.Lab;

public sealed record LabBuffering(bool Enabled = true, int? MaxPacketsPerNode = null)
{
    /// <summary>Context Reflector at the LMA and the MAGs (`lab run --scenario reflector`); off otherwise.</summary>
    public bool Reflector { get; init; }

    /// <summary>The MAGs' authorisation time (`aaa-delay`) before a new node's first PBU.</summary>
    public TimeSpan AaaDelay { get; init; }

    /// <summary>The lma.conf `context-reflector` block.</summary>
    /// <remarks>Contexts live 30 s in the lab (10 s by default) so that an LMA killed and restarted between a de-registration and
    /// the next registration (about 9 s to recover its buckets here) still finds the entry live.</remarks>
    public string ReflectorBlock(string indent) =>
        indent + $"context-reflector {{ enabled = {(Reflector ? "on" : "off")}, downlink = \"forward\", context-lifetime = 30s }}";

    /// <summary>The magN.conf lines for AAA and the Context Reflector.</summary>
    public string MagBlock(string indent) =>
        indent + $"aaa-delay = {(int)AaaDelay.TotalMilliseconds}ms\n" + indent + $"context-reflector {{ enabled = {(Reflector ? "on" : "off")} }}";

    /// <summary>`--mn-reflector on|off`: run `pmip6 mn-reflector` in each two-interface node (null: the default, on).</summary>
    public bool? MnReflector { get; init; }

    /// <summary>`--mn-model shared-prefix`: the flow-mobility shared-prefix model (every MAG advertises all of the node's prefixes,
    /// the node's interfaces share one interface identifier, `ip token`); false: weak host (the default).</summary>
    public bool SharedPrefix { get; init; }

    public string MnModel => SharedPrefix ? "shared-prefix" : "weak-host";

    /// <summary>Whether the nodes of <paramref name="plan"/> run the reflector: only with two interfaces; by default in the weak-host model only.</summary>
    public bool RunsMnReflector(LabPlan plan) => plan.Interfaces == 2 && (MnReflector ?? !SharedPrefix);

    public static readonly LabBuffering Default = new();

    public string Setting => Enabled ? "on" : "off";

    /// <summary>`--buffering on|off` (default on) and `--buffer-max-packets N`; anything else is a usage error.</summary>
    public static LabBuffering FromArguments(Arguments args)
    {
        var text = args.String("buffering");
        var enabled = text switch
        {
            null or "on" => true,
            "off" => false,
            _ => throw new UsageException($"--buffering must be on or off, got '{text}'"),
        };
        var max = args.String("buffer-max-packets") is null ? (int?)null : (int)args.Integer("buffer-max-packets", 0, 1, 1_000_000);
        var reflector = args.String("reflector") switch
        {
            null or "off" => false,
            "on" => true,
            var other => throw new UsageException($"--reflector must be on or off, got '{other}'"),
        };
        var aaa = TimeSpan.FromMilliseconds(args.Integer("aaa-delay-ms", 0, 0, 60_000));
        var mnReflector = args.String("mn-reflector") switch
        {
            null => (bool?)null,
            "on" => true,
            "off" => false,
            var other => throw new UsageException($"--mn-reflector must be on or off, got '{other}'"),
        };
        var shared = args.String("mn-model") switch
        {
            null or "weak-host" => false,
            "shared-prefix" => true,
            var other => throw new UsageException($"--mn-model must be weak-host or shared-prefix, got '{other}'"),
        };
        return new LabBuffering(enabled, max) { Reflector = reflector, AaaDelay = aaa, MnReflector = mnReflector, SharedPrefix = shared };
    }

    /// <summary>The lma.conf `buffering` block.</summary>
    public string ConfigBlock(string indent)
    {
        var lines = new List<string> { "buffering {", $"  enabled = {Setting}" };
        if (MaxPacketsPerNode is { } max)
            lines.Add($"  max-packets-per-node = {max}");
        lines.Add("}");
        return string.Join("\n", lines.Select(l => indent + l));
    }
}
