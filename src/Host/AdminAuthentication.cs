using System.Buffers;
using System.Text.Json;
using Serverless.Engine;
using Serverless.Engine.Protocol;
using Serverless.Functions.Http;

namespace Serverless.Host;

/// <summary>
/// The local host's <c>/admin</c> routes in Verify mode: a valid SigV4 signature of a configured key (any service
/// name in the credential scope), then <see cref="Engine.Security.Authorization.Authorizer.Check"/> of the route's
/// action on resource <c>*</c>. Failures are answered as the DynamoDB API answers them: JSON with AWS's type.
/// </summary>
internal static class AdminAuthentication
{
    public const string GetMetrics = "admin:GetMetrics";
    public const string GetTriggers = "admin:GetTriggers";
    public const string AdvanceClock = "admin:AdvanceClock";
    public const string InvokeFunction = "admin:InvokeFunction";

    /// <summary>Admin calls carry at most a small JSON body.</summary>
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary>Runs <paramref name="next"/> once the caller is verified and allowed <paramref name="action"/> (null: any verified caller).</summary>
    public static async Task RunAsync(HttpContext context, string? action, Func<Task> next)
    {
        var engine = context.RequestServices.GetRequiredService<DynamoEngine>();
        if (engine.Security.VerifiesSignatures)
        {
            try
            {
                var body = await ReadBodyAsync(context.Request, context.RequestAborted);
                var caller = engine.Security.Authenticator.Authenticate(ApiHttp.ToApiRequest(context.Request, forSignature: true), body, signingName: null);
                if (action is not null) engine.Security.Authorizer.Check(caller, action, "*");
            }
            catch (DynamoException e)
            {
                await WriteErrorAsync(context.Response, e);
                return;
            }
        }

        await next();
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes) throw DynamoErrors.RequestTooLarge();
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes) throw DynamoErrors.RequestTooLarge();
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private static async Task WriteErrorAsync(HttpResponse response, DynamoException e)
    {
        response.StatusCode = e.StatusCode;
        response.ContentType = ApiResponse.JsonContentType;
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("__type"u8, e.WireType);
        writer.WriteString("message"u8, e.Message);
        writer.WriteEndObject();
    }
}
