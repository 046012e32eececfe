using System.Text.RegularExpressions;
using Serverless.Engine;

namespace Serverless.Replicator.Triggers;

/// <summary>Where a mapping without a checkpoint starts reading its table's stream (Lambda's StartingPosition).</summary>
public enum StartingPosition
{
    /// <summary>The oldest record still retained (24 hours).</summary>
    TRIM_HORIZON = 0,

    /// <summary>Only changes committed after the mapping first runs.</summary>
    LATEST = 1,
}

/// <summary>
/// One trigger (an event-source mapping, as Lambda calls it): the changes of a table's stream, filtered and batched,
/// are sent as Lambda DynamoDB events (<c>{"Records":[...]}</c>) to an Azure Storage queue, whose queue-triggered
/// function is the handler. Bound from <c>Triggers:N:*</c> (env <c>Triggers__0__Table</c>, …). The table must have a
/// stream enabled (StreamSpecification); until it has, the mapping waits and logs a warning. Like a Lambda mapping,
/// which is bound to one stream ARN and so to one region, a mapping reads the table of one region: the one its
/// <see cref="Region"/> or <see cref="EventSourceArn"/> names, or the host's default region.
/// </summary>
public sealed partial class TriggerMapping
{
    /// <summary>Default and maximum of <see cref="BatchSize"/>, as on Lambda for DynamoDB streams.</summary>
    public const int DefaultBatchSize = 100, MaxBatchSize = 10000, MaxBatchingWindowSeconds = 300, MaxRetryAttempts = 10000;

    /// <summary>Identifies the mapping's checkpoint; default <c>{Table}-{Queue}</c>. Renaming it restarts the mapping.</summary>
    public string? Name { get; set; }

    /// <summary>The table whose stream is read. Required, unless <see cref="EventSourceArn"/> names it.</summary>
    public string Table { get; set; } = "";

    /// <summary>
    /// The region whose table is read (like us-east-1). Unset: the region of <see cref="EventSourceArn"/>, or else the
    /// host's default region (the first of <c>LocalHost:Regions</c>, or <c>Engine:DefaultRegion</c>).
    /// </summary>
    public string? Region { get; set; }

    /// <summary>
    /// Lambda's EventSourceArn: the table's stream ARN (<c>arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL</c>)
    /// or its table ARN; gives <see cref="Table"/> and <see cref="Region"/>. The mapping follows the table's enabled
    /// stream, whatever the label.
    /// </summary>
    public string? EventSourceArn { get; set; }

    /// <summary>The queue each batch is sent to (3–63 lowercase letters, digits and single hyphens). Required.</summary>
    public string Queue { get; set; } = "";

    /// <summary>Most records per message; default 100, at most 10000. A batch is also cut at 48 KiB of JSON (queue message limit).</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>How long to gather records before sending a batch smaller than <see cref="BatchSize"/>; 0–300 s, default 0.</summary>
    public int BatchingWindowSeconds { get; set; }

    /// <summary>Where to start when the mapping has no checkpoint yet; default TRIM_HORIZON.</summary>
    public StartingPosition StartingPosition { get; set; } = StartingPosition.TRIM_HORIZON;

    /// <summary>
    /// Lambda event-filter patterns as JSON: an array of patterns (objects or JSON strings), or Lambda's own
    /// <c>{"Filters":[{"Pattern":"..."}]}</c>. A record is sent if any pattern matches; none means all records.
    /// </summary>
    public string? FilterCriteria { get; set; }

    /// <summary>
    /// How often a failed batch is retried by the handler's host before it goes to <see cref="OnFailureQueue"/>
    /// (the local host delivers a message at most RetryAttempts + 1 times). Unset: host.json's maxDequeueCount − 1.
    /// </summary>
    public int? RetryAttempts { get; set; }

    /// <summary>Queue that receives a batch whose retries are exhausted; unset: <c>{Queue}-poison</c>, as Functions does.</summary>
    public string? OnFailureQueue { get; set; }

    /// <summary>The checkpoint name, safe as a file name.</summary>
    public string CheckpointName => SafeName().Replace(Name ?? $"{Table}-{Queue}", "_");

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong; returns the compiled filter.</summary>
    public EventFilter Validate(int index)
    {
        var at = $"Triggers:{index}";
        if (EventSourceArn != null) ApplyArn(at);
        if (string.IsNullOrWhiteSpace(Table)) throw new ArgumentException($"{at}:Table is required.");
        if (Region != null && !EngineRegions.IsRegionName(Region)) throw new ArgumentException($"{at}:Region '{Region}' is not a region name (like us-east-1).");
        if (!IsQueueName(Queue)) throw new ArgumentException($"{at}:Queue '{Queue}' is not a valid queue name (3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit).");
        if (OnFailureQueue != null && !IsQueueName(OnFailureQueue)) throw new ArgumentException($"{at}:OnFailureQueue '{OnFailureQueue}' is not a valid queue name.");
        if (OnFailureQueue == Queue) throw new ArgumentException($"{at}:OnFailureQueue must differ from Queue.");
        if (BatchSize is < 1 or > MaxBatchSize) throw new ArgumentException($"{at}:BatchSize must be from 1 to {MaxBatchSize}, not {BatchSize}.");
        if (BatchingWindowSeconds is < 0 or > MaxBatchingWindowSeconds) throw new ArgumentException($"{at}:BatchingWindowSeconds must be from 0 to {MaxBatchingWindowSeconds}, not {BatchingWindowSeconds}.");
        if (RetryAttempts is < 0 or > MaxRetryAttempts) throw new ArgumentException($"{at}:RetryAttempts must be from 0 to {MaxRetryAttempts}, not {RetryAttempts}.");
        if (!Enum.IsDefined(StartingPosition)) throw new ArgumentException($"{at}:StartingPosition must be TRIM_HORIZON or LATEST.");
        try
        {
            return EventFilter.Parse(FilterCriteria);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"{at}:FilterCriteria: {e.Message}", e);
        }
    }

    /// <summary>The region this mapping reads, given the host's default region.</summary>
    public string RegionOr(string defaultRegion) => Region ?? defaultRegion;

    /// <summary>Takes Table and Region from <see cref="EventSourceArn"/>; refuses an ARN that contradicts them.</summary>
    private void ApplyArn(string at)
    {
        var match = StreamArn().Match(EventSourceArn!);
        if (!match.Success)
            throw new ArgumentException($"{at}:EventSourceArn '{EventSourceArn}' is not a DynamoDB table or stream ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL).");
        var (region, table) = (match.Groups["region"].Value, match.Groups["table"].Value);
        if (!string.IsNullOrEmpty(Table) && Table != table) throw new ArgumentException($"{at}:Table '{Table}' differs from the table of EventSourceArn, '{table}'.");
        if (Region != null && Region != region) throw new ArgumentException($"{at}:Region '{Region}' differs from the region of EventSourceArn, '{region}'.");
        Table = table;
        Region = region;
    }

    /// <summary>The poison queue of a mapping's queue: OnFailureQueue or the Functions convention.</summary>
    public string FailureQueue => OnFailureQueue ?? Queue + "-poison";

    public static bool IsQueueName(string? name) => name is { Length: >= 3 and <= 63 } && QueueName().IsMatch(name);

    [GeneratedRegex("^[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]$")]
    private static partial Regex QueueName();

    [GeneratedRegex(@"^arn:aws[a-z-]*:dynamodb:(?<region>[a-z0-9-]+):[0-9]{12}:table/(?<table>[A-Za-z0-9_.-]{3,255})(?:/stream/[^/]+)?$")]
    private static partial Regex StreamArn();

    [GeneratedRegex("[^A-Za-z0-9_.-]")]
    private static partial Regex SafeName();
}

/// <summary>Settings of the fan-out loop itself (section <c>StreamFanOut</c>).</summary>
public sealed class StreamFanOutOptions
{
    public const string Section = "StreamFanOut";

    /// <summary>
    /// How long one run keeps following the streams after catching up, polling every <see cref="PollMilliseconds"/>;
    /// default 950 ms, so with the default once-a-second schedule changes are delivered within tens of
    /// milliseconds. 0: one pass per run.
    /// </summary>
    public int TailMilliseconds { get; set; } = 950;

    /// <summary>Pause between passes while tailing; default 20 ms.</summary>
    public int PollMilliseconds { get; set; } = 20;

    /// <summary>
    /// Which queues triggers use. <c>Auto</c> (default): Azure Storage when <c>AzureWebJobsStorage</c> is set,
    /// otherwise in-process queues (the local host's default, which needs no Azurite).
    /// </summary>
    public Queues.QueueBackend QueueBackend { get; set; }

    public void Validate()
    {
        if (TailMilliseconds is < 0 or > 600_000) throw new ArgumentException($"{Section}:TailMilliseconds must be from 0 to 600000, not {TailMilliseconds}.");
        if (PollMilliseconds is < 1 or > 60_000) throw new ArgumentException($"{Section}:PollMilliseconds must be from 1 to 60000, not {PollMilliseconds}.");
        if (!Enum.IsDefined(QueueBackend)) throw new ArgumentException($"{Section}:QueueBackend must be Auto, AzureStorage or InProcess.");
    }
}
