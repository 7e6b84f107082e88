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
            // Never let a query restart this actor: a restarted index starts empty, and the buckets do not report refreshes
            // (they renew the state it holds), so an MN that only refreshes would be missing until its next change.
            try
            {
                var selected = _bindings
                    .Where(b => query.AtMag is not { } mag || b.Value.Sessions.Any(s => s.ProxyCoa == mag))
                    .Take(query.Limit)
                    .Select(b => new BindingSnapshot(b.Key, SessionView.Of(b.Value)));
                Sender.Tell(new BindingIndexView(_bindings.Count, _sessions, [.. selected]));
            }
            catch (Exception e)
            {
                Sender.Tell(new Status.Failure(e));
            }
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new BindingIndex());
}
