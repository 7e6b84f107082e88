// Authenticated signalling at the edge of a node (ARCHITECTURE.md "Security"): an actor in front of the
// node's dataplane. Every Mobility Header message the node sends is protected on its way out
// (SignallingAuthenticator.Protect); every one it receives is checked before the protocol handler
// sees it, so a rejected message never reaches a binding entity nor the journal: it is dropped,
// counted by reason (mh_auth_rejected_total) and logged at most once a minute per reason. In the
// daemons the Linux dataplane's receive thread makes that check with the same authenticator, before a
// message becomes an actor message, and marks what passed (Authenticated): the guard passes those on. Everything
// else (tunnels, routes, access links) passes through untouched, its sender kept.
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Dataplane.Security;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Dataplane;

public sealed class SignallingGuard : ReceiveActor, IWithTimers
{
    public sealed record SignallingGuardSettings(TimeSpan ReloadInterval)
    {
        public TimeSpan LogInterval { get; init; } = TimeSpan.FromMinutes(1);
        /// <summary>The receive thread's bound: a message dropped here gives its place back (the protocol handler does for the others).</summary>
        public ReceiveQueueBound? ReceiveQueue { get; init; }
        /// <summary>The authenticator the node's receive thread checks with (null: the guard makes its own and checks here).</summary>
        public SignallingAuthenticator? Authenticator { get; init; }
    }

    private sealed record ReloadDue;

    /// <summary>Check the keys file now (SIGHUP); answered with <see cref="KeysReloaded"/>.</summary>
    public sealed record ReloadKeys;

    /// <summary>Result "loaded", "unchanged" or "failed" (the previous keys stay in use; Problem names the key).</summary>
    public sealed record KeysReloaded(string Result, int Keys, string? Problem);

    private readonly IActorRef _inner;
    private readonly SignallingAuthenticator _authenticator;
    private readonly IKeyRingSource _keys;
    private readonly SignallingGuardSettings _settings;
    private readonly Counters _counters;
    private readonly RateLimitedLog _rejections;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Ipv6Address, IActorRef> _endpoints = new();
    private readonly byte[] _buffer = new byte[MobilityHeader.MaxLength];

    public ITimerScheduler Timers { get; set; } = null!;

    public SignallingGuard(IActorRef inner, IKeyRingSource keys, AuthenticationSettings authentication, SignallingGuardSettings settings, Counters counters)
    {
        _inner = inner;
        _keys = keys;
        _settings = settings;
        _counters = counters;
        _authenticator = settings.Authenticator ?? new SignallingAuthenticator(keys.Current, authentication);
        _rejections = new RateLimitedLog(settings.LogInterval);

        Receive<RegisterEndpoint>(r =>
        {
            _endpoints[r.Address] = Sender;
            _inner.Tell(r, Self);
        });
        Receive<EndpointRegistered>(r =>
        {
            if (_endpoints.TryGetValue(r.Address, out var endpoint))
                endpoint.Tell(r);
        });
        Receive<SendMobilityMessage>(OnSend);
        Receive<MobilityMessageReceived>(OnReceived);
        Receive<ReloadDue>(_ => Reload());
        Receive<ReloadKeys>(_ => Sender.Tell(Reload()));
        // Anything else: down to the dataplane; what the dataplane reports (e.g. FlowExpired) up to the node.
        ReceiveAny(m =>
        {
            if (!Sender.Equals(_inner))
                _inner.Forward(m);
            else if (_endpoints.Values.FirstOrDefault() is { } endpoint)
                endpoint.Forward(m);
        });
    }

    public static Props Props(IActorRef inner, IKeyRingSource keys, AuthenticationSettings authentication, SignallingGuardSettings settings, Counters counters) =>
        Akka.Actor.Props.Create(() => new SignallingGuard(inner, keys, authentication, settings, counters));

    protected override void PreStart()
    {
        _log.Info("signalling authentication on: {0} keys, {1}", _keys.Current.Count,
            _authenticator.Settings.Required ? "every message must carry a valid authentication option" : "unprotected messages still accepted (required = off)");
        Timers.StartPeriodicTimer("reload", new ReloadDue(), _settings.ReloadInterval);
    }

    private void OnSend(SendMobilityMessage m)
    {
        var outcome = _authenticator.Protect(m.Message, m.Source, m.Destination, DateTimeOffset.UtcNow, _buffer, out var length, out var error);
        _counters.Increment("mh_auth_sent_total", "outcome", outcome switch
        {
            ProtectOutcome.Protected => "protected",
            ProtectOutcome.Unprotected => "unprotected",
            ProtectOutcome.NoKey => "no-key",
            _ => "unencodable",
        });
        switch (outcome)
        {
            case ProtectOutcome.Protected:
                _inner.Tell(m with { Message = _buffer[..length] }, Sender);
                break;
            case ProtectOutcome.Unprotected:
                _inner.Tell(m, Sender);
                break;
            case ProtectOutcome.NoKey:
                RateLimited("send:no-key", count => _log.Warning("not sent to {0}: no valid key for it in the keys file ({1} since the last line)", m.Destination, count));
                break;
            default:
                RateLimited("send:unencodable", count => _log.Error("not sent to {0}: cannot protect it: {1} ({2} since the last line)", m.Destination, error, count));
                break;
        }
    }

    private void OnReceived(MobilityMessageReceived m)
    {
        if (m.Authenticated)
        {
            // Checked, counted (and its replay remembered) on the receive thread already.
            Deliver(m);
            return;
        }
        var outcome = _authenticator.Check(m.Message, m.Source, m.Destination, m.ReceivedAt, out var error);
        if (outcome.IsAccepted())
        {
            _counters.Increment("mh_auth_accepted_total", "protection", outcome == AuthenticationOutcome.Accepted ? "protected" : "unprotected");
            Deliver(m);
            return;
        }
        // Its place given back last (and always): whoever sees the queue shrink also sees the drop counted and logged.
        try
        {
            var reason = outcome.Name();
            _counters.Increment("mh_auth_rejected_total", "reason", reason);
            RateLimited(reason, count => _log.Warning("dropped Mobility Header message from {0} to {1}: {2}{3} ({4} of this reason since the last line)",
                m.Source, m.Destination, reason, error.IsError ? $" ({error})" : "", count));
        }
        finally
        {
            _settings.ReceiveQueue?.Leave();
        }
    }

    private void Deliver(MobilityMessageReceived m)
    {
        var endpoint = _endpoints.GetValueOrDefault(m.Destination) ?? _endpoints.Values.FirstOrDefault();
        if (endpoint is null)
            _settings.ReceiveQueue?.Leave();
        endpoint?.Tell(m, Self);
    }

    private KeysReloaded Reload()
    {
        var poll = _keys.Poll();
        if (poll.Error is { } problem)
        {
            _counters.Increment("security_keys_reloads_total", "result", "failed");
            _log.Error("keys not reloaded, the previous ones stay in use: {0}", problem);
            return new KeysReloaded("failed", _authenticator.Keys.Count, problem);
        }
        if (poll.Keys is { } ring)
        {
            _authenticator.Keys = ring;
            _counters.Increment("security_keys_reloads_total", "result", "loaded");
            _log.Info("keys reloaded: {0} keys (SPIs {1})", ring.Count, string.Join(", ", ring.Keys.Select(k => k.Spi)));
            return new KeysReloaded("loaded", ring.Count, null);
        }
        return new KeysReloaded("unchanged", _authenticator.Keys.Count, null);
    }

    private void RateLimited(string kind, Action<long> write)
    {
        if (_rejections.ShouldLog(kind, DateTimeOffset.UtcNow, out var count))
            write(count);
    }
}
