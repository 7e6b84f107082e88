// Rate-limited logging for events an attacker controls (rejected signalling): the first of each kind
// is logged at once, then at most one line per interval per kind, carrying how many happened since.
namespace Pmip6Akka.Actors.Observability;

public sealed class RateLimitedLog(TimeSpan interval)
{
    private readonly Dictionary<string, (DateTimeOffset LoggedAt, long Since)> _kinds = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts one event of <paramref name="kind"/>; true when a line should be written now, with
    /// <paramref name="count"/> the events it stands for (this one included).
    /// </summary>
    public bool ShouldLog(string kind, DateTimeOffset now, out long count)
    {
        if (!_kinds.TryGetValue(kind, out var state))
        {
            _kinds[kind] = (now, 0);
            count = 1;
            return true;
        }
        if (now - state.LoggedAt >= interval)
        {
            count = state.Since + 1;
            _kinds[kind] = (now, 0);
            return true;
        }
        _kinds[kind] = (state.LoggedAt, state.Since + 1);
        count = 0;
        return false;
    }
}
