namespace Serverless.Engine;

/// <summary>What the engine asks of the global-table replicator (src/Replicator/GlobalTables), which sets it.</summary>
public interface IGlobalTablesHost
{
    /// <summary>
    /// Why a replica of <paramref name="table"/> cannot be created in <paramref name="region"/>: null when it can,
    /// "region" when neither this host nor a configured peer serves the region, "exists" when a table of that name
    /// already exists there.
    /// </summary>
    string? ReplicaProblem(string region, string table);

    /// <summary>Every region a replica can be created in: those this host serves and its configured peers.</summary>
    IReadOnlyList<string> Regions { get; }

    /// <summary>A replicated table's definition changed in this region: the replicator acts on it soon.</summary>
    void Poke();
}

public sealed partial class DynamoEngine
{
    /// <summary>Global tables: set by the replicator when it runs; null means no replica can be created.</summary>
    public IGlobalTablesHost? GlobalTables { get; set; }
}
