// Entry point of the Azure Functions app (isolated worker). The local host (src/Host) does not run this file;
// it calls AddServerlessEngine itself, so both hosts share one composition root.
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddServerlessEngine(builder.Configuration);
await builder.Build().RunAsync();
