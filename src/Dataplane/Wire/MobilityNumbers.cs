// IANA "Mobile IPv6 parameters" registry values used by PMIPv6 (RFC 6275, RFC 5213 and the RFCs named
// beside each value). Cross-checked against Wireshark's packet-mip6.c; see docs/PROTOCOL.md.
namespace Pmip6Akka.Dataplane.Wire;

/// <summary>Mobility Header types (RFC 6275 §6.1.2 and later RFCs).</summary>
public enum MobilityHeaderType : byte
{
    BindingRefreshRequest = 0,
    HomeTestInit = 1,
    CareOfTestInit = 2,
    HomeTest = 3,
    CareOfTest = 4,
    BindingUpdate = 5,
    BindingAcknowledgement = 6,
    BindingError = 7,
    /// <summary>RFC 5096: for messages no RFC defines (our Context Reflection rides on it).</summary>
    Experimental = 11,
    /// <summary>RFC 5847.</summary>
    Heartbeat = 13,
    /// <summary>RFC 5846: BRI (B.R. Type 1) and BRA (B.R. Type 2).</summary>
    BindingRevocation = 16,
    /// <summary>RFC 7077.</summary>
    UpdateNotification = 19,
    /// <summary>RFC 7077.</summary>
    UpdateNotificationAcknowledgement = 20,
}

/// <summary>Mobility option types (RFC 6275 §6.2 and later RFCs).</summary>
public enum MobilityOptionType : byte
{
    Pad1 = 0,
    PadN = 1,
    /// <summary>RFC 4283.</summary>
    MobileNodeIdentifier = 8,
    /// <summary>RFC 4285 §5: Mobility Message Authentication (AUTH-OPTION-TYPE).</summary>
    MobilityMessageAuthentication = 9,
    /// <summary>RFC 4285 §6: Mobility Message Replay Protection / Message Identification (MESG-ID-OPTION-TYPE).</summary>
    MessageIdentification = 10,
    /// <summary>RFC 5096.</summary>
    Experimental = 18,
    /// <summary>RFC 5094.</summary>
    VendorSpecific = 19,
    /// <summary>RFC 5213 §8.3.</summary>
    HomeNetworkPrefix = 22,
    /// <summary>RFC 5213 §8.4.</summary>
    HandoffIndicator = 23,
    /// <summary>RFC 5213 §8.5.</summary>
    AccessTechnologyType = 24,
    /// <summary>RFC 5213 §8.6.</summary>
    MobileNodeLinkLayerIdentifier = 25,
    /// <summary>RFC 5213 §8.7.</summary>
    LinkLocalAddress = 26,
    /// <summary>RFC 5213 §8.8.</summary>
    Timestamp = 27,
    /// <summary>RFC 5847 §5.2.</summary>
    RestartCounter = 28,
    /// <summary>RFC 5648 §6.1.</summary>
    BindingIdentifier = 35,
    /// <summary>RFC 6089 §4.2.</summary>
    FlowSummary = 44,
    /// <summary>RFC 6089 §4.1.</summary>
    FlowIdentification = 45,
}

/// <summary>Binding Update flags (RFC 6275 §6.1.7, RFC 5213 §8.1).</summary>
[Flags]
public enum BindingUpdateFlags : ushort
{
    None = 0,
    Acknowledge = 0x8000,          // A
    HomeRegistration = 0x4000,     // H
    LinkLocalCompatibility = 0x2000, // L
    KeyManagementCompatibility = 0x1000, // K
    MapRegistration = 0x0800,      // M (RFC 5380)
    MobileRouter = 0x0400,         // R (RFC 3963)
    ProxyRegistration = 0x0200,    // P (RFC 5213)
    ForcedUdpEncapsulation = 0x0100, // F (RFC 5555)
    TlvHeaderFormat = 0x0080,      // T (RFC 5845)
    BulkRegistration = 0x0040,     // B (RFC 6602)
}

/// <summary>Binding Acknowledgement flags (RFC 6275 §6.1.8, RFC 5213 §8.2).</summary>
[Flags]
public enum BindingAcknowledgementFlags : byte
{
    None = 0,
    KeyManagementCompatibility = 0x80, // K
    MobileRouter = 0x40,               // R (RFC 3963)
    ProxyRegistration = 0x20,          // P (RFC 5213)
    TlvHeaderFormat = 0x10,            // T (RFC 5845)
    BulkRegistration = 0x08,           // B (RFC 6602)
}

/// <summary>Binding Acknowledgement status values (RFC 6275 §6.1.8, RFC 5213 §8.9).</summary>
public enum BindingAcknowledgementStatus : byte
{
    Accepted = 0,
    AcceptedButPrefixDiscoveryNecessary = 1,
    ReasonUnspecified = 128,
    AdministrativelyProhibited = 129,
    InsufficientResources = 130,
    HomeRegistrationNotSupported = 131,
    NotHomeSubnet = 132,
    NotHomeAgentForThisMobileNode = 133,
    DuplicateAddressDetectionFailed = 134,
    SequenceNumberOutOfWindow = 135,
    ExpiredHomeNonceIndex = 136,
    ExpiredCareOfNonceIndex = 137,
    ExpiredNonces = 138,
    RegistrationTypeChangeDisallowed = 139,
    ProxyRegistrationNotEnabled = 152,
    NotLmaForThisMobileNode = 153,
    MagNotAuthorizedForProxyRegistration = 154,
    NotAuthorizedForHomeNetworkPrefix = 155,
    TimestampMismatch = 156,
    TimestampLowerThanPreviouslyAccepted = 157,
    MissingHomeNetworkPrefixOption = 158,
    BcePbuPrefixSetDoNotMatch = 159,
    MissingMobileNodeIdentifierOption = 160,
    MissingHandoffIndicatorOption = 161,
    MissingAccessTechnologyTypeOption = 162,
}

/// <summary>Handoff Indicator values (RFC 5213 §8.4).</summary>
public enum HandoffIndicator : byte
{
    Reserved = 0,
    AttachmentOverNewInterface = 1,
    HandoffBetweenInterfacesOfMobileNode = 2,
    HandoffBetweenMagsForSameInterface = 3,
    HandoffStateUnknown = 4,
    HandoffStateNotChanged = 5,
}

/// <summary>Access Technology Type values (RFC 5213 §8.5).</summary>
public enum AccessTechnologyType : byte
{
    Reserved = 0,
    Virtual = 1,
    Ppp = 2,
    Ieee8023 = 3,
    Ieee80211 = 4,
    Ieee80216e = 5,
    Geran = 6,
    Utran = 7,
    EUtran = 8,
}

/// <summary>Mobile Node Identifier subtypes (RFC 4283 §3; later ones by RFC 8371).</summary>
public enum MobileNodeIdentifierSubtype : byte
{
    Nai = 1,
}

/// <summary>Binding Revocation message kinds (RFC 5846 §6.1).</summary>
public enum BindingRevocationType : byte
{
    Indication = 1,
    Acknowledgement = 2,
}

/// <summary>Revocation Trigger values carried by a BRI (RFC 5846 §6.2.1).</summary>
public enum RevocationTrigger : byte
{
    Unspecified = 0,
    AdministrativeReason = 1,
    InterMagHandoverSameAccessType = 2,
    InterMagHandoverDifferentAccessType = 3,
    InterMagHandoverUnknown = 4,
    UserInitiatedSessionTermination = 5,
    AccessNetworkSessionTermination = 6,
    PossibleOutOfSyncBceState = 7,
    PerPeerPolicy = 128,
    RevokingMobileNodeLocalPolicy = 129,
}

/// <summary>Binding Revocation Acknowledgement status (RFC 5846 §6.2.2).</summary>
public enum BindingRevocationStatus : byte
{
    Success = 0,
    PartialSuccess = 1,
    BindingDoesNotExist = 2,
    Ipv4HomeAddressBindingDoesNotExist = 3,
    GlobalRevocationNotAuthorized = 4,
    CannotIdentifyBinding = 5,
    RevocationFailedMobileNodeAttached = 6,
}

/// <summary>Update Notification reasons (IANA "Update Notification Reasons Registry": RFC 7077 §4.1, RFC 7222, RFC 7864).</summary>
public enum NotificationReason : byte
{
    Reserved = 0,
    ForceReregistration = 1,
    UpdateSessionParameters = 2,
    VendorSpecificReason = 3,
    AniParametersRequested = 4,
    /// <summary>RFC 7222.</summary>
    QosServiceRequest = 5,
    // 6, 7: PGW-triggered P-CSCF restoration (3GPP TS 29.275).
    /// <summary>RFC 7864: the LMA moves flows of a multi-interface MN (Flow Mobility Initiate).</summary>
    FlowMobility = 8,
}

/// <summary>Update Notification Acknowledgement status (IANA registry: RFC 7077 §4.2, RFC 7222, RFC 7864).</summary>
public enum UpdateNotificationStatus : byte
{
    Success = 0,
    FailedToUpdateSessionParameters = 128,
    MissingVendorSpecificOption = 129,
    /// <summary>RFC 7222.</summary>
    CannotMeetQosServiceRequest = 130,
    /// <summary>RFC 7864.</summary>
    ReasonUnspecified = 131,
    /// <summary>RFC 7864.</summary>
    MobileNodeNotAttached = 132,
}
