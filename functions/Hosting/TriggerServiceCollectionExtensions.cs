using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.Replicator.Handlers;
using Serverless.Replicator.Queues;
using Serverless.Replicator.Triggers;

namespace Serverless.Functions.Hosting;

/// <summary>The trigger mappings (section <c>Triggers</c>, a list), validated at start-up.</summary>
public sealed class TriggerSettings
{
    public const string Section = "Triggers";

    public List<TriggerMapping> Mappings { get; } = [];
}

/// <summary>Registers the stream fan-out (one per region's engine), the trigger queues and the example handler's service.</summary>
public static class TriggerServiceCollectionExtensions
{
    public static IServiceCollection AddServerlessTriggers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TriggerSettings>()
            .Configure(s => configuration.GetSection(TriggerSettings.Section).Bind(s.Mappings))
            .Validate<RegionSettings, IOptions<EngineOptions>>((s, regions, engine) => Validated(s.Mappings, regions, engine.Value.DefaultRegion), "invalid Triggers")
            .ValidateOnStart();
        services.AddOptions<StreamFanOutOptions>()
            .Bind(configuration.GetSection(StreamFanOutOptions.Section))
            .Validate(Validated, "invalid StreamFanOut")
            .ValidateOnStart();
        services.AddOptions<AuditTrailOptions>().Bind(configuration.GetSection(AuditTrailOptions.Section));

        services.AddSingleton(sp => MessageQueues.Create(
            sp.GetRequiredService<IOptions<StreamFanOutOptions>>().Value.QueueBackend,
            configuration[MessageQueues.ConnectionSetting],
            sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new StreamFanOuts(
            sp.GetRequiredService<EngineRegions>(),
            sp.GetRequiredService<IOptions<TriggerSettings>>().Value.Mappings,
            sp.GetRequiredService<IOptions<StreamFanOutOptions>>().Value,
            sp.GetRequiredService<IMessageQueues>(),
            sp.GetRequiredService<ILogger<StreamFanOut>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AuditTrailOptions>>().Value;
            var engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            return new AuditTrail(options.Path ?? Path.Combine(engine.DataDirectory, "audit", "audit.log"), options.RejectAttribute);
        });
        return services;
    }

    /// <summary>The mappings against the regions this host serves: <c>LocalHost:Regions</c>, or else the engine's default region.</summary>
    private static bool Validated(List<TriggerMapping> mappings, RegionSettings regions, string defaultRegion)
    {
        StreamFanOuts.Validate(mappings, regions.Names.Count > 0 ? regions.Names : [defaultRegion]);
        return true;
    }

    private static bool Validated(StreamFanOutOptions options)
    {
        options.Validate();
        return true;
    }
}
