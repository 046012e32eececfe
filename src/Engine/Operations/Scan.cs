using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>Scan: the whole table (or one segment of a parallel scan) in key byte order, i.e. partition-hash order.</summary>
internal static class Scan
{
    private static readonly string[] LegacyNames = ["AttributesToGet", "ScanFilter", "ConditionalOperator"];
    private static readonly string[] ExpressionNames = ["ProjectionExpression", "FilterExpression"];

    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableName = Req.String(req, "TableName");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        var select = Req.String(req, "Select");
        var consistent = Req.Bool(req, "ConsistentRead") ?? false;
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        errors.Name("tableName", tableName, allowArn: true);
        errors.Enum("select", select, "SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES");
        errors.Enum("conditionalOperator", Req.String(req, "ConditionalOperator"), "AND, OR", "AND", "OR");
        var segment = Req.Long(req, "Segment", "Integer");
        var totalSegments = Req.Long(req, "TotalSegments", "Integer");
        if (segment is < 0) errors.Add("segment", Str(segment.Value), "Member must have value greater than or equal to 0");
        if (segment is > 999999) errors.Add("segment", Str(segment.Value), "Member must have value less than or equal to 999999");
        if (totalSegments is < 1) errors.Add("totalSegments", Str(totalSegments.Value), "Member must have value greater than or equal to 1");
        if (totalSegments is > 1000000) errors.Add("totalSegments", Str(totalSegments.Value), "Member must have value less than or equal to 1000000");
        var limit = PageReader.ReadLimit(req, errors);
        var attributesToGet = Req.StringList(req, "AttributesToGet");
        if (attributesToGet is { Count: 0 }) errors.Add("attributesToGet", "[]", "Member must have length greater than or equal to 1");
        if (Req.String(req, "IndexName") is { } indexName) errors.Name("indexName", indexName);
        errors.ThrowIfAny();

        if (segment != null && totalSegments == null)
            throw DynamoErrors.Validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present");
        if (totalSegments != null && segment == null)
            throw DynamoErrors.Validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present");
        if (segment >= totalSegments)
            throw DynamoErrors.Validation($"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {totalSegments}");

        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "FilterExpression is null");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var (projection, countOnly) = PageReader.ReadSelect(req, attributes);
        ConditionExpression? filter = null;
        if (Req.String(req, "FilterExpression") is { } filterText) filter = ExpressionParser.ParseFilter(filterText, attributes);
        attributes.ThrowIfUnused();
        filter ??= PageReader.ReadLegacyFilter(req, "ScanFilter");

        var table = Tables.RequireForDataPlane(ctx, tableName!);
        var definition = table.Definition;
        var index = PageReader.ReadIndex(req, table, consistent);
        var projectIndex = PageReader.ProjectsIndex(req, index, projection);
        var start = PageReader.ReadExclusiveStartKey(req, definition, index);
        var number = index?.Number ?? definition.TableNumber;

        byte[] lower, upper;
        if (segment is { } seg && totalSegments is { } total)
        {
            lower = Bound(number, (ulong)seg * 0x1_0000_0000UL / (ulong)total);
            upper = Bound(number, ((ulong)seg + 1) * 0x1_0000_0000UL / (ulong)total);
            if (start != null && (start.AsSpan().SequenceCompareTo(lower) < 0 || start.AsSpan().SequenceCompareTo(upper) >= 0))
                throw DynamoErrors.Validation("The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. "
                    + $"TotalSegments: {Str(total)} Segment: {Str(seg)}");
        }
        else
        {
            lower = Bound(number, 0);
            upper = Bound(number, 0x1_0000_0000UL);
        }

        var lowerInclusive = true;
        if (start != null && start.AsSpan().SequenceCompareTo(lower) >= 0)
        {
            lower = start;
            lowerInclusive = false;
        }

        return PageReader.RunAsync(ctx, new PageRequest
        {
            Table = table, Index = index, ProjectIndex = projectIndex, Lower = lower, LowerInclusive = lowerInclusive, Upper = upper, UpperInclusive = false,
            Limit = limit, Filter = filter, Projection = projection, Attributes = attributes, CountOnly = countOnly,
            Consistent = consistent, ReturnCapacity = returnCapacity,
        }, w);
    }

    /// <summary><c>table | hash</c> as 8 bytes; hash 2^32 gives the first key past the table.</summary>
    private static byte[] Bound(uint table, ulong hash)
    {
        var b = new byte[8];
        if (hash >= 0x1_0000_0000UL)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, table + 1);
            return b[..4];
        }

        BinaryPrimitives.WriteUInt32BigEndian(b, table);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), (uint)hash);
        return b;
    }

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
}
