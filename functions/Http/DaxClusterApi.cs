using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Serverless.Engine;

namespace Serverless.Functions.Http;

/// <summary>
/// A DAX-style cache cluster's endpoint: the DynamoDB JSON API at <c>POST /dax/{cluster}</c>, answered through the
/// cluster's cache (src/Engine/Cache). Point any DynamoDB client's endpoint URL at it.
/// </summary>
public sealed class DaxClusterApi(DynamoEngine engine)
{
    [Function("DaxClusterApi")]
    public async Task RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dax/{cluster}")] HttpRequest request)
    {
        var aborted = request.HttpContext.RequestAborted;
        var api = ApiHttp.ToApiRequest(request, engine.Security.VerifiesSignatures) with { Cluster = ApiHttp.ClusterOf(request) };
        using var response = await engine.Handler.HandleAsync(api, aborted);
        await ApiHttp.WriteAsync(request.HttpContext.Response, response, aborted);
    }
}
