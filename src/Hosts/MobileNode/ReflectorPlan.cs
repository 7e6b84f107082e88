// What `pmip6 mn-reflector` does to a weak-host mobile node, as a pure function of what the node's
// kernel shows (RFC 7864's weak-host model; the UC3M design's "packet reflector"):
// - every global address the node learned on one of its interfaces (SLAAC from that MAG's router
//   advertisement: a /64 of the interface's home network prefix) is also put on every other managed
//   interface that is up, as a /128 without a prefix route and without DAD, with the original's
//   lifetimes. The MAG that a flow is moved to then finds the address on its link (its neighbour
//   solicitation is answered), and when one interface goes down its addresses live on, on the
//   others, for as long as their prefix's advertised lifetime: the flows through them survive.
// - a copy whose original is gone is left to its lifetime (that is the outage case), never removed here;
//   a copy is refreshed when the original's lifetime moved on by more than RefreshSlack.
// - each interface's default router (learned from its RAs, in the main table) is copied into a table of
//   its own, so that a connection's uplink can be sent out of the interface its downlink arrives on
//   (conntrack mark per interface, restored on output, one policy rule per mark).
namespace Pmip6Akka.Hosts.MobileNode;

/// <summary>One global IPv6 address of the node: where, its prefix length, lifetimes in seconds (uint.MaxValue: forever), SLAAC-learned or not.</summary>
public sealed record HostAddress(string Device, string Address, int PrefixLength, uint ValidSeconds, uint PreferredSeconds, bool Dynamic);

/// <summary>An interface the reflector manages: its name, whether it is up with carrier, and its RA default router (null: none now).</summary>
public sealed record HostInterface(string Device, bool Usable, string? DefaultRouter);

public abstract record ReflectorAction
{
    /// <summary>Put <paramref name="Address"/>/128 on <paramref name="Device"/> (add or refresh its lifetimes).</summary>
    public sealed record CopyAddress(string Device, string Address, uint ValidSeconds, uint PreferredSeconds) : ReflectorAction;

    /// <summary>Point interface <paramref name="Device"/>'s table at its router, or empty it when <paramref name="Router"/> is null.</summary>
    public sealed record SetUplinkRoute(string Device, int Table, string? Router) : ReflectorAction;
}

public static class ReflectorPlan
{
    /// <summary>A copy is rewritten when its lifetime lags the original's by more than this.</summary>
    public const uint RefreshSlack = 30;

    /// <summary>Mark (and table offset) of the interface at <paramref name="position"/> (0-based) in the managed list.</summary>
    public static int Mark(int position) => position + 1;

    public static int Table(int position) => 5200 + Mark(position);

    public static IReadOnlyList<ReflectorAction> Decide(IReadOnlyList<HostInterface> interfaces, IReadOnlyList<HostAddress> addresses,
        IReadOnlyDictionary<string, string?> uplinkRoutes)
    {
        var actions = new List<ReflectorAction>();
        var managed = interfaces.Select(i => i.Device).ToHashSet(StringComparer.Ordinal);
        var originals = addresses.Where(a => managed.Contains(a.Device) && a.PrefixLength != 128).ToList();
        foreach (var original in originals)
        {
            foreach (var target in interfaces)
            {
                if (!target.Usable || target.Device == original.Device)
                    continue;
                var present = addresses.FirstOrDefault(a => a.Device == target.Device && a.Address == original.Address);
                if (present is not null && (present.PrefixLength != 128 || Lags(present, original) is false))
                    continue; // the target learned it itself, or the copy is fresh enough
                actions.Add(new ReflectorAction.CopyAddress(target.Device, original.Address, original.ValidSeconds, original.PreferredSeconds));
            }
        }
        for (var i = 0; i < interfaces.Count; i++)
        {
            var wanted = interfaces[i].Usable ? interfaces[i].DefaultRouter : null;
            if (!uplinkRoutes.TryGetValue(interfaces[i].Device, out var current) || current != wanted)
                actions.Add(new ReflectorAction.SetUplinkRoute(interfaces[i].Device, Table(i), wanted));
        }
        return actions;
    }

    private static bool Lags(HostAddress copy, HostAddress original) =>
        original.ValidSeconds == uint.MaxValue ? copy.ValidSeconds != uint.MaxValue
            : copy.ValidSeconds + RefreshSlack < original.ValidSeconds || copy.ValidSeconds > original.ValidSeconds + RefreshSlack;
}
