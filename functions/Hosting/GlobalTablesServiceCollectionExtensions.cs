using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Engine;
using Serverless.Replicator.GlobalTables;
using Serverless.Replicator.Queues;

namespace Serverless.Functions.Hosting;

/// <summary>Registers the global-table replicator (section <c>GlobalTables</c>) over the engines and the queues.</summary>
public static class GlobalTablesServiceCollectionExtensions
{
    public static IServiceCollection AddServerlessGlobalTables(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new GlobalTablesOptions();
        configuration.GetSection(GlobalTablesOptions.Section).Bind(options);
        services.AddSingleton(options);
        services.AddSingleton(sp => new GlobalTableReplicator(
            sp.GetRequiredService<EngineRegions>(),
            options,
            sp.GetRequiredService<IMessageQueues>(),
            connection => new AzureStorageMessageQueues(connection),
            sp.GetRequiredService<ILogger<GlobalTableReplicator>>()));
        // After the engines open and before requests and timers run: every replicated table's item versions exist.
        services.AddHostedService(sp => new GlobalTablesStart(sp.GetRequiredService<GlobalTableReplicator>()));
        return services;
    }

    private sealed class GlobalTablesStart(GlobalTableReplicator replicator) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => replicator.StartAsync();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
