// One entry point for a whole IPv6 packet as it comes off a TUN device or out of a capture: walks
// the IPv6 header chain and fully decodes the Mobility Header or ICMPv6 Neighbor Discovery message
// behind it, every option included. Used by the fuzzer, the samples check and the dataplane's
// counters; the receive path of a raw MH socket calls the per-message decoders directly.
namespace Pmip6Akka.Dataplane.Wire;

public enum PacketKind : byte
{
    Other = 0,
    Mobility,
    NeighborDiscovery,
}

/// <summary>What a successful decode found (no references into the buffer, nothing allocated).</summary>
public readonly record struct PacketSummary(PacketKind Kind, byte MessageType, int OptionCount, int UnknownOptionCount);

public static class PacketDecoder
{
    /// <summary>
    /// Decodes <paramref name="packet"/> completely. With <paramref name="verifyChecksum"/> the MH or
    /// ICMPv6 checksum must verify. Packets of other upper layers decode as <see cref="PacketKind.Other"/>.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> packet, out PacketSummary summary, out DecodeError error,
        bool verifyChecksum = true, DecodeLimits? limits = null)
    {
        summary = default;
        if (!Ipv6Packet.TryDecode(packet, out var ip, out error, limits))
            return false;
        if (ip.IsLaterFragment)
        {
            summary = new PacketSummary(PacketKind.Other, 0, 0, 0);
            return true;
        }
        switch (ip.UpperLayerProtocol)
        {
            case IpProtocol.MobilityHeader:
                if (!TryDecodeMobility(ip.UpperLayer, out summary, out error, limits))
                    return Shift(ref error, ip.UpperLayerOffset);
                if (verifyChecksum && !InternetChecksum.Verify(ip.Source, ip.Destination, IpProtocol.MobilityHeader,
                        ip.UpperLayer[..((ip.UpperLayer[MobilityHeader.HeaderLenOffset] + 1) * 8)]))
                    return DecodeError.Fail(out error, DecodeErrorReason.BadChecksum, "mh.checksum", ip.UpperLayerOffset + MobilityHeader.ChecksumOffset);
                return true;
            case IpProtocol.Icmpv6:
                if (ip.UpperLayer.Length >= 1 && NdMessage.FixedLength((Icmpv6Type)ip.UpperLayer[0]) == 0)
                {
                    summary = new PacketSummary(PacketKind.Other, ip.UpperLayer[0], 0, 0);
                    return true;
                }
                if (!NdMessage.TryDecode(ip.UpperLayer, out var nd, out error, limits))
                    return Shift(ref error, ip.UpperLayerOffset);
                if (verifyChecksum && !NdMessage.VerifyChecksum(ip.Source, ip.Destination, ip.UpperLayer))
                    return DecodeError.Fail(out error, DecodeErrorReason.BadChecksum, "icmpv6.checksum", ip.UpperLayerOffset + NdMessage.ChecksumOffset);
                var prefixes = 0;
                foreach (var _ in nd.Options.PrefixInformations)
                    prefixes++;
                summary = new PacketSummary(PacketKind.NeighborDiscovery, (byte)nd.Type, prefixes, nd.Options.UnknownCount);
                return true;
            default:
                summary = new PacketSummary(PacketKind.Other, ip.UpperLayerProtocol, 0, 0);
                return true;
        }
    }

    private static bool Shift(ref DecodeError error, int offset)
    {
        error = error with { Offset = error.Offset + offset };
        return false;
    }

    /// <summary>Decodes a Mobility Header message of any supported type, reading every option.</summary>
    public static bool TryDecodeMobility(ReadOnlySpan<byte> mhBytes, out PacketSummary summary, out DecodeError error, DecodeLimits? limits = null)
    {
        summary = default;
        if (!MobilityHeader.TryDecode(mhBytes, out var mh, out error))
            return false;
        MobilityOptionSet options;
        switch (mh.Type)
        {
            case MobilityHeaderType.BindingUpdate:
                if (!BindingUpdate.TryDecode(mh, out var bu, out error, limits)) return false;
                options = bu.Options;
                break;
            case MobilityHeaderType.BindingAcknowledgement:
                if (!BindingAcknowledgement.TryDecode(mh, out var ba, out error, limits)) return false;
                options = ba.Options;
                break;
            case MobilityHeaderType.BindingError:
                if (!BindingError.TryDecode(mh, out var be, out error, limits)) return false;
                options = be.Options;
                break;
            case MobilityHeaderType.Heartbeat:
                if (!Heartbeat.TryDecode(mh, out var hb, out error, limits)) return false;
                options = hb.Options;
                break;
            case MobilityHeaderType.BindingRevocation:
                if (!BindingRevocation.TryDecode(mh, out var br, out error, limits)) return false;
                options = br.Options;
                break;
            case MobilityHeaderType.UpdateNotification:
                if (!UpdateNotification.TryDecode(mh, out var upn, out error, limits)) return false;
                options = upn.Options;
                break;
            case MobilityHeaderType.UpdateNotificationAcknowledgement:
                if (!UpdateNotificationAcknowledgement.TryDecode(mh, out var upa, out error, limits)) return false;
                options = upa.Options;
                break;
            case MobilityHeaderType.Experimental:
                if (!ExperimentalMessage.TryDecode(mh, out var exp, out error, limits)) return false;
                options = exp.Options;
                break;
            default:
                return DecodeError.Fail(out error, DecodeErrorReason.UnknownMandatoryField, "mh.type", MobilityHeader.TypeOffset);
        }
        Touch(options);
        summary = new PacketSummary(PacketKind.Mobility, (byte)mh.Type, options.Count, options.UnknownCount);
        return true;
    }

    /// <summary>Reads every typed option once, so a fuzzer exercises the accessors too.</summary>
    private static void Touch(in MobilityOptionSet options)
    {
        options.TryGetMobileNodeIdentifier(out _);
        _ = options.HandoffIndicator;
        _ = options.AccessTechnologyType;
        _ = options.Timestamp;
        _ = options.RestartCounter;
        _ = options.LinkLocalAddress;
        options.TryGetLinkLayerIdentifier(out _);
        options.TryGetBindingIdentifier(out _);
        if (options.TryGetFlowSummary(out var summary))
            for (var i = 0; i < summary.Count; i++)
                _ = summary[i];
        options.TryGetFlowIdentification(out _);
        foreach (var flow in FlowDescriptions.Of(options))
            _ = flow.Selector;
        options.TryGetExperimental(out _);
        options.TryGetVendorSpecific(out _);
        foreach (var hnp in options.OfType(MobilityOptionType.HomeNetworkPrefix))
            _ = HomeNetworkPrefixOption.Read(hnp.Data);
    }
}
