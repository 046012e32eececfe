namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// Global tables settings (section <c>GlobalTables</c>). <see cref="Queue"/> is the queue this host's replicas receive
/// on; <see cref="Peers"/> names the regions other hosts serve and their queues
/// (<c>GlobalTables__Peers__eu-west-1__Queue</c>, optional <c>…__Connection</c>, default <c>AzureWebJobsStorage</c>).
/// </summary>
public sealed class GlobalTablesOptions
{
    public const string Section = "GlobalTables";

    /// <summary>
    /// The queue the GlobalTablesApply function reads. Default: <c>ddb-replication-{region}</c> for a host serving one
    /// region, <c>ddb-replication</c> for one serving several (messages carry their target region).
    /// </summary>
    public string? Queue { get; set; }

    /// <summary>Regions served by other hosts, by name.</summary>
    public Dictionary<string, PeerOptions> Peers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long one run of the shipping timer keeps following the change logs after catching up. Default: 950 ms.</summary>
    public int TailMilliseconds { get; set; } = 950;

    /// <summary>How often a following run looks at the change logs. Default: 5 ms.</summary>
    public int PollMilliseconds { get; set; } = 5;

    /// <summary>
    /// To a peer behind an Azure Storage queue, changes leave at most this often (one fuller message instead of one
    /// per look at the log): the queue function takes one message at a time (host.json <c>batchSize</c> 1, which
    /// triggers need for order), so the number of messages, not their size, bounds how fast a region applies. The
    /// first change after a quiet spell leaves at once. Milliseconds; default 50; 0 sends on every look. In-process
    /// queues always send at once.
    /// </summary>
    public int ShipIntervalMilliseconds { get; set; } = 50;

    /// <summary>
    /// A replica whose queue has refused every message for this long is shown as REGION_DISABLED, with
    /// ReplicaInaccessibleDateTime; it is ACTIVE again once a message gets through. Seconds; default 60.
    /// </summary>
    public int UnreachableSeconds { get; set; } = 60;

    /// <summary>
    /// A peer on another host whose queue takes messages but which acknowledges none of them for this long, while
    /// changes wait, is shown as REGION_DISABLED too (a stopped host behind a working queue). Seconds; default 60; 0
    /// turns the check off (for peers of a release that does not acknowledge).
    /// </summary>
    public int AckTimeoutSeconds { get; set; } = 60;

    /// <summary>How long one send to a peer's queue may take before it counts as a failure. Seconds; default 10.</summary>
    public int SendTimeoutSeconds { get; set; } = 10;

    public static string DefaultQueueOf(string region) => $"ddb-replication-{region}";
}

/// <summary>A region served by another host.</summary>
public sealed class PeerOptions
{
    /// <summary>Its replication queue. Default: <c>ddb-replication-{region}</c>.</summary>
    public string? Queue { get; set; }

    /// <summary>The storage account of that queue. Default: this host's <c>AzureWebJobsStorage</c>.</summary>
    public string? Connection { get; set; }
}
