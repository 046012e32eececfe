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
        // As on AWS, deleting a table with point-in-time recovery keeps a SYSTEM backup of it (restorable with
        // RestoreTableFromBackup; found with ListBackups BackupType SYSTEM).
        if (table.Definition.RecoveryPeriodInDays != null)
            await ctx.Engine.Database.CreateBackupAsync(table, table.Definition.Name + "$DeletedTableBackup", "SYSTEM").ConfigureAwait(false);
        await ctx.Engine.Database.DeleteTableAsync(table).ConfigureAwait(false);
        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "DELETING", deleted: true);
        w.WriteEndObject();
    }
}
