// The daemons' small local HTTP endpoint (/status, /metrics, administrative verbs), on
// HttpListener: no web framework, bound to the configured loopback address only.
using System.Net;
using System.Text;

namespace Pmip6Akka.Hosts.Http;

public sealed record HttpReply(int Status, string ContentType, string Body)
{
    public static HttpReply Json(string body, int status = 200) => new(status, "application/json", body);
    public static HttpReply Text(string body, int status = 200) => new(status, "text/plain; version=0.0.4; charset=utf-8", body);
}

public sealed class AdminHttpServer : IAsyncDisposable
{
    private HttpListener _listener = new();
    private const int StartAttempts = 5;
    private readonly Func<HttpListenerRequest, Task<HttpReply>> _handle;
    private readonly Action<string> _log;
    private readonly Task _loop;

    public AdminHttpServer(Uri endpoint, Func<HttpListenerRequest, Task<HttpReply>> handle, Action<string> log)
    {
        _handle = handle;
        _log = log;
        var prefix = $"http://{endpoint.Host}:{endpoint.Port}/";
        for (var attempt = 1; ; attempt++)
        {
            _listener.Prefixes.Add(prefix);
            try
            {
                _listener.Start(); // throws HttpListenerException (e.g. address in use): the daemon reports it and exits
                break;
            }
            catch (ArgumentNullException) when (attempt < StartAttempts)
            {
                // .NET's managed HttpListener accepts in its endpoint's constructor before that has made its connection table:
                // a client already waiting in the backlog (a monitor polling /status while the daemon starts) makes Start throw
                // ArgumentNullException. The half-made endpoint's socket closes only when finalized; then the port is free again.
                log($"http endpoint {prefix}: a connection arrived while it opened (HttpListener start race); opening again ({attempt} of {StartAttempts - 1})");
                _listener.Close();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                _listener = new HttpListener();
            }
        }
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException e)
            {
                _log($"http endpoint: {e.Message}");
                continue;
            }
            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        HttpReply reply;
        try
        {
            reply = await _handle(context.Request);
        }
        catch (Exception e)
        {
            _log($"http {context.Request.HttpMethod} {context.Request.Url?.AbsolutePath}: {e.GetType().Name}: {e.Message}");
            reply = HttpReply.Json($$"""{"error":"{{e.GetType().Name}}"}""", 500);
        }
        try
        {
            var bytes = Encoding.UTF8.GetBytes(reply.Body);
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = reply.ContentType;
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the client went away
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ConfigureAwait(false);
    }
}
