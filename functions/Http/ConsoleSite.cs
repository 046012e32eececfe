using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Serverless.WebConsole;

namespace Serverless.Functions.Http;

/// <summary>
/// The web console's static files (src/Console) at <c>/console</c>. The page calls the DynamoDB API at <c>POST /</c>
/// like any client, signing with the key the user enters, so serving the files themselves needs no authentication.
/// </summary>
public sealed class ConsoleSite
{
    [Function("Console")]
    public Task RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "console/{*path}")] HttpRequest request) =>
        ConsoleFiles.ServeAsync(request.HttpContext);
}
