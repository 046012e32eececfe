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
        if (table.Definition.Global?.Replicas.Exists(r => r.Status == Storage.ReplicaStatus.Creating) == true)
            throw DynamoErrors.ResourceInUse($"Attempt to change a resource which is still in use: Table is being updated: {table.Definition.Name}");
        await ctx.Engine.Database.DeleteTableAsync(table).ConfigureAwait(false);
        if (table.Definition.Global != null) ctx.Engine.GlobalTables?.Poke(); // the replicator tells the other replicas
        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "DELETING", deleted: true);
        w.WriteEndObject();
    }
}
