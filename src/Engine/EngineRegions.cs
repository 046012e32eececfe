namespace Serverless.Engine;

/// <summary>
/// The engines one process runs: one per region. A host without regions configured runs a single engine, which
/// serves every request whatever its region (the behaviour before regions existed); with <c>LocalHost__Regions</c>
/// each region has its own engine and store, and a request goes to the engine of its SigV4 credential scope.
/// </summary>
public sealed class EngineRegions
{
    private readonly string[] _names;
    private readonly DynamoEngine[] _engines;

    /// <param name="engines">The engines in configuration order; the first is the default one.</param>
    /// <param name="routed">Whether requests are routed by region (false: the single engine serves every region).</param>
    public EngineRegions(IReadOnlyList<DynamoEngine> engines, bool routed)
    {
        ArgumentNullException.ThrowIfNull(engines);
        if (engines.Count == 0) throw new ArgumentException("At least one engine is needed.", nameof(engines));
        _engines = [.. engines];
        _names = [.. engines.Select(e => e.Options.DefaultRegion)];
        Routed = routed;
    }

    /// <summary>True when each region has its own engine (<c>--regions</c>).</summary>
    public bool Routed { get; }

    /// <summary>The engine of requests without a credential scope, or of a region this process does not serve.</summary>
    public DynamoEngine Default => _engines[0];

    public IReadOnlyList<DynamoEngine> All => _engines;

    /// <summary>The region names, in configuration order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The engine serving <paramref name="region"/>, or null when this process runs no engine of that name.</summary>
    public DynamoEngine? Find(string? region)
    {
        if (region == null) return null;
        for (var i = 0; i < _names.Length; i++)
        {
            if (string.Equals(_names[i], region, StringComparison.Ordinal)) return _engines[i];
        }

        return null;
    }

    /// <summary>Lower-case letters, digits and hyphens, as AWS region names are (us-east-1, eu-west-1, ap-southeast-2).</summary>
    public static bool IsRegionName(string? name) =>
        name is { Length: >= 3 and <= 32 } && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && name[0] != '-' && name[^1] != '-';

    /// <summary>The engine of a request, by the region of its <c>Authorization</c> header's credential scope.</summary>
    public DynamoEngine For(string? authorization)
    {
        if (!Routed) return _engines[0];
        return Find(Protocol.SigV4.RegionFromAuthorization(authorization)) ?? _engines[0];
    }
}
