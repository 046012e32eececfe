using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// One Kinesis Data Streams destination of a table, as persisted in its <see cref="TableDefinition"/>: the stream, the
/// status (ENABLING → ACTIVE, UPDATING → ACTIVE, DISABLING → DISABLED; <see cref="KinesisDelivery"/> moves them on),
/// the timestamp precision, and the change-log range it receives: from <see cref="StartLsn"/> until
/// <see cref="EndLsn"/> (0 while enabled). A golden test guards the field names.
/// </summary>
public sealed record KinesisDestinationDefinition
{
    public required string StreamArn { get; init; }

    public required string Status { get; set; }

    /// <summary>MILLISECOND or MICROSECOND: the unit of the records' ApproximateCreationDateTime.</summary>
    public string Precision { get; set; } = KinesisStreamingDestination.DefaultPrecision;

    public required ulong StartLsn { get; init; }

    public ulong EndLsn { get; set; }

    public string? StatusDescription { get; set; }
}

/// <summary>
/// The DynamoDB operations of Kinesis Data Streams for DynamoDB: EnableKinesisStreamingDestination,
/// DisableKinesisStreamingDestination, DescribeKinesisStreamingDestination and UpdateKinesisStreamingDestination.
/// They change only the table's definition (a catalog record); <see cref="KinesisDelivery"/> does the streaming.
/// </summary>
internal static class KinesisStreamingDestination
{
    public const string DefaultPrecision = "MICROSECOND";
    public const string Enabling = "ENABLING";
    public const string Active = "ACTIVE";
    public const string Updating = "UPDATING";
    public const string Disabling = "DISABLING";
    public const string Disabled = "DISABLED";

    public static async ValueTask EnableAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var (streamArn, precision) = ReadRequest(req, "EnableKinesisStreamingConfiguration", "enableKinesisStreamingConfiguration");
        var table = RequireTable(ctx, req);
        if (ctx.Engine.Database.Log == null)
            throw DynamoErrors.Validation("Kinesis streaming destinations need the change log, which the in-memory mode does not keep.");
        var stream = StreamOf(ctx, streamArn);
        var precisionSet = precision ?? DefaultPrecision;
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            var list = d.KinesisDestinations ??= [];
            foreach (var existing in list)
            {
                if (existing.StreamArn == streamArn && existing.Status is Enabling or Active or Updating)
                    throw DynamoErrors.ResourceInUse($"Table {d.Name} is already streaming to Kinesis data stream {streamArn}.");
                if (existing.Status is Enabling or Active or Updating or Disabling)
                    throw DynamoErrors.LimitExceeded($"Table {d.Name} already has a Kinesis streaming destination ({existing.StreamArn}); disable it first.");
            }

            list.RemoveAll(x => x.StreamArn == streamArn);
            list.Add(new KinesisDestinationDefinition
            {
                StreamArn = stream.Definition.Arn,
                Status = Enabling,
                Precision = precisionSet,
                StartLsn = ctx.Engine.Database.NextLsn,
            });
        }).ConfigureAwait(false);

        w.WriteStartObject();
        w.WriteString("TableName"u8, table.Definition.Name);
        w.WriteString("StreamArn"u8, streamArn);
        w.WriteString("DestinationStatus"u8, Enabling);
        w.WriteStartObject("EnableKinesisStreamingConfiguration"u8);
        w.WriteString("ApproximateCreationDateTimePrecision"u8, precisionSet);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static async ValueTask DisableAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var (streamArn, precision) = ReadRequest(req, "EnableKinesisStreamingConfiguration", "enableKinesisStreamingConfiguration");
        var table = RequireTable(ctx, req);
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            var destination = d.KinesisDestinations?.Find(x => x.StreamArn == streamArn && x.Status is Enabling or Active or Updating)
                ?? throw DynamoErrors.Validation($"Table {d.Name} has no enabled Kinesis streaming destination for stream {streamArn}.");
            destination.Status = Disabling;
            destination.EndLsn = ctx.Engine.Database.NextLsn;
        }).ConfigureAwait(false);

        w.WriteStartObject();
        w.WriteString("TableName"u8, table.Definition.Name);
        w.WriteString("StreamArn"u8, streamArn);
        w.WriteString("DestinationStatus"u8, Disabling);
        if (precision != null)
        {
            w.WriteStartObject("EnableKinesisStreamingConfiguration"u8);
            w.WriteString("ApproximateCreationDateTimePrecision"u8, precision);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    public static ValueTask DescribeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var table = RequireTable(ctx, req);
        w.WriteStartObject();
        w.WriteString("TableName"u8, table.Definition.Name);
        w.WriteStartArray("KinesisDataStreamDestinations"u8);
        foreach (var d in table.Definition.KinesisDestinations ?? [])
        {
            w.WriteStartObject();
            w.WriteString("StreamArn"u8, d.StreamArn);
            w.WriteString("DestinationStatus"u8, d.Status);
            if (d.StatusDescription != null) w.WriteString("DestinationStatusDescription"u8, d.StatusDescription);
            w.WriteString("ApproximateCreationDateTimePrecision"u8, d.Precision);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static async ValueTask UpdateAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var (streamArn, precision) = ReadRequest(req, "UpdateKinesisStreamingConfiguration", "updateKinesisStreamingConfiguration");
        var table = RequireTable(ctx, req);
        if (precision == null) throw DynamoErrors.Validation("UpdateKinesisStreamingConfiguration must set ApproximateCreationDateTimePrecision.");
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            var destination = d.KinesisDestinations?.Find(x => x.StreamArn == streamArn && x.Status is Enabling or Active or Updating)
                ?? throw DynamoErrors.ResourceNotFound($"Requested resource not found: Kinesis streaming destination {streamArn} not found for Table: {d.Name}");
            if (destination.Status != Active)
                throw DynamoErrors.ResourceInUse($"The Kinesis streaming destination {streamArn} of table {d.Name} is {destination.Status}; it can be updated once it is ACTIVE.");
            if (destination.Precision == precision)
                throw DynamoErrors.Validation($"The Kinesis streaming destination {streamArn} of table {d.Name} already has ApproximateCreationDateTimePrecision {precision}.");
            destination.Precision = precision;
            destination.Status = Updating;
        }).ConfigureAwait(false);

        w.WriteStartObject();
        w.WriteString("TableName"u8, table.Definition.Name);
        w.WriteString("StreamArn"u8, streamArn);
        w.WriteString("DestinationStatus"u8, Updating);
        w.WriteStartObject("UpdateKinesisStreamingConfiguration"u8);
        w.WriteString("ApproximateCreationDateTimePrecision"u8, precision);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static (string StreamArn, string? Precision) ReadRequest(JsonElement req, string configMember, string configPath)
    {
        var errors = new ConstraintErrors();
        errors.Name("tableName", Req.String(req, "TableName"));
        var arn = Req.String(req, "StreamArn");
        errors.NotNull("streamArn", arn);
        if (arn is { Length: < 37 }) errors.Add("streamArn", arn, "Member must have length greater than or equal to 37");
        if (arn is { Length: > 1024 }) errors.Add("streamArn", arn, "Member must have length less than or equal to 1024");
        string? precision = null;
        if (Req.Object(req, configMember) is { } config)
        {
            precision = Req.String(config, "ApproximateCreationDateTimePrecision");
            if (precision is not (null or "MILLISECOND" or "MICROSECOND"))
                errors.Add(configPath + ".approximateCreationDateTimePrecision", precision, "Member must satisfy enum value set: [MICROSECOND, MILLISECOND]");
        }

        errors.ThrowIfAny();
        return (arn!, precision);
    }

    private static TableState RequireTable(OperationContext ctx, JsonElement req)
    {
        var name = Req.String(req, "TableName")!;
        // TableName may be the table's ARN.
        if (name.StartsWith("arn:", StringComparison.Ordinal) && name.IndexOf(":table/", StringComparison.Ordinal) is var at and > 0) name = name[(at + 7)..];
        return ctx.Engine.Database.FindTable(name) ?? throw DynamoErrors.ResourceNotFound($"Requested resource not found: Table: {name} not found");
    }

    private static KinesisStream StreamOf(OperationContext ctx, string arn)
    {
        var name = KinesisOperations.NameFromArn(arn);
        if (name == null || !arn.Contains(":stream/", StringComparison.Ordinal))
            throw DynamoErrors.Validation($"Invalid StreamArn: {arn}");
        return ctx.Engine.Kinesis.Find(name) is { Deleted: false } stream && stream.Definition.Arn == arn
            ? stream
            : throw DynamoErrors.ResourceNotFound($"Requested resource not found: Kinesis data stream {arn} not found");
    }
}
