using System.Text;
using System.Text.Json;

namespace Serverless.Replicator.Handlers;

/// <summary>Settings of the example audit-log handler (section <c>AuditLog</c>).</summary>
public sealed class AuditTrailOptions
{
    public const string Section = "AuditLog";

    /// <summary>The JSON Lines file changes are appended to; default <c>{Engine:DataDirectory}/audit/audit.log</c>.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// When set, a batch holding a record whose new image has this attribute is refused (the handler throws), which
    /// shows how failed batches are retried and then moved to the mapping's on-failure queue. Unset by default.
    /// </summary>
    public string? RejectAttribute { get; set; }
}

/// <summary>
/// The example trigger handler's logic: appends every record of a Lambda DynamoDB event to a JSON Lines file, one
/// line per change (the stream record itself), in the order received. Delivery is at least once, so after a crash a
/// batch may be appended twice; each line's <c>dynamodb.SequenceNumber</c> identifies duplicates.
/// </summary>
public sealed class AuditTrail(string path, string? rejectAttribute)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Appends the records of one event; throws <see cref="InvalidDataException"/> for a refused or malformed batch.</summary>
    public async Task AppendAsync(string eventJson, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(eventJson);
        if (!document.RootElement.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("The message is not a DynamoDB stream event: it has no Records array.");

        var lines = new StringBuilder();
        foreach (var record in records.EnumerateArray())
        {
            if (rejectAttribute != null && record.TryGetProperty("dynamodb", out var d) && d.TryGetProperty("NewImage", out var image)
                && image.TryGetProperty(rejectAttribute, out _))
                throw new InvalidDataException($"Record {d.GetProperty("SequenceNumber").GetString()} has the attribute '{rejectAttribute}'; the batch is refused.");
            lines.Append(record.GetRawText()).Append('\n');
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            await File.AppendAllTextAsync(Path, lines.ToString(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
