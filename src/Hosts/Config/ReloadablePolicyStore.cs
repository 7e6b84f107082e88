// The MN policy profiles a running daemon uses, swappable on SIGHUP: the LMA's admission and the MAG's
// node and access links hold this store, and every lookup reads the profile set loaded last. A reload
// that does not read well leaves the previous set in use.
using Pmip6Akka.Actors.Lma;

namespace Pmip6Akka.Hosts.Config;

public sealed class ReloadablePolicyStore : IPolicyStore
{
    private PolicyStore _current;

    private ReloadablePolicyStore(string file, PolicyStore current)
    {
        File = file;
        _current = current;
    }

    /// <summary>The policy file (absolute path) this store reads.</summary>
    public string File { get; }

    /// <summary>The profile set in use.</summary>
    public PolicyStore Current => Volatile.Read(ref _current);

    public int Count => Current.Count;

    public static ReloadablePolicyStore Load(string file) => new(file, PolicyStore.Load(file));

    public MobileNodePolicy? Find(string mobileNodeId) => Current.Find(mobileNodeId);

    public string? MobileNodeIdFor(ReadOnlySpan<byte> linkLayerAddress) => Current.MobileNodeIdFor(linkLayerAddress);

    /// <summary>Reads the file again and swaps the new set in; on a problem returns it (naming the key) and keeps the old set.</summary>
    public ConfigurationError? Reload()
    {
        try
        {
            Volatile.Write(ref _current, PolicyStore.Load(File));
            return null;
        }
        catch (ConfigurationError e)
        {
            return e;
        }
    }
}
