// One-line failures of `pmip6 lab`: what did not work and, where a daemon is involved, which log to
// read. The verbs turn them into exit code 1 (after cleaning up whatever they had started).
namespace Pmip6Akka.Hosts.Lab;

public sealed class LabFailure(string message) : Exception(message);
