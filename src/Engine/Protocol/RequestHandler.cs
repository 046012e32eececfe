using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Protocol;

/// <summary>
/// The engine's single entry point for the DynamoDB JSON 1.0 protocol: checks size and target, parses the
/// body once, dispatches through <see cref="OperationTable"/>, and turns every failure into DynamoDB's error
/// shape. This is the only place that catches errors on the request path.
/// </summary>
public sealed class RequestHandler
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Indented = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static PooledBufferWriter? t_output;

    // Request ids: a random prefix per process and a counter, so making one costs no randomness per request.
    private static readonly string RequestIdPrefix = RandomAlphanumerics(40);
    private static long _requestCounter;

    private readonly DynamoEngine _engine;

    internal RequestHandler(DynamoEngine engine)
    {
        _engine = engine;
    }

    /// <summary>Optional sink for internal faults (500s); hosts route it to their logger.</summary>
    public Action<Exception>? OnInternalError { get; set; }

    public async ValueTask<ApiResponse> HandleAsync(ApiRequest request, CancellationToken cancellationToken = default)
    {
        // The id's text is made only when someone reads it (the host's x-amzn-RequestId header).
        var requestId = Interlocked.Increment(ref _requestCounter);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var output = RentOutput();
        byte[]? body = null;
        byte[]? decoded = null;
        byte[]? converted = null;
        var contentType = ApiResponse.JsonContentType;
        var cbor = Kinesis.KinesisCbor.IsCbor(request.ContentType);
        try
        {
            if (request.ContentLength > _engine.Options.MaxRequestBytes) throw DynamoErrors.RequestTooLarge();
            int length;
            (body, length) = await ReadBodyAsync(request.Body, request.ContentLength, _engine.Options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);

            // What is parsed: the body as sent (which the signature covers), decompressed when it says so, and
            // CBOR (the Java SDK's and the KCL's Kinesis protocol) turned into JSON; Complete turns the answer back.
            var json = body;
            var jsonLength = length;
            var coding = HttpEdge.CodingOf(request.ContentEncoding);
            if (coding != HttpEdge.BodyCoding.Identity)
            {
                (decoded, jsonLength) = HttpEdge.Decode(coding, body, length, _engine.Options.MaxRequestBytes);
                json = decoded;
            }

            if (cbor)
            {
                (converted, jsonLength) = Kinesis.KinesisCbor.ToJson(json.AsSpan(0, jsonLength));
                json = converted;
            }

            // A cache hit on a cluster's endpoint needs no parse: the same bytes were parsed and answered before (docs/cache.md).
            if (request.Cluster != null && !_engine.Security.VerifiesSignatures && _engine.Cache.TryAnswer(request.Cluster, request.Target, json.AsSpan(0, jsonLength), output))
                return Complete(200, output, requestId, contentType);

            // AWS checks, in order: the body parses as JSON, the target names an operation, the signature.
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(json.AsMemory(0, jsonLength), DocumentOptions);
            }
            catch (JsonException)
            {
                throw DynamoErrors.Serialization("");
            }

            if (!RequestText.IsWellFormed(json.AsSpan(0, jsonLength)))
            {
                document.Dispose();
                throw DynamoErrors.Serialization("");
            }

            var handler = OperationTable.Find(request.Target, out var service);
            if (service != null) contentType = service.ContentType;
            if (handler is null)
            {
                document.Dispose();
                throw DynamoErrors.UnknownOperation();
            }

            using (document)
            {
                var caller = _engine.Security.Authenticate(request, body.AsSpan(0, length));
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw DynamoErrors.Serialization("");
                var context = OperationContext.Rent(_engine, SigV4.RegionFromAuthorization(request.Authorization) ?? _engine.Options.DefaultRegion, requestId, caller, request.Host, request.Https);
                context.Target = request.Target;
                var writer = RentWriter(output);
                try
                {
                    // A partitioned store routes the operation to its partitions (src/Engine/Partitioning); a gateway first
                    // makes sure its routing catalog, which authorization reads too, holds the tables the request names.
                    if (_engine.Partitions is { } partitions)
                    {
                        await partitions.PrepareAsync(handler, context, document.RootElement).ConfigureAwait(false);
                        handler = partitions.Bind(handler);
                    }

                    _engine.Security.Authorize(context, request.Target!, document.RootElement);
                    // Requests sent to a cache cluster's endpoint go through the cache, which decorates the read operations.
                    try
                    {
                        await (request.Cluster is null
                            ? handler(context, document.RootElement, writer)
                            : _engine.Cache.ExecuteAsync(request.Cluster, request.Target!, handler, context, document.RootElement, json.AsMemory(0, jsonLength), writer)).ConfigureAwait(false);
                    }
                    catch (DynamoException e) when (ReferenceEquals(service, Operations.OperationTable.DynamoDb))
                    {
                        // Several problems: report the one AWS checks first (shape, constraints, values, then the table).
                        var first = Operations.RequestOrder.FirstError(document.RootElement, e);
                        if (ReferenceEquals(first, e)) throw;
                        throw first;
                    }
                    writer.Flush();
                    _engine.Database.Latencies.Record(document.RootElement, started);
                }
                finally
                {
                    ReturnWriter(writer);
                    OperationContext.Return(context);
                }
            }

            return Complete(200, output, requestId, contentType, cbor);
        }
        catch (Exception ex) when (DynamoErrors.Of(ex) is { } e)
        {
            // A DynamoDB error, or a store refusal raised where no status could be returned (Storage/StoreStatus.cs).
            output.Clear();
            WriteError(output, e);
            return Complete(e.StatusCode, output, requestId, contentType, cbor);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            OnInternalError?.Invoke(e);
            output.Clear();
            WriteError(output, DynamoErrors.InternalServerError());
            return Complete(500, output, requestId, contentType, cbor);
        }
        finally
        {
            // Complete detached the buffer; a cancelled request still holds one.
            output.Dispose();
            t_output = output;
            if (body != null) ArrayPool<byte>.Shared.Return(body);
            if (decoded != null) ArrayPool<byte>.Shared.Return(decoded);
            if (converted != null) ArrayPool<byte>.Shared.Return(converted);
        }
    }

    /// <summary>
    /// Takes this thread's cached writer (a Utf8JsonWriter is a sizeable object), or a new one while it is lent
    /// out. Taking it out of the slot, rather than sharing it, keeps it safe when a handler resumes on another thread.
    /// </summary>
    private static Utf8JsonWriter RentWriter(PooledBufferWriter output)
    {
        var writer = t_writer;
        if (writer == null) return new Utf8JsonWriter(output, WriterOptions);
        t_writer = null;
        writer.Reset(output);
        return writer;
    }

    // The writer keeps a reference to the output, which holds no buffer once detached or disposed.
    private static void ReturnWriter(Utf8JsonWriter writer) => t_writer = writer;

    /// <summary>This thread's response buffer writer (taken out of its slot while in use, as the JSON writer is), with a fresh buffer.</summary>
    private static PooledBufferWriter RentOutput()
    {
        var output = t_output;
        if (output == null) return new PooledBufferWriter(512);
        t_output = null;
        output.Reopen(512);
        return output;
    }

    internal static void WriteError(PooledBufferWriter output, DynamoException e)
    {
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("__type"u8, e.WireType);
        if (e.HasMessage) writer.WriteString(e.CapitalMessageKey ? "Message"u8 : "message"u8, e.Message);
        e.WriteExtraMembers?.Invoke(writer);
        writer.WriteEndObject();
    }

    private static ApiResponse Complete(int status, PooledBufferWriter output, long requestId, string contentType, bool cbor = false)
    {
        if (cbor)
        {
            var encoded = Kinesis.KinesisCbor.ToCbor(output.WrittenSpan);
            output.Clear();
            output.Write(encoded);
            contentType = Kinesis.KinesisCbor.ContentType;
        }

        var crc = Crc32.Compute(output.WrittenSpan);
        var length = output.WrittenCount;
        var buffer = output.Detach();
        return new ApiResponse(status, buffer.AsMemory(0, length), crc, requestId, buffer, contentType);
    }

    /// <summary>A pooled buffer twice the size holding the first <paramref name="length"/> bytes; RequestTooLarge past <paramref name="max"/>.</summary>
    internal static byte[] GrowBody(byte[] buffer, int length, long max)
    {
        if (length >= max) throw DynamoErrors.RequestTooLarge();
        var next = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, (long)buffer.Length * 2));
        buffer.AsSpan(0, length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(buffer);
        return next;
    }

    private static async ValueTask<(byte[] Buffer, int Length)> ReadBodyAsync(Stream stream, long? contentLength, long max, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(contentLength is > 0 ? (int)contentLength.Value : 4096);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length) buffer = GrowBody(buffer, length, max);

                int read;
                try
                {
                    read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // Malformed framing (bad chunked encoding, a body shorter than declared) is the client's fault: a 400, never a 500.
                    throw DynamoErrors.Serialization("");
                }

                if (read == 0) break;
                length += read;
                if (length > max) throw DynamoErrors.RequestTooLarge();

                // With a declared length, stop once it has arrived: waiting for end-of-body costs another read.
                if (length == contentLength) break;
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>A new request id in AWS's form (52 upper-case alphanumerics); the HTTP edge's own answers use it too.</summary>
    public static string NewRequestId() => FormatRequestId(Interlocked.Increment(ref _requestCounter));

    /// <summary>The text of request number <paramref name="number"/>.</summary>
    internal static string FormatRequestId(long number)
    {
        // AWS request ids are 52 upper-case alphanumerics: 40 random ones fixed per process, then 12 base-36 digits of a counter.
        return string.Create(52, number, static (span, n) =>
        {
            RequestIdPrefix.AsSpan().CopyTo(span);
            for (var i = span.Length - 1; i >= 40; i--)
            {
                span[i] = Alphabet[(int)(n % 36)];
                n /= 36;
            }
        });
    }

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private static string RandomAlphanumerics(int length) => string.Create(length, 0, static (span, _) =>
    {
        Span<byte> r = stackalloc byte[span.Length];
        System.Security.Cryptography.RandomNumberGenerator.Fill(r);
        for (var i = 0; i < span.Length; i++) span[i] = Alphabet[r[i] % Alphabet.Length];
    });
}
