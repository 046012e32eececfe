using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Serverless.Engine;
using Serverless.Engine.Partitioning;

namespace Serverless.ScaleOut;

/// <summary>
/// Co-hosts an Orleans silo in the host's process (docs/scale-out.md, "Hosting"): membership in Azure Table storage
/// on the store's account when there is one, else localhost clustering; partition grains opening partitions of the
/// host's own store (partition 0 too); and an <see cref="IPartitionTransport"/> through them, with which the host opens
/// its engine as a gateway that holds no partition itself.
/// </summary>
public static class ScaleOutHosting
{
    /// <summary>
    /// Adds the silo when <paramref name="scaleOut"/> is enabled; does nothing otherwise. <paramref name="storage"/> is
    /// the store's storage connection (<c>--storage</c> / <c>AzureWebJobsStorage</c>), or null without one.
    /// </summary>
    public static IServiceCollection AddScaleOut(this IServiceCollection services, ScaleOutOptions scaleOut, string? storage)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(scaleOut);
        if (!scaleOut.Enabled) return services;
        // Orleans generates code at run time: a Native AOT publish of the host cannot run a silo.
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            throw new InvalidOperationException("ScaleOut:Enabled needs a JIT build of the host (Orleans does not run under Native AOT): publish it with -p:PublishAot=false.");
        return AddSilo(services, scaleOut, storage);
    }

    /// <summary>Apart, and never inlined: a host without scale-out never loads Orleans' assemblies.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IServiceCollection AddSilo(IServiceCollection services, ScaleOutOptions scaleOut, string? storage)
    {
        var (address, siloPort, gatewayPort) = scaleOut.EndpointFrom(
            Environment.GetEnvironmentVariable("WEBSITE_PRIVATE_IP"), Environment.GetEnvironmentVariable("WEBSITE_PRIVATE_PORTS"));
        services.AddOrleans(silo =>
        {
            if (storage is { Length: > 0 })
            {
                silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(storage));
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = scaleOut.ClusterId;
                    o.ServiceId = scaleOut.ClusterId;
                });
                silo.ConfigureEndpoints(address, siloPort, gatewayPort, listenOnAnyHostAddress: false);
            }
            else
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: scaleOut.ClusterId, clusterId: scaleOut.ClusterId);
            }

            silo.Configure<ClusterMembershipOptions>(o =>
            {
                if (scaleOut.ProbeTimeout is { } probe) o.ProbeTimeout = probe;
                if (scaleOut.MissedProbesLimit is { } missed) o.NumMissedProbesLimit = missed;
            });
        });
        // The grains open partitions with the host's own settings, once they are bound and validated.
        services.AddSingleton(sp => new PartitionStoreSettings(sp.GetRequiredService<IOptions<EngineOptions>>().Value, sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IPartitionTransport>(sp => new GrainPartitionTransport(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IOptions<EngineOptions>>().Value.DefaultRegion));
        return services;
    }
}
