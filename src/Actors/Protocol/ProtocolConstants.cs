// Protocol constants of RFC 5213 §12 and RFC 6275 §12, with their RFC names. Configuration may
// override the configurable ones; these are the defaults.
namespace Pmip6Akka.Actors.Protocol;

public static class ProtocolConstants
{
    /// <summary>RFC 5213 §12: how long the LMA keeps a BCE after a de-registration, waiting for the new MAG.</summary>
    public static readonly TimeSpan MinDelayBeforeBceDelete = TimeSpan.FromMilliseconds(10_000);

    /// <summary>RFC 5213 §12: how long the LMA waits for a de-registration before assigning new prefixes.</summary>
    public static readonly TimeSpan MaxDelayBeforeNewBceAssign = TimeSpan.FromMilliseconds(1_500);

    /// <summary>RFC 5213 §12: the largest accepted difference between a PBU's timestamp and the LMA's clock.</summary>
    public static readonly TimeSpan TimestampValidityWindow = TimeSpan.FromMilliseconds(300);

    /// <summary>RFC 5213 §12 / RFC 6275: first PBA wait for a first registration.</summary>
    public static readonly TimeSpan InitialBindackTimeoutFirstReg = TimeSpan.FromSeconds(1.5);

    /// <summary>RFC 6275 §12: first PBA wait for refreshes and de-registrations.</summary>
    public static readonly TimeSpan InitialBindackTimeout = TimeSpan.FromSeconds(1);

    /// <summary>RFC 6275 §12: the back-off never waits longer than this; past it the MAG gives up.</summary>
    public static readonly TimeSpan MaxBindackTimeout = TimeSpan.FromSeconds(32);
}
