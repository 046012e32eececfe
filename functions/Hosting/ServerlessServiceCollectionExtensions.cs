using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.ScaleOut;

namespace Serverless.Functions.Hosting;

/// <summary>
/// The one composition root of the engine, shared by the Azure Functions app and the local host: both call
/// <see cref="AddServerlessEngine"/> and nothing else to get a <see cref="DynamoEngine"/>.
/// </summary>
public static class ServerlessServiceCollectionExtensions
{
    /// <summary>Configuration section bound to <see cref="EngineOptions"/> (env: <c>Engine__DataDirectory</c>, …).</summary>
    public const string EngineSection = "Engine";

    /// <summary>
    /// Binds <see cref="EngineOptions"/> from the <c>Engine</c> section, validates it at start-up, opens one
    /// <see cref="DynamoEngine"/> when the host starts and disposes it (flush + checkpoint) when the host stops.
    /// A <see cref="TimeProvider"/> registered before start-up replaces the system clock. Also registers the triggers
    /// (<see cref="TriggerServiceCollectionExtensions.AddServerlessTriggers"/>).
    /// </summary>
    /// <param name="host">
    /// <see cref="ServerlessHost.Cloud"/> (functions/Program.cs) refuses to start without an access key unless
    /// <c>Auth__Mode=AcceptAny</c> is set; <see cref="ServerlessHost.Local"/> accepts any credentials when no key is configured.
    /// </param>
    public static IServiceCollection AddServerlessEngine(this IServiceCollection services, IConfiguration configuration, ServerlessHost host = ServerlessHost.Local)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<EngineOptions>()
            .Bind(configuration.GetSection(EngineSection))
            .PostConfigure(o =>
            {
                configuration.GetSection(Serverless.Engine.Security.AuthOptions.Section).Bind(o.Auth);
                configuration.GetSection(Serverless.Engine.Security.Encryption.EncryptionOptions.Section).Bind(o.Encryption);
                configuration.GetSection(Serverless.Engine.Exports.ExportOptions.Section).Bind(o.Exports);
                configuration.GetSection(Serverless.Engine.Cache.CacheOptions.Section).Bind(o.Cache);
                configuration.GetSection(Serverless.Engine.Kinesis.KinesisOptions.Section).Bind(o.Kinesis);
                configuration.GetSection(Serverless.Engine.Capacity.CapacityOptions.Section).Bind(o.Capacity);
                // The standard Functions storage setting puts the store in blob storage unless Engine:Blob overrides it.
                if (!o.InMemory && o.Blob.FromFunctionsStorage && string.IsNullOrEmpty(o.Blob.ConnectionString) && configuration["AzureWebJobsStorage"] is { Length: > 0 } storage)
                    o.Blob.ConnectionString = storage;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>();
        services.AddSingleton<IValidateOptions<EngineOptions>>(new AuthOptionsValidator(keysRequired: host == ServerlessHost.Cloud));
        services.AddSingleton(RegionSettings.From(configuration));
        // Scale-out (off by default): the co-hosted silo starts before the engine opens, and stops after it closes.
        var storage = configuration["Engine:Blob:ConnectionString"] is { Length: > 0 } blob ? blob : configuration["AzureWebJobsStorage"];
        services.AddScaleOut(configuration.GetSection(Serverless.ScaleOut.ScaleOutOptions.Section).Get<Serverless.ScaleOut.ScaleOutOptions>() ?? new(),
            configuration.GetValue<bool>("Engine:InMemory") ? null : storage);
        services.AddSingleton<EngineLifetime>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineLifetime>());
        services.AddSingleton(sp => sp.GetRequiredService<EngineLifetime>().Regions);
        services.AddSingleton(sp => sp.GetRequiredService<EngineLifetime>().Engine);
        services.AddServerlessTriggers(configuration);
        services.AddServerlessGlobalTables(configuration);
        return services;
    }

    private sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
    {
        public ValidateOptionsResult Validate(string? name, EngineOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"Configuration section '{EngineSection}': {e.Message}");
            }
        }
    }

    private sealed class AuthOptionsValidator(bool keysRequired) : IValidateOptions<EngineOptions>
    {
        public ValidateOptionsResult Validate(string? name, EngineOptions options) =>
            Serverless.Engine.Security.AuthOptionsValidation.FindProblem(options.Auth, keysRequired) is { } problem
                ? ValidateOptionsResult.Fail($"Configuration section '{Serverless.Engine.Security.AuthOptions.Section}': {problem}")
                : ValidateOptionsResult.Success;
    }
}
