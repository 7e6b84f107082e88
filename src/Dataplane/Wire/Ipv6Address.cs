// An IPv6 address as a 128-bit value: copied by value, compared and hashed without allocation.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Pmip6Akka.Dataplane.Wire;

public readonly record struct Ipv6Address(UInt128 Value) : IComparable<Ipv6Address>
{
    public const int Length = 16;

    public static Ipv6Address Unspecified => default;

    public static Ipv6Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt128BigEndian(source));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Value);

    public bool IsLinkLocal => (Value >> 118) == (UInt128)0x3FA; // fe80::/10

    public static Ipv6Address Parse(string text)
    {
        if (!TryParse(text, out var address))
            throw new FormatException($"'{text}' is not an IPv6 address");
        return address;
    }

    public static bool TryParse(string? text, out Ipv6Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            return false;
        Span<byte> bytes = stackalloc byte[Length];
        ip.TryWriteBytes(bytes, out _);
        address = Read(bytes);
        return true;
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[Length];
        Write(bytes);
        return new IPAddress(bytes);
    }

    /// <summary>The address with every bit past <paramref name="prefixLength"/> cleared.</summary>
    public Ipv6Address Mask(int prefixLength) => prefixLength switch
    {
        <= 0 => default,
        >= 128 => this,
        _ => new(Value & (UInt128.MaxValue << (128 - prefixLength))),
    };

    public int CompareTo(Ipv6Address other) => Value.CompareTo(other.Value);

    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>An IPv6 prefix (address and length), as carried by the Home Network Prefix option.</summary>
public readonly record struct Ipv6Prefix(Ipv6Address Address, byte Length)
{
    public static Ipv6Prefix Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0 || !byte.TryParse(text.AsSpan(slash + 1), out var length) || length > 128
            || !Ipv6Address.TryParse(text[..slash], out var address))
            throw new FormatException($"'{text}' is not an IPv6 prefix (expected address/length, length 0..128)");
        return new Ipv6Prefix(address, length);
    }

    public bool Contains(Ipv6Address address) => address.Mask(Length) == Address.Mask(Length);

    public override string ToString() => $"{Address}/{Length}";
}
