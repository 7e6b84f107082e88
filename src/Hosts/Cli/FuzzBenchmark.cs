// `pmip6 bench fuzz --count N [--seed S]`: mutates valid packets of every kind and decodes each
// one twice: once from a copy that ends exactly at a PROT_NONE guard page (any read past the packet
// faults), once from a managed buffer whose tail past the packet is poisoned. Prints
// "N inputs, E exceptions, R over-reads": E counts any exception escaping a decoder, R counts
// attempts to read past the packet (out-of-range exceptions) and decodes whose outcome changed with
// the poisoned tail (a decoder that looked past its span).
using System.Diagnostics;
using Pmip6Akka.Dataplane.Wire;
using Pmip6Akka.Dataplane.Wire.Fuzzing;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Pmip6Akka.Hosts.Cli;

public static unsafe class FuzzBenchmark
{
    public static int Run(Arguments args, TextWriter stdout)
    {
        var count = args.Integer("count", 1_000_000, 1, 10_000_000_000);
        var seed = (int)args.Integer("seed", Environment.TickCount & 0x7FFFFFFF, 0, int.MaxValue);
        args.EnsureAllUsed();

        var corpus = WireSamples.All().Select(s => s.Packet).ToList();
        var mutator = new PacketMutator(corpus, seed);
        using var guarded = new GuardedBuffer(PacketMutator.MaxPacketLength);
        var work = new byte[PacketMutator.MaxPacketLength];
        var poisoned = new byte[PacketMutator.MaxPacketLength + 64];
        long exceptions = 0, overReads = 0, accepted = 0;
        var byReason = new long[16];
        var firstFailures = new List<string>();
        var watch = Stopwatch.StartNew();

        for (long i = 0; i < count; i++)
        {
            var length = mutator.Next(work, out var mutation);
            var packet = work.AsSpan(0, length);
            var verify = (i & 1) == 0;
            try
            {
                var exact = guarded.Load(packet);
                var okExact = PacketDecoder.TryDecode(exact, out var s1, out var e1, verify);
                packet.CopyTo(poisoned);
                poisoned.AsSpan(length).Fill((byte)(i * 31 + 7));
                var okPoisoned = PacketDecoder.TryDecode(poisoned.AsSpan(0, length), out var s2, out var e2, verify);
                if (okExact != okPoisoned || s1 != s2 || e1 != e2)
                {
                    overReads++;
                    Remember(firstFailures, $"input {i} ({mutation}): outcome changed with the bytes after the packet");
                }
                if (okExact) accepted++;
                else byReason[(int)e1.Reason]++;
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                exceptions++;
                overReads++;
                Remember(firstFailures, $"input {i} ({mutation}): read past the packet: {e.GetType().Name} {Hex(packet)}");
            }
            catch (Exception e)
            {
                exceptions++;
                Remember(firstFailures, $"input {i} ({mutation}): {e.GetType().Name}: {e.Message} {Hex(packet)}");
            }
        }
        watch.Stop();

        stdout.WriteLine($"seed {seed}; {count / watch.Elapsed.TotalSeconds:N0} inputs/s; {accepted:N0} decoded, rejections by reason: " +
            string.Join(", ", Enumerable.Range(0, byReason.Length).Where(r => byReason[r] > 0)
                .Select(r => $"{new DecodeError((DecodeErrorReason)r, "", 0).ReasonName} {byReason[r]:N0}")));
        foreach (var failure in firstFailures)
            stdout.WriteLine(failure);
        stdout.WriteLine($"{count} inputs, {exceptions} exceptions, {overReads} over-reads");
        return exceptions == 0 && overReads == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
    }

    private static void Remember(List<string> failures, string text)
    {
        if (failures.Count < 10)
            failures.Add(text);
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    /// <summary>
    /// A read-write region directly followed by a PROT_NONE page: a packet loaded so that it ends at
    /// the boundary makes any read past its end fault.
    /// </summary>
    private sealed class GuardedBuffer : IDisposable
    {
        private readonly byte* _base;
        private readonly int _size;
        private readonly int _usable;

        public GuardedBuffer(int capacity)
        {
            var page = Environment.SystemPageSize;
            _usable = (capacity + page - 1) / page * page;
            _size = _usable + page;
            var memory = mmap(null, (size_t)_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (memory == MAP_FAILED)
                throw new InvalidOperationException($"mmap failed: errno {errno}");
            _base = (byte*)memory;
            if (mprotect(_base + _usable, (size_t)page, PROT_NONE) != 0)
                throw new InvalidOperationException($"mprotect failed: errno {errno}");
        }

        public ReadOnlySpan<byte> Load(ReadOnlySpan<byte> packet)
        {
            var target = new Span<byte>(_base + _usable - packet.Length, packet.Length);
            packet.CopyTo(target);
            return target;
        }

        public void Dispose() => munmap(_base, (size_t)_size);
    }
}
