using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.Engine.Protocol;

namespace Serverless.Functions.Http;

/// <summary>
/// The rest of DynamoDB's HTTP front end on <c>/</c>: <c>GET /</c> answers the health line load balancers and
/// tools probe, and <c>OPTIONS /</c> answers a browser's CORS preflight (see <see cref="HttpEdge"/>).
/// </summary>
public sealed class DynamoDbEdge(IOptions<EngineOptions> options)
{
    [Function("DynamoDbHealth")]
    public async Task HealthAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "")] HttpRequest request)
    {
        var response = request.HttpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain";
        if (request.Headers.Origin.Count > 0) ApiHttp.AddCorsHeaders(response.Headers);
        await response.WriteAsync(HttpEdge.HealthText(options.Value.DefaultRegion), request.HttpContext.RequestAborted);
    }

    [Function("DynamoDbPreflight")]
    public Task PreflightAsync([HttpTrigger(AuthorizationLevel.Anonymous, "options", Route = "")] HttpRequest request)
    {
        // The preflight allows what it asks for (DynamoDB echoes the requested method and headers): the
        // signature, not the origin, decides what a request may do.
        var response = request.HttpContext.Response;
        var headers = response.Headers;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = 0;
        headers["x-amzn-RequestId"] = RequestHandler.NewRequestId();
        headers.AccessControlAllowOrigin = HttpEdge.AllowOrigin;
        var method = request.Headers.AccessControlRequestMethod;
        headers.AccessControlAllowMethods = method.Count > 0 ? method.ToString() : HttpEdge.AllowMethods;
        var requested = request.Headers.AccessControlRequestHeaders;
        if (requested.Count > 0) headers.AccessControlAllowHeaders = requested.ToString();
        headers.AccessControlExposeHeaders = HttpEdge.ExposeHeaders;
        headers.AccessControlMaxAge = HttpEdge.MaxAgeSeconds;
        return Task.CompletedTask;
    }
}
