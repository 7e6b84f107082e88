// A node's QoS profile on its access link at the MAG (Context Reflector, issue 7: the next MAG applies
// the profile the context carries): the downlink rate as a token bucket on the access device's egress,
// `tc qdisc replace dev DEV root tbf rate Nkbit burst B latency 50ms` (tc-tbf(8)); removed with
// `tc qdisc del dev DEV root`. One node per access link, so the device's root qdisc is the node's.
// The uplink rate is not enforced: policing ingress needs the kernel's act_police module, which this
// kernel lacks (checked: "Failed to load TC action module") — the profile's uplink rate is reported only.
using System.Globalization;

namespace Pmip6Akka.Dataplane.Linux;

public sealed class AccessShaper(string executable = "tc", TimeSpan? timeout = null)
{
    public const string Package = "iproute2";
    private readonly TimeSpan _timeout = timeout ?? TimeSpan.FromSeconds(10);

    /// <summary>The tc arguments for a downlink limit of <paramref name="kbps"/>: burst = 10 ms at that rate, at least 3000 bytes.</summary>
    public static IReadOnlyList<string> ShapeArguments(string device, uint kbps)
    {
        var burstBytes = Math.Max(3000, (long)kbps * 1000 / 8 / 100);
        return ["qdisc", "replace", "dev", device, "root", "tbf", "rate", kbps.ToString(CultureInfo.InvariantCulture) + "kbit",
            "burst", burstBytes.ToString(CultureInfo.InvariantCulture), "latency", "50ms"];
    }

    public bool TryShape(string device, uint downlinkKbps, out string error) => TryTc(ShapeArguments(device, downlinkKbps), out error);

    /// <summary>Removes our root qdisc; a device that has none (or is gone) is not an error.</summary>
    public bool TryClear(string device, out string error)
    {
        if (TryTc(["qdisc", "del", "dev", device, "root"], out error))
            return true;
        var absent = error.Contains("No such file", StringComparison.OrdinalIgnoreCase) || error.Contains("Cannot find device", StringComparison.OrdinalIgnoreCase)
                     || error.Contains("Cannot delete qdisc with handle of zero", StringComparison.OrdinalIgnoreCase);
        if (absent)
            error = "";
        return absent;
    }

    private bool TryTc(IReadOnlyList<string> arguments, out string error)
    {
        if (!ToolProcess.TryRun(executable, Package, arguments, _timeout, out var result, out error))
            return false;
        if (result.Code == 0)
            return true;
        error = $"{executable} {string.Join(' ', arguments)} failed ({result.Code}): {result.Error.Trim()}";
        return false;
    }
}
