using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// Which error DynamoDB reports when a request is wrong in several ways. AWS checks in a fixed order: the JSON shape
/// of the whole request (SerializationException), then the "N validation errors detected" constraint list, then
/// the attribute values, and only then the table and its schema. Operations read members lazily and stop at the
/// first problem they meet, which may be a later step; this runs only on that error path (a valid request never
/// reaches it) and returns the error of the earliest step the request fails.
/// </summary>
internal static class RequestOrder
{
    /// <summary>The error AWS gives first for <paramref name="request"/>, given that the operation raised <paramref name="raised"/>.</summary>
    public static DynamoException FirstError(JsonElement request, DynamoException raised)
    {
        if (raised.ErrorType is not ("ValidationException" or "ResourceNotFoundException")) return raised;
        if (request.ValueKind != JsonValueKind.Object) return raised;
        if (FindShapeError(request) is { } shape) return shape;

        // Attribute values are checked before the table is looked up.
        if (raised.ErrorType == "ResourceNotFoundException" && FindValueError(request) is { } value) return value;
        return raised;
    }

    /// <summary>The first member, in document order, whose JSON kind is wrong, as AWS's deserializer reports it.</summary>
    private static DynamoException? FindShapeError(JsonElement request)
    {
        foreach (var member in request.EnumerateObject())
        {
            try
            {
                switch (member.Name)
                {
                    case "TableName" or "IndexName" or "Select" or "ReturnValues" or "ReturnConsumedCapacity" or "ReturnItemCollectionMetrics"
                        or "ConditionalOperator" or "ProjectionExpression" or "FilterExpression" or "KeyConditionExpression"
                        or "ConditionExpression" or "UpdateExpression" or "ReturnValuesOnConditionCheckFailure":
                        Req.String(request, member.Name);
                        break;
                    case "Limit" or "Segment" or "TotalSegments":
                        Req.Long(request, member.Name, "Integer");
                        break;
                    case "ConsistentRead" or "ScanIndexForward":
                        Req.Bool(request, member.Name);
                        break;
                    case "AttributesToGet":
                        Req.StringList(request, member.Name);
                        break;
                    case "Key" or "Item" or "ExclusiveStartKey" or "ExpressionAttributeValues":
                        if (Req.Map(request, member.Name) is { } map && !AttrJson.TryReadItem(map, out _, out var error) && error.Kind == AttrJsonErrorKind.Serialization)
                            return error.ToException();
                        break;
                }
            }
            catch (DynamoException e) when (e.ErrorType == "SerializationException")
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>The first invalid attribute value (empty, two types, a bad number, ...), worded as the operations word it.</summary>
    private static DynamoException? FindValueError(JsonElement request)
    {
        foreach (var member in request.EnumerateObject())
        {
            if (member.Value.ValueKind != JsonValueKind.Object) continue;
            switch (member.Name)
            {
                case "Key" or "Item":
                    if (!AttrJson.TryReadItem(member.Value, out _, out var error)) return error.ToException();
                    break;
                case "ExclusiveStartKey":
                    if (!AttrJson.TryReadItem(member.Value, out _, out var start)) return start.ToException(m => "The provided starting key is invalid: " + m);
                    break;
                case "ExpressionAttributeValues":
                    foreach (var value in member.Value.EnumerateObject())
                    {
                        if (!AttrJson.TryReadValue(value.Value, out _, out var invalid))
                            return invalid.ToException(m => $"ExpressionAttributeValues contains invalid value: {m} for key {value.Name}");
                    }

                    break;
            }
        }

        return null;
    }
}
