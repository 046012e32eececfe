using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>StreamSpecification as CreateTable and UpdateTable take it, and its effect on a table definition.</summary>
internal static class StreamSettings
{
    public const string ViewTypes = "NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY";

    /// <summary>Reads StreamSpecification: null when absent; otherwise (enabled, view type).</summary>
    public static (bool Enabled, string? ViewType)? Read(JsonElement req, ConstraintErrors errors)
    {
        if (Req.Object(req, "StreamSpecification") is not { } spec) return null;
        var enabled = Req.Bool(spec, "StreamEnabled");
        var viewType = Req.String(spec, "StreamViewType");
        errors.NotNull("streamSpecification.streamEnabled", enabled);
        errors.Enum("streamSpecification.streamViewType", viewType, ViewTypes, "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY");
        return (enabled ?? false, viewType);
    }

    /// <summary>Checks a requested change against the table's current stream (null current for CreateTable).</summary>
    public static void Check(OperationContext ctx, (bool Enabled, string? ViewType) spec, string tableName, TableDefinition? current)
    {
        if (spec.Enabled && spec.ViewType == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true");
        if (!spec.Enabled && spec.ViewType != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false");
        if (spec.Enabled && ctx.Engine.Database.Log == null)
            throw DynamoErrors.Validation("Streams read the change log, which an in-memory server does not keep: start it with a data directory to use streams.");
        if (current == null) return;
        if (spec.Enabled && current.StreamViewType != null) throw DynamoErrors.Validation($"Table already has an enabled stream: TableName: {tableName}");
        if (!spec.Enabled && current.StreamViewType == null) throw DynamoErrors.Validation($"Table has no stream to disable: TableName: {tableName}");
    }

    /// <summary>Starts or ends the table's stream at the next change-log sequence number. Runs under the catalog lock.</summary>
    public static void Apply(TableDefinition d, (bool Enabled, string? ViewType) spec, ulong nextLsn, double now)
    {
        d.Streams ??= [];
        if (spec.Enabled)
        {
            var label = DateTimeOffset.FromUnixTimeMilliseconds((long)(now * 1000)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fff", CultureInfo.InvariantCulture);
            while (d.Streams.Any(s => s.Label == label)) label = label[..^3] + ((int.Parse(label[^3..], CultureInfo.InvariantCulture) + 1) % 1000).ToString("D3", CultureInfo.InvariantCulture);
            d.Streams.Add(new StreamDefinition { Label = label, ViewType = spec.ViewType!, StartLsn = nextLsn, CreatedAt = now });
            d.StreamViewType = spec.ViewType;
        }
        else
        {
            var open = d.Streams.FindLast(s => s.EndLsn == 0);
            if (open != null)
            {
                open.EndLsn = nextLsn;
                open.DisabledAt = now;
            }

            d.StreamViewType = null;
        }
    }
}
