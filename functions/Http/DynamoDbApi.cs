using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Serverless.Engine;
using Serverless.Engine.Protocol;

namespace Serverless.Functions.Http;

/// <summary>
/// The DynamoDB JSON API: every request is <c>POST /</c>, told apart by its <c>X-Amz-Target</c> header, and served
/// by the engine of the region in its credential scope.
/// </summary>
public sealed class DynamoDbApi(EngineRegions regions)
{
    [Function("DynamoDbApi")]
    public async Task RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "")] HttpRequest request)
    {
        var aborted = request.HttpContext.RequestAborted;
        var engine = regions.For(request.Headers.Authorization.ToString());
        using var response = await engine.Handler.HandleAsync(ApiHttp.ToApiRequest(request, engine.Security.VerifiesSignatures), aborted);
        await ApiHttp.WriteAsync(request.HttpContext.Response, response, aborted);
    }
}
