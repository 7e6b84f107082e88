// The handover scenario's TCP check: a paced bulk transfer from the CN to the mobile node over one
// connection that must survive every move. The content is a deterministic pseudo-random stream;
// both ends hash what they send and receive (SHA-256), so the report can say the bytes arrived
// whole, once and in order, and not only how many.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Pmip6Akka.Hosts.Lab;

public sealed record TcpResult(long BytesSent, long BytesReceived, string SentSha256, string ReceivedSha256, string? Error)
{
    public bool Ok => Error is null && BytesSent > 0 && BytesSent == BytesReceived && SentSha256 == ReceivedSha256;
}

public sealed class TcpTransfer : IDisposable
{
    public const int Port = 5002;
    private const int ChunkBytes = 8192;

    private readonly Socket _listener;
    private readonly Socket _client;
    private readonly IPEndPoint _target;
    private readonly long _bytesPerSecond;
    private readonly long _origin;
    private readonly IncrementalHash _sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _receivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<(double TimeMs, int Bytes)> _receipts = [];
    private readonly Lock _lock = new();
    private long _sent, _received;
    private volatile bool _stop;
    private string? _error;
    private Thread? _sender, _receiver;

    public TcpTransfer(string cnNamespace, string mnNamespace, IPAddress mnAddress, long bytesPerSecond, long origin, int port = Port)
    {
        _bytesPerSecond = bytesPerSecond;
        _origin = origin;
        _target = new IPEndPoint(mnAddress, port);
        _listener = NetnsRunner.Socket(mnNamespace, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        _client = NetnsRunner.Socket(cnNamespace, AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(_target);
            _listener.Listen(1);
        }
        catch (SocketException e)
        {
            Dispose();
            throw new LabFailure($"cannot listen on [{mnAddress}]:{port} in {mnNamespace}: {e.Message}");
        }
    }

    public long BytesSent => Interlocked.Read(ref _sent);
    public long BytesReceived => Interlocked.Read(ref _received);

    public IReadOnlyList<(double TimeMs, int Bytes)> Receipts { get { lock (_lock) return [.. _receipts]; } }

    /// <summary>Connects (within <paramref name="timeout"/>) and starts both ends.</summary>
    public void Start(TimeSpan timeout)
    {
        var accept = _listener.AcceptAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            _client.ConnectAsync(_target, cancel.Token).AsTask().GetAwaiter().GetResult();
            if (!accept.Wait(timeout))
                throw new TimeoutException();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or TimeoutException)
        {
            throw new LabFailure($"the CN could not open a TCP connection to [{_target.Address}]:{_target.Port} within {timeout.TotalSeconds:F0} s (is the tunnel forwarding?)");
        }
        var server = accept.Result;
        _client.NoDelay = true;
        _client.SendTimeout = 30_000;
        server.ReceiveTimeout = 30_000;
        _receiver = new Thread(() => Receive(server)) { IsBackground = true, Name = "lab tcp receiver" };
        _sender = new Thread(Send) { IsBackground = true, Name = "lab tcp sender" };
        _receiver.Start();
        _sender.Start();
    }

    /// <summary>Byte i of the stream: a fixed pseudo-random sequence (xorshift over the index).</summary>
    public static byte ContentAt(long i)
    {
        var x = (ulong)i * 0x9E3779B97F4A7C15UL;
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9UL;
        return (byte)(x >> 56);
    }

    private void Send()
    {
        var chunk = new byte[ChunkBytes];
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (!_stop)
            {
                var allowed = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * _bytesPerSecond);
                if (allowed - _sent < ChunkBytes)
                {
                    Thread.Sleep(2);
                    continue;
                }
                for (var i = 0; i < chunk.Length; i++)
                    chunk[i] = ContentAt(_sent + i);
                _sentHash.AppendData(chunk);
                var offset = 0;
                while (offset < chunk.Length)
                    offset += _client.Send(chunk, offset, chunk.Length - offset, SocketFlags.None);
                Interlocked.Add(ref _sent, chunk.Length);
            }
            _client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e)
        {
            _error ??= $"sending failed after {_sent} bytes: {e.Message}";
        }
    }

    private void Receive(Socket server)
    {
        var buffer = new byte[65536];
        using (server)
        {
            try
            {
                int n;
                while ((n = server.Receive(buffer)) > 0)
                {
                    _receivedHash.AppendData(buffer, 0, n);
                    Interlocked.Add(ref _received, n);
                    lock (_lock) _receipts.Add((Stopwatch.GetElapsedTime(_origin).TotalMilliseconds, n));
                }
            }
            catch (SocketException e)
            {
                _error ??= $"receiving failed after {_received} bytes: {e.Message}";
            }
        }
    }

    /// <summary>Stops sending, closes the connection and waits for the receiver to read to its end.</summary>
    public TcpResult Finish(TimeSpan timeout)
    {
        _stop = true;
        if (_sender is not null && !_sender.Join(timeout))
            _error ??= "the sender was still blocked at the end (the connection stalled)";
        if (_receiver is not null && !_receiver.Join(timeout))
            _error ??= $"the receiver had {_received} of {_sent} bytes when the wait ended (the connection stalled)";
        var sentHash = Convert.ToHexStringLower(_sentHash.GetHashAndReset());
        var receivedHash = Convert.ToHexStringLower(_receivedHash.GetHashAndReset());
        return new TcpResult(BytesSent, BytesReceived, sentHash, receivedHash, _error);
    }

    public void Dispose()
    {
        _stop = true;
        _client.Dispose();
        _listener.Dispose();
    }
}
