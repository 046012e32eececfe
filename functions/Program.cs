// Entry point of the Azure Functions app (isolated worker). The local host (src/Host) does not run this file;
// it calls AddServerlessEngine itself, so both hosts share one composition root.
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// Cloud: refuse to start without an access key unless Auth__Mode=AcceptAny is set (infra/bicep configures one).
builder.Services.AddServerlessEngine(builder.Configuration, ServerlessHost.Cloud);
await builder.Build().RunAsync();
