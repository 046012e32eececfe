using System.Text;
using Serverless.Engine;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Benchmarks;

/// <summary>
/// Calls the engine the way the HTTP function does (target header, SigV4-shaped auth header, a body stream),
/// minus Kestrel. One client per thread: it reuses its body stream.
/// </summary>
internal sealed class ApiClient
{
    public const string Auth = "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE/20240101/us-east-1/dynamodb/aws4_request, "
        + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

    private readonly RequestHandler _handler;
    private readonly BodyStream _body = new();

    public ApiClient(DynamoEngine engine)
    {
        _handler = engine.Handler;
    }

    /// <summary>Sends one request and returns the response bytes' length; a non-200 reply throws.</summary>
    public async ValueTask<int> CallAsync(string target, byte[] body)
    {
        _body.Reset(body);
        using var response = await _handler.HandleAsync(new ApiRequest(target, Auth, body.Length, _body)).ConfigureAwait(false);
        if (response.StatusCode != 200) Fail(target, response);
        return response.Body.Length;
    }

    /// <summary>Sends one request and hands the response body to <paramref name="read"/> before it is released.</summary>
    public async ValueTask<T> CallAsync<T>(string target, byte[] body, Func<ReadOnlyMemory<byte>, T> read)
    {
        _body.Reset(body);
        using var response = await _handler.HandleAsync(new ApiRequest(target, Auth, body.Length, _body)).ConfigureAwait(false);
        if (response.StatusCode != 200) Fail(target, response);
        return read(response.Body);
    }

    private static void Fail(string target, ApiResponse response) =>
        throw new InvalidOperationException($"{target} answered {response.StatusCode}: {Encoding.UTF8.GetString(response.Body.Span)}");

    /// <summary>Opens an engine: durable in a fresh temp folder (default change-log sync), or in memory.</summary>
    public static async Task<(DynamoEngine Engine, string? Directory)> OpenEngineAsync(bool durable)
    {
        string? dir = null;
        var options = new EngineOptions { InMemory = !durable, StoreMemoryBytes = 1L << 30 };
        if (Environment.GetEnvironmentVariable("BENCH_CHECKPOINT_LOG_BYTES") is { } cp) options.CheckpointLogBytes = long.Parse(cp, System.Globalization.CultureInfo.InvariantCulture);
        if (durable)
        {
            dir = Path.Combine(Path.GetTempPath(), "ddb-bench-" + Guid.NewGuid().ToString("N"));
            options.DataDirectory = dir;
            options.ChangeLog = new ChangeLogOptions();
        }

        return (await DynamoEngine.OpenAsync(options).ConfigureAwait(false), dir);
    }

    public static async Task CloseEngineAsync(DynamoEngine engine, string? directory)
    {
        await engine.DisposeAsync().ConfigureAwait(false);
        if (directory != null)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A read-only stream over one request body, reset per call instead of allocated.</summary>
    internal sealed class BodyStream : Stream
    {
        private byte[] _data = [];
        private int _position;

        public void Reset(byte[] data)
        {
            _data = data;
            _position = 0;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _data.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, _data.Length - _position);
            _data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
