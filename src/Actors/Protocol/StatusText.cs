// What every PBA status means, for log lines an operator can act on (RFC 6275 §6.1.8, RFC 5213 §8.9).
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Actors.Protocol;

public static class StatusText
{
    public static string Describe(BindingAcknowledgementStatus status) => status switch
    {
        BindingAcknowledgementStatus.Accepted => "accepted",
        BindingAcknowledgementStatus.AcceptedButPrefixDiscoveryNecessary => "accepted, prefix discovery necessary",
        BindingAcknowledgementStatus.ReasonUnspecified => "rejected: reason unspecified",
        BindingAcknowledgementStatus.AdministrativelyProhibited => "rejected: administratively prohibited (policy forbids this MN or access technology)",
        BindingAcknowledgementStatus.InsufficientResources => "rejected: insufficient resources at the LMA (prefix pool exhausted or overloaded)",
        BindingAcknowledgementStatus.SequenceNumberOutOfWindow => "rejected: sequence number out of window",
        BindingAcknowledgementStatus.ProxyRegistrationNotEnabled => "rejected: PROXY_REG_NOT_ENABLED — the MN's policy profile does not allow network-based mobility",
        BindingAcknowledgementStatus.NotLmaForThisMobileNode => "rejected: NOT_LMA_FOR_THIS_MOBILE_NODE — the LMA has no policy profile for this MN",
        BindingAcknowledgementStatus.MagNotAuthorizedForProxyRegistration => "rejected: MAG_NOT_AUTHORIZED_FOR_PROXY_REG — this MAG's address is not in the LMA's authorised list",
        BindingAcknowledgementStatus.NotAuthorizedForHomeNetworkPrefix => "rejected: NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX — a requested prefix is not this MN's",
        BindingAcknowledgementStatus.TimestampMismatch => "rejected: TIMESTAMP_MISMATCH — the MAG's clock is outside the LMA's validity window (check NTP)",
        BindingAcknowledgementStatus.TimestampLowerThanPreviouslyAccepted => "rejected: TIMESTAMP_LOWER_THAN_PREV_ACCEPTED — a stale or replayed PBU",
        BindingAcknowledgementStatus.MissingHomeNetworkPrefixOption => "rejected: MISSING_HOME_NETWORK_PREFIX_OPTION",
        BindingAcknowledgementStatus.BcePbuPrefixSetDoNotMatch => "rejected: BCE_PBU_PREFIX_SET_DO_NOT_MATCH — the PBU's prefixes differ from the binding's",
        BindingAcknowledgementStatus.MissingMobileNodeIdentifierOption => "rejected: MISSING_MN_IDENTIFIER_OPTION",
        BindingAcknowledgementStatus.MissingHandoffIndicatorOption => "rejected: MISSING_HANDOFF_INDICATOR_OPTION",
        BindingAcknowledgementStatus.MissingAccessTechnologyTypeOption => "rejected: MISSING_ACCESS_TECH_TYPE_OPTION",
        _ => (byte)status < 128 ? $"accepted ({(byte)status})" : $"rejected: status {(byte)status}",
    };
}
