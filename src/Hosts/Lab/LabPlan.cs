// The lab's address plan (docs/LAB.md): every namespace, device, address and MAC the lab uses,
// derived from the number of MAGs and mobile nodes only, so `up`, `move`, `status`, `down` and the
// tests agree without sharing state. Addresses come from 2001:db8::/32 only.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Pmip6Akka.Hosts.Lab;

public sealed record MagPlan(int Index, string Name, string Namespace, string Address, string LmaSideDevice, int HttpPort);

public sealed record MobileNodePlan(int Index, string Name, string Namespace, string MnId, string Mac, string MagSideDevice)
{
    /// <summary>The node's second interface (`lab up --interfaces 2`): its own MAC, at MAG 2, MAG-side end `mnKb`.</summary>
    public string SecondMac => $"02:00:00:01:{Index >> 8 & 0xff:x2}:{Index & 0xff:x2}";

    public string SecondMagSideDevice => $"{Name}b";
}

/// <param name="Interfaces">1: each node has one interface (eth0, attached at MAG 1); 2: also eth1, attached at MAG 2 at the same time (flow mobility).</param>
/// <param name="Lmas">LMA nodes: 1 (one daemon in pmip-lma, the transport behind it), or a cluster (pmip-lma1..N behind the core router pmip-core).</param>
/// <param name="Store">The LMA's journal: "sqlite" (one node) or "postgres" (the cluster's, PostgreSQL started by the lab).</param>
public sealed partial record LabPlan(int Mags, int MobileNodes, int Interfaces = 1, int Lmas = 1, string Store = LabPlan.Sqlite)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const int MaxLmas = 3;

    /// <summary>Whether the LMA runs as a cluster (docs/LAB.md, "The cluster lab"): more than one node, or PostgreSQL as its journal.</summary>
    public bool Cluster => Lmas > 1 || Store == Postgres;

    /// <summary>The LMA address the MAGs signal to: the single LMA's, or the cluster's shared address.</summary>
    public string MagsLmaAddress => Cluster ? LabCluster.SharedAddress : LmaAddress;

    public const int MaxInterfaces = 2;
    public const string SecondMnDevice = "eth1";

    public const int MaxMags = 16;
    public const int MaxMobileNodes = 50;

    public const string LmaNamespace = "pmip-lma";
    public const string CnNamespace = "pmip-cn";
    public const string RunDirectory = "/run/pmip6-lab";
    public const string TransportBridge = "br-transport";
    public const string LmaAddress = "2001:db8:ff::1";
    public const int TransportPrefixLength = 64;
    public const string CnLmaSideDevice = "cn";
    public const string CnLmaSideAddress = "2001:db8:cc::1";
    public const string CnAddress = "2001:db8:cc::2";
    public const string CnDevice = "eth0";
    public const int CnPrefixLength = 64;
    public const string MnDevice = "eth0";
    public const string PrefixPool = "2001:db8:a000::/40";
    public const int PrefixLength = 64;
    /// <summary>RFC 5213 §6.8: the MAG-side end of every access link carries this MAC (and so the same link-local) at every MAG.</summary>
    public const string MagAccessMac = "02:00:5e:00:52:13";
    public const int LmaHttpPort = 9180;
    public const int MagHttpPort = 9181;
    public const string TunnelDevice = "pmip6-tun";
    public const int TunnelMtu = 1460;
    public const string MnIdDomain = "@lab.pmip6";

    public static LabPlan Create(int mags, int mobileNodes, int interfaces = 1, int lmas = 1, string store = Sqlite)
    {
        if (lmas is < 1 or > MaxLmas)
            throw new ArgumentOutOfRangeException(nameof(lmas), $"from 1 to {MaxLmas} LMA nodes");
        if (store is not (Sqlite or Postgres))
            throw new ArgumentOutOfRangeException(nameof(store), "the store is sqlite or postgres");
        if (lmas > 1 && store == Sqlite)
            throw new ArgumentOutOfRangeException(nameof(store), "several LMA nodes share one journal: PostgreSQL (SQLite is one process's file)");
        if (lmas > 1 && interfaces == 2)
            throw new ArgumentOutOfRangeException(nameof(interfaces), "flow mobility (two interfaces) runs on a single LMA in the lab");
        if (interfaces is < 1 or > MaxInterfaces)
            throw new ArgumentOutOfRangeException(nameof(interfaces), $"from 1 to {MaxInterfaces} interfaces per mobile node");
        if (interfaces == 2 && mags < 2)
            throw new ArgumentOutOfRangeException(nameof(interfaces), "two interfaces per mobile node need at least 2 MAGs (the second interface attaches at mag2)");
        if (mags is < 1 or > MaxMags)
            throw new ArgumentOutOfRangeException(nameof(mags), $"from 1 to {MaxMags} MAGs");
        if (mobileNodes is < 1 or > MaxMobileNodes)
            throw new ArgumentOutOfRangeException(nameof(mobileNodes), $"from 1 to {MaxMobileNodes} mobile nodes");
        return new LabPlan(mags, mobileNodes, interfaces, lmas, store);
    }

    /// <summary>The mobile nodes' interfaces: eth0, and eth1 with two.</summary>
    public IReadOnlyList<string> MnDevices => Interfaces == 2 ? [MnDevice, SecondMnDevice] : [MnDevice];

    public IReadOnlyList<MagPlan> MagList => [.. Enumerable.Range(1, Mags).Select(Mag)];

    public IReadOnlyList<MobileNodePlan> MobileNodeList => [.. Enumerable.Range(1, MobileNodes).Select(MobileNode)];

    public static MagPlan Mag(int n) =>
        new(n, $"mag{n}", $"pmip-mag{n}", $"2001:db8:ff::1:{n.ToString("x", CultureInfo.InvariantCulture)}", $"mag{n}", MagHttpPort);

    public static MobileNodePlan MobileNode(int k) =>
        new(k, $"mn{k}", $"pmip-mn{k}", $"mn{k}{MnIdDomain}", $"02:00:00:00:{k >> 8 & 0xff:x2}:{k & 0xff:x2}", $"mn{k}");

    public static string MagNamespace(int n) => $"pmip-mag{n}";

    /// <summary>"mag2" → 2; null when the name is not a MAG name.</summary>
    public static int? ParseMag(string name) => ParseIndexed(name, "mag");

    /// <summary>"mn3" → 3; null when the name is not a mobile node name.</summary>
    public static int? ParseMobileNode(string name) => ParseIndexed(name, "mn");

    private static int? ParseIndexed(string name, string stem) =>
        name.StartsWith(stem, StringComparison.Ordinal) && name.Length > stem.Length && name.Length <= stem.Length + 3
        && name[stem.Length..].All(char.IsAsciiDigit) && name[stem.Length] != '0'
            ? int.Parse(name[stem.Length..], CultureInfo.InvariantCulture)
            : null;

    /// <summary>
    /// Whether a namespace belongs to the lab: pmip-lma, pmip-lma1.., pmip-core, pmip-load, pmip-magN, pmip-cn, pmip-mnK.
    /// Not pmip-t* (the tests') nor pmip-bench (the signalling benchmark's).
    /// </summary>
    public static bool IsLabNamespace(string name) => LabNamespacePattern().IsMatch(name);

    [GeneratedRegex("^pmip-(lma([1-9][0-9]*)?|core|load|mag[1-9][0-9]*|cn|mn[1-9][0-9]*)$")]
    private static partial Regex LabNamespacePattern();

    /// <summary>Whether <paramref name="address"/> (text) lies inside the HNP pool.</summary>
    public static bool InPool(string address) =>
        Pmip6Akka.Dataplane.Wire.Ipv6Address.TryParse(address, out var a)
        && Pmip6Akka.Dataplane.Wire.Ipv6Prefix.Parse(PrefixPool).Contains(a);
}
