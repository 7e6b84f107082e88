// The node's read model of its bindings, fed by BindingChanged from every entity it hosts: answers
// /status and `pmip6 status` without waking entities, and finds the MNs served by one MAG (for a
// MAG's global revocation).
using System.Collections.Immutable;
using Akka.Actor;

namespace Pmip6Akka.Actors.Lma;

public sealed class BindingIndex : ReceiveActor
{
    private readonly Dictionary<string, BindingState> _bindings = new(StringComparer.Ordinal);
    private int _sessions;

    public BindingIndex()
    {
        Receive<BindingChanged>(changed =>
        {
            if (_bindings.Remove(changed.MobileNodeId, out var old))
                _sessions -= old.Sessions.Length;
            if (changed.State is { IsEmpty: false } state)
            {
                _bindings[changed.MobileNodeId] = state;
                _sessions += state.Sessions.Length;
            }
        });
        Receive<GetBindingIndex>(query =>
        {
            var selected = _bindings
                .Where(b => query.AtMag is not { } mag || b.Value.Sessions.Any(s => s.ProxyCoa == mag))
                .Take(query.Limit)
                .Select(b => new BindingSnapshot(b.Key, SessionView.Of(b.Value)));
            Sender.Tell(new BindingIndexView(_bindings.Count, _sessions, [.. selected]));
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new BindingIndex());
}
