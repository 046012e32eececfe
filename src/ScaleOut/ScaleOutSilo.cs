using Microsoft.Extensions.DependencyInjection;
using Serverless.Engine;

namespace Serverless.ScaleOut;

/// <summary>What a silo that owns partitions needs (docs/scale-out.md, "Hosting").</summary>
public static class ScaleOutSilo
{
    /// <summary>
    /// Lets this silo activate partition grains of the store <paramref name="options"/> describes (P &gt; 1), each
    /// opening its own partition with <paramref name="time"/>.
    /// </summary>
    public static ISiloBuilder AddPartitionGrains(this ISiloBuilder silo, EngineOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Partitions < 2) throw new ArgumentException("Scale-out needs a store with partitions (Engine:Partitions > 1).", nameof(options));
        silo.Services.AddSingleton(new PartitionStoreSettings(options, time));
        return silo;
    }
}
