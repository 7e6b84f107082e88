// The distinct prefix lengths in use by a prefix-keyed table, longest first, so a longest-prefix lookup
// is one dictionary probe per length in use (one, in practice: the pool hands out one length). Writers
// call Add/Remove under their own lock; readers take Current without one (it is replaced, never changed).
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Forwarding;

internal sealed class PrefixLengths
{
    private readonly int[] _use = new int[129];
    private volatile byte[] _current = [];

    public byte[] Current => _current;

    public void Add(byte length)
    {
        if (_use[length]++ == 0)
            Rebuild();
    }

    public void Remove(byte length)
    {
        if (--_use[length] == 0)
            Rebuild();
    }

    /// <summary>The prefix with every host bit cleared: the form the tables key on.</summary>
    public static Ipv6Prefix Normalize(Ipv6Prefix prefix) => new(prefix.Address.Mask(prefix.Length), prefix.Length);

    private void Rebuild()
    {
        var lengths = new List<byte>();
        for (var l = 128; l >= 0; l--)
            if (_use[l] > 0)
                lengths.Add((byte)l);
        _current = [.. lengths];
    }
}
