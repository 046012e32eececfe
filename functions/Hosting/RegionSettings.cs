using Microsoft.Extensions.Configuration;
using Serverless.Engine;

namespace Serverless.Functions.Hosting;

/// <summary>
/// The regions one host serves (<c>LocalHost__Regions</c>, comma-separated; the local host's <c>--regions</c>). None:
/// one engine, the data directory and blob container as configured, every request served whatever its region.
/// Several: one engine per region, its store under <c>{DataDirectory}/{region}</c> or in blob container
/// <c>{Container}-{region}</c>, and each request goes to the engine of its SigV4 region.
/// </summary>
public sealed class RegionSettings
{
    public const string Setting = "LocalHost:Regions";

    public RegionSettings(IReadOnlyList<string> names)
    {
        foreach (var name in names)
        {
            if (!EngineRegions.IsRegionName(name)) throw new ArgumentException($"{Setting}: '{name}' is not a region name (like us-east-1).");
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) throw new ArgumentException($"{Setting} names a region twice.");
        Names = names;
    }

    /// <summary>The configured regions in order (the first is the default); empty without <c>LocalHost__Regions</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    public static RegionSettings From(IConfiguration configuration) =>
        new((configuration[Setting] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    /// <summary>A region's engine options: its own store beside the other regions' ones, and its name as default region.</summary>
    public EngineOptions OptionsFor(EngineOptions options, string region)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.DataDirectory = Path.Combine(options.DataDirectory, region);
        options.Blob.Container = $"{options.Blob.Container}-{region}";
        options.DefaultRegion = region;
        return options;
    }
}
