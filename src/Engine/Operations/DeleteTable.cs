using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>DeleteTable: refuses protected tables, drops the table from the catalog, purges its items in the background.</summary>
internal static class DeleteTable
{
    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var table = Tables.RequireForControlPlane(ctx, req);
        if (table.Definition.DeletionProtectionEnabled)
            throw DynamoErrors.Validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.");
        await ctx.Engine.Database.DeleteTableAsync(table).ConfigureAwait(false);
        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "DELETING", deleted: true);
        w.WriteEndObject();
    }
}
