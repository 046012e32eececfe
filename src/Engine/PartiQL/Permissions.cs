using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// One IAM permission a PartiQL statement needs: <see cref="Action"/> (<c>dynamodb:PartiQLSelect</c>,
/// <c>dynamodb:PartiQLInsert</c>, <c>dynamodb:PartiQLUpdate</c> or <c>dynamodb:PartiQLDelete</c>) on the table
/// <see cref="TableName"/>, or on its index <see cref="IndexName"/> (resource <c>table/T/index/I</c>) when a SELECT
/// reads one.
/// </summary>
public readonly record struct PartiQLPermission(string Action, string TableName, string? IndexName);

/// <summary>
/// The permissions PartiQL requests need, for the authorizer: AWS checks the PartiQL actions, not GetItem, PutItem
/// and the rest, for ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.
/// </summary>
public static class PartiQLPermissions
{
    public const string Select = "dynamodb:PartiQLSelect";
    public const string Insert = "dynamodb:PartiQLInsert";
    public const string Update = "dynamodb:PartiQLUpdate";
    public const string Delete = "dynamodb:PartiQLDelete";

    /// <summary>
    /// Every permission the request needs, one per statement, in statement order. <paramref name="operation"/> is
    /// the operation name (<c>ExecuteStatement</c>, <c>BatchExecuteStatement</c>, <c>ExecuteTransaction</c>); other
    /// operations need none. A statement that does not parse needs none: it fails validation and touches no data.
    /// </summary>
    public static IReadOnlyList<PartiQLPermission> ForRequest(string operation, JsonElement request)
    {
        var result = new List<PartiQLPermission>();
        if (request.ValueKind != JsonValueKind.Object) return result;
        switch (operation)
        {
            case "ExecuteStatement":
                AddStatement(result, request);
                break;
            case "BatchExecuteStatement":
                AddList(result, request, "Statements");
                break;
            case "ExecuteTransaction":
                AddList(result, request, "TransactStatements");
                break;
        }

        return result;
    }

    /// <summary>The permission one parsed statement needs.</summary>
    internal static PartiQLPermission Of(PqStatement statement) => statement.Kind switch
    {
        PqKind.Select or PqKind.Exists => new PartiQLPermission(Select, statement.Table, statement.Index),
        PqKind.Insert => new PartiQLPermission(Insert, statement.Table, null),
        PqKind.Update => new PartiQLPermission(Update, statement.Table, null),
        _ => new PartiQLPermission(Delete, statement.Table, null),
    };

    private static void AddList(List<PartiQLPermission> result, JsonElement request, string member)
    {
        if (!request.TryGetProperty(member, out var list) || list.ValueKind != JsonValueKind.Array) return;
        foreach (var s in list.EnumerateArray())
            if (s.ValueKind == JsonValueKind.Object) AddStatement(result, s);
    }

    private static void AddStatement(List<PartiQLPermission> result, JsonElement holder)
    {
        if (!holder.TryGetProperty("Statement", out var text) || text.ValueKind != JsonValueKind.String) return;
        try
        {
            result.Add(Of(PqParser.Parse(text.GetString()!)));
        }
        catch (DynamoException)
        {
            // Refused by validation before any data is read or written.
        }
        catch (InvalidOperationException)
        {
            // Text that is not valid UTF-8 or holds lone surrogates is refused by validation too.
        }
    }
}
