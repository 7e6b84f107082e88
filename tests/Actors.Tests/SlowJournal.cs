// An in-memory journal that takes its time to confirm writes (a disk that cannot keep up), for specs of
// what the binding bucket does while events wait for the journal.
using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Pmip6Akka.Actors.Tests;

public sealed class SlowJournal : MemoryJournal
{
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(700);

    public const string Hocon = """
        akka.loglevel = INFO
        akka.actor.serialize-messages = off
        akka.persistence.journal.plugin = "slow-journal"
        slow-journal.class = "Pmip6Akka.Actors.Tests.SlowJournal, Pmip6Akka.Actors.Tests"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        await Task.Delay(Delay, cancellationToken);
        return await base.WriteMessagesAsync(messages, cancellationToken);
    }
}
