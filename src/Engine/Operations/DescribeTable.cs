using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>DescribeTable.</summary>
internal static class DescribeTable
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var table = Tables.RequireForControlPlane(ctx, req);
        w.WriteStartObject();
        w.WritePropertyName("Table"u8);
        TableDescriptionWriter.Write(w, table, table.Definition.Restore is { InProgress: true } || table.Definition.ImportInProgress != null ? "CREATING" : "ACTIVE");
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Table lookups with the not-found message each family of operations uses.</summary>
internal static class Tables
{
    /// <summary>Control-plane operations name the table in their not-found message.</summary>
    public static TableState RequireForControlPlane(OperationContext ctx, JsonElement req)
    {
        var name = Req.String(req, "TableName");
        var errors = new ConstraintErrors();
        errors.Name("tableName", name, allowArn: true);
        errors.ThrowIfAny();
        return ctx.Engine.Database.FindTable(TableArns.Resolve(ctx, name!))
            ?? throw DynamoErrors.ResourceNotFound($"Requested resource not found: Table: {name} not found");
    }

    /// <summary>Data-plane operations answer with the bare "Requested resource not found" (also while a restore is still loading the table).</summary>
    public static TableState RequireForDataPlane(OperationContext ctx, string name) =>
        ctx.Engine.Database.FindTable(TableArns.Resolve(ctx, name)) is { } table && table.Definition.Restore is not { InProgress: true } && table.Definition.ImportInProgress == null ? table : throw DynamoErrors.TableNotFound();
}
