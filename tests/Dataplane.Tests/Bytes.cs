namespace Pmip6Akka.Dataplane.Tests;

/// <summary>Golden bytes are written by hand from the RFC figures as spaced hex.</summary>
internal static class Bytes
{
    public static byte[] Hex(string text) => Convert.FromHexString(text.Replace(" ", "").Replace("\n", "").Replace("|", ""));

    public static string Show(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    /// <summary>RFC 1071 checksum written the slow, obvious way, as an independent reference.</summary>
    public static ushort ReferenceChecksum(byte[] source16, byte[] destination16, byte nextHeader, ReadOnlySpan<byte> payload)
    {
        var all = new List<byte>();
        all.AddRange(source16);
        all.AddRange(destination16);
        all.AddRange([(byte)(payload.Length >> 24), (byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length]);
        all.AddRange([0, 0, 0, nextHeader]);
        all.AddRange(payload.ToArray());
        if (all.Count % 2 == 1) all.Add(0);
        uint sum = 0;
        for (var i = 0; i < all.Count; i += 2)
        {
            sum += (uint)(all[i] << 8 | all[i + 1]);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
