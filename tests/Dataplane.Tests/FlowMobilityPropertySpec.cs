// Properties of the flow mobility codec (FsCheck): every writable selector round-trips through a
// Flow Mobility Initiate, and no bytes, however broken, make the selector or sub-option decoder throw.
using FsCheck;
using FsCheck.Xunit;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Tests;

public class FlowMobilityPropertySpec
{
    private static SelectorRange<T> Range<T>(int flags, int bit, T a, T b) where T : struct, IComparable<T> =>
        ((flags >> bit) & 1) == 0 ? SelectorRange<T>.Any
        : ((flags >> (bit + 8)) & 1) == 0 ? SelectorRange<T>.Exactly(a)
        : a.CompareTo(b) <= 0 ? SelectorRange<T>.Between(a, b) : SelectorRange<T>.Between(b, a);

    private static Ipv6TrafficSelector Build(ushort flags, UInt128 a, UInt128 b, UInt128 c, UInt128 d, uint spi1, uint spi2,
        uint label1, uint label2, ushort p1, ushort p2, ushort p3, ushort p4, byte t1, byte t2, byte n1, byte n2) => new()
        {
            Source = Range(flags, 0, new Ipv6Address(a), new Ipv6Address(b)),
            Destination = Range(flags, 1, new Ipv6Address(c), new Ipv6Address(d)),
            Spi = Range(flags, 2, spi1, spi2),
            FlowLabel = Range(flags, 3, label1 & Ipv6TrafficSelector.MaxFlowLabel, label2 & Ipv6TrafficSelector.MaxFlowLabel),
            SourcePort = Range(flags, 4, p1, p2),
            DestinationPort = Range(flags, 5, p3, p4),
            TrafficClass = Range(flags, 6, t1, t2),
            NextHeader = Range(flags, 7, n1, n2),
        };

    [Property(MaxTest = 3000)]
    public bool Every_writable_selector_round_trips_through_a_flow_mobility_initiate(ushort flags, UInt128 a, UInt128 b, UInt128 c,
        UInt128 d, uint spi1, uint spi2, uint label1, uint label2, ushort p1, ushort p2, ushort p3, ushort p4, byte t1, byte t2, byte n1, byte n2,
        ushort fid, ushort priority)
    {
        var selector = Build(flags, a, b, c, d, spi1, spi2, label1, label2, p1, p2, p3, p4, t1, t2, n1, n2);
        var id = (ushort)Math.Max(1, (int)fid);
        var pri = (ushort)Math.Max(1, (int)priority);
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, 9);
        w.MobileNodeIdentifier("mn"u8);
        w.Flow(id, pri, FlowIdentificationStatus.Success, selector, [id]);
        if (!w.TryFinish(out var length) || !FlowMobilityInitiate.TryDecode(buffer.AsSpan(0, length), out var fmi, out _))
            return false;
        var flows = FlowDescriptions.Of(fmi.Options);
        return flows.MoveNext() && flows.Current.FlowId == id && flows.Current.Priority == pri
               && flows.Current.Selector == selector && flows.Current.BindingReference(0) == id && !flows.MoveNext();
    }

    [Property(MaxTest = 10000)]
    public bool Random_bytes_never_make_the_selector_decoder_throw_and_what_it_accepts_is_canonical(byte[] bytes, bool asIpv6)
    {
        if (asIpv6 && bytes.Length > 0)
            bytes[0] = (byte)TrafficSelectorFormat.Ipv6Binary;
        if (!Ipv6TrafficSelector.TryDecode(bytes, 0, out var selector, out var error))
            return error.IsError;
        var again = new byte[Ipv6TrafficSelector.MaxLength];
        return selector.TryWrite(again, out var written) && written <= bytes.Length
               && Ipv6TrafficSelector.TryDecode(again.AsSpan(0, written), 0, out var reread, out _) && reread == selector;
    }

    [Property(MaxTest = 10000)]
    public bool Random_sub_options_never_make_the_flow_decoder_throw(byte[] subOptions, ushort fid, ushort priority)
    {
        var sub = subOptions.AsSpan(0, Math.Min(subOptions.Length, MobilityHeaderWriter.MaxFlowSubOptionsLength));
        var buffer = new byte[MobilityHeader.MaxLength];
        var w = MobilityHeaderWriter.FlowMobilityInitiate(buffer, 9);
        w.MobileNodeIdentifier("mn"u8);
        w.FlowIdentification(fid, priority, 0, sub);
        if (!w.TryFinish(out var length))
            return false;
        var ok = FlowMobilityInitiate.TryDecode(buffer.AsSpan(0, length), out _, out var error);
        var truncatedOk = FlowMobilityInitiate.TryDecode(buffer.AsSpan(0, length - 8), out _, out var truncatedError);
        return (ok || error.IsError) && (truncatedOk || truncatedError.IsError);
    }
}
