// The node's read model of its bindings, fed by BindingChanged from every entity it hosts: answers
// /status and `pmip6 status` without waking entities, and finds the MNs served by one MAG (for a
// MAG's global revocation).
using System.Collections.Immutable;
using Akka.Actor;

namespace Pmip6Akka.Actors.Lma;

public sealed class BindingIndex : ReceiveActor
{
    private readonly Dictionary<string, ImmutableArray<SessionView>> _bindings = new(StringComparer.Ordinal);
    private int _sessions;

    public BindingIndex()
    {
        Receive<BindingChanged>(changed =>
        {
            if (_bindings.Remove(changed.MobileNodeId, out var old))
                _sessions -= old.Length;
            if (!changed.Sessions.IsEmpty)
            {
                _bindings[changed.MobileNodeId] = changed.Sessions;
                _sessions += changed.Sessions.Length;
            }
        });
        Receive<GetBindingIndex>(query =>
        {
            var selected = _bindings
                .Where(b => query.AtMag is not { } mag || b.Value.Any(s => s.ProxyCoa == mag))
                .Take(query.Limit)
                .Select(b => new BindingSnapshot(b.Key, b.Value));
            Sender.Tell(new BindingIndexView(_bindings.Count, _sessions, [.. selected]));
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new BindingIndex());
}
