// SIGHUP: a running daemon reads its MN policy profiles (policy-file) and its keys file again. A file
// that reads well replaces the one in use; a broken one is reported in one log line naming the file
// and the key, and the previous one stays in use. Counted as config_reloads_total{what,result}.
using Akka.Actor;
using Akka.Event;
using Pmip6Akka.Actors.Dataplane;
using Pmip6Akka.Actors.Observability;
using Pmip6Akka.Hosts.Config;

namespace Pmip6Akka.Hosts.Daemons;

public sealed class ConfigReload(ReloadablePolicyStore policies, IActorRef? signallingGuard, string? keysFile, Counters counters, ILoggingAdapter log)
{
    public const string Counter = "config_reloads_total";

    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Reloads both files (one reload at a time; a SIGHUP during one waits for it). Never throws.</summary>
    public async Task RunAsync()
    {
        await _one.WaitAsync();
        try
        {
            if (policies.Reload() is { } problem)
            {
                counters.Increment(Counter, "what,result", "policies,failed");
                log.Error("policy file {0} not reloaded, the previous {1} profiles stay in use: {2}", policies.File, policies.Count, problem.Message);
            }
            else
            {
                counters.Increment(Counter, "what,result", "policies,loaded");
                log.Info("policy file {0} reloaded: {1} profiles", policies.File, policies.Count);
            }
            if (signallingGuard is null)
                return;
            try
            {
                // The guard owns the key ring and logs a load or a failure itself (naming the key and the file).
                var keys = await signallingGuard.Ask<SignallingGuard.KeysReloaded>(new SignallingGuard.ReloadKeys(), TimeSpan.FromSeconds(10));
                counters.Increment(Counter, "what,result", "keys," + keys.Result);
                if (keys.Result == "unchanged")
                    log.Info("keys file {0} unchanged since it was last read: {1} keys in use", keysFile, keys.Keys);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                counters.Increment(Counter, "what,result", "keys,failed");
                log.Error("keys file {0} not reloaded: the signalling guard did not answer within 10 s", keysFile);
            }
        }
        finally
        {
            _one.Release();
        }
    }
}
