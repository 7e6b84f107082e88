using System.Buffers.Binary;
using Pmip6Akka.Dataplane.Wire;

namespace Pmip6Akka.Dataplane.Tests.Forwarding;

/// <summary>Builds downlink IPv6 packets for the flow specs: fixed header, extension headers, then the upper layer.</summary>
internal static class FlowPackets
{
    public static readonly Ipv6Address Cn = Ipv6Address.Parse("2001:db8:cc::2");
    public static readonly Ipv6Address Mn = Ipv6Address.Parse("2001:db8:a000:5::1234");
    public static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:a000:5::/64");
    public static readonly Ipv6Address Mag1 = Ipv6Address.Parse("2001:db8:ff::1:1");
    public static readonly Ipv6Address Mag2 = Ipv6Address.Parse("2001:db8:ff::1:2");

    /// <summary>An extension header: its type and its whole encoding (next-header octet filled in by <see cref="Build"/>).</summary>
    public readonly record struct Extension(byte Type, byte[] Bytes)
    {
        public static Extension Options(byte type, int units = 0) => new(type, Filled(new byte[(units + 1) * 8], 1, (byte)units));
        public static Extension Fragment(ushort offsetUnits, bool more) =>
            new(IpProtocol.Fragment, Filled(new byte[8], 2, (byte)(offsetUnits >> 5), (byte)((offsetUnits << 3) | (more ? 1 : 0))));

        private static byte[] Filled(byte[] bytes, int at, params byte[] values)
        {
            values.CopyTo(bytes, at);
            return bytes;
        }
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, uint flowLabel = 0, Ipv6Address? source = null, int payload = 8) =>
        Build(source ?? Cn, Mn, flowLabel, IpProtocol.Udp, Ports(sourcePort, destinationPort, 8 + payload));

    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, uint flowLabel = 0) =>
        Build(Cn, Mn, flowLabel, IpProtocol.Tcp, Ports(sourcePort, destinationPort, 20));

    public static byte[] Ports(ushort sourcePort, ushort destinationPort, int length)
    {
        var upper = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(upper, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(upper.AsSpan(2), destinationPort);
        return upper;
    }

    public static byte[] Build(Ipv6Address source, Ipv6Address destination, uint flowLabel, byte upperProtocol, byte[] upper, params Extension[] extensions)
    {
        var payload = extensions.Sum(e => e.Bytes.Length) + upper.Length;
        var packet = new byte[Ipv6Packet.HeaderLength + payload];
        Ipv6Packet.TryWriteHeader(packet, source, destination, extensions.Length > 0 ? extensions[0].Type : upperProtocol, payload, flowLabel: flowLabel);
        var at = Ipv6Packet.HeaderLength;
        for (var i = 0; i < extensions.Length; i++)
        {
            extensions[i].Bytes.CopyTo(packet, at);
            packet[at] = i + 1 < extensions.Length ? extensions[i + 1].Type : upperProtocol;
            at += extensions[i].Bytes.Length;
        }
        upper.CopyTo(packet, at);
        return packet;
    }
}
