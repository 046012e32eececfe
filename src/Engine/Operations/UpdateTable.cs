using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>UpdateTable: billing mode, provisioned throughput, table class and deletion protection.</summary>
internal static class UpdateTable
{
    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var billingMode = Req.String(req, "BillingMode");
        var throughput = Req.Object(req, "ProvisionedThroughput");
        var tableClass = Req.String(req, "TableClass");
        var deletionProtection = Req.Bool(req, "DeletionProtectionEnabled");
        var errors = new ConstraintErrors();
        errors.Enum("billingMode", billingMode, "PROVISIONED, PAY_PER_REQUEST", BillingModes.Provisioned, BillingModes.PayPerRequest);
        var (rcu, wcu) = ThroughputRules.Read(throughput, errors, "provisionedThroughput");

        errors.ThrowIfAny();
        var table = Tables.RequireForControlPlane(ctx, req);

        if (Req.Has(req, "GlobalSecondaryIndexUpdates"))
            throw DynamoErrors.Validation("Secondary indexes are not supported by this server yet (see the README's table of supported operations).");
        if (Req.Has(req, "StreamSpecification"))
            throw DynamoErrors.Validation("Streams are not supported by this server yet (see the README's table of supported operations).");
        if (Req.Has(req, "ReplicaUpdates"))
            throw DynamoErrors.Validation("Global tables are not supported by this server yet (see the README's table of supported operations).");
        if (billingMode == null && throughput == null && tableClass == null && deletionProtection == null && !Req.Has(req, "SSESpecification"))
            throw DynamoErrors.Validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required");
        if (Req.Object(req, "SSESpecification") is { } sse && Req.Bool(sse, "Enabled") == true)
            throw DynamoErrors.Validation("Customer-managed (KMS) encryption is not supported by this server yet; tables use the service-owned key.");
        var others = (billingMode != null ? 1 : 0) + (throughput != null ? 1 : 0);
        if (deletionProtection != null && (others > 0 || tableClass != null))
            throw DynamoErrors.Validation("One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request");
        if (tableClass != null && others > 0)
            throw DynamoErrors.Validation("One or more parameter values were invalid: TableClass modification must be the only operation in the request");
        if (tableClass != null && !TableClasses.IsValid(tableClass)) throw DynamoErrors.Validation(TableClasses.InvalidMessage);

        var current = table.Definition;
        var targetMode = billingMode ?? current.BillingMode;
        if (targetMode == BillingModes.PayPerRequest && throughput != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
        if (targetMode == BillingModes.Provisioned && current.BillingMode == BillingModes.PayPerRequest && throughput == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
        if (throughput != null && current.BillingMode == BillingModes.Provisioned && rcu == current.ReadCapacityUnits && wcu == current.WriteCapacityUnits)
            throw DynamoErrors.Validation(
                $"The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {current.ReadCapacityUnits}. Requested ReadCapacityUnits: {rcu}. Current WriteCapacityUnits provisioned for the table: {current.WriteCapacityUnits}. Requested WriteCapacityUnits: {wcu}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.");

        var now = ctx.Engine.NowSeconds();
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            if (billingMode != null && billingMode != d.BillingMode)
            {
                d.BillingMode = billingMode;
                if (billingMode == BillingModes.PayPerRequest) d.LastUpdateToPayPerRequestDateTime = now;
            }

            if (rcu is { } r && wcu is { } wc)
            {
                var previousR = d.BillingMode == BillingModes.PayPerRequest ? 0 : d.ReadCapacityUnits;
                var previousW = d.BillingMode == BillingModes.PayPerRequest ? 0 : d.WriteCapacityUnits;
                if (r > previousR || wc > previousW) d.LastIncreaseDateTime = now;
                if (r < previousR || wc < previousW)
                {
                    d.LastDecreaseDateTime = now;
                    d.NumberOfDecreasesToday++;
                }

                d.ReadCapacityUnits = r;
                d.WriteCapacityUnits = wc;
            }

            if (tableClass != null) d.TableClass = tableClass;
            if (deletionProtection is { } p) d.DeletionProtectionEnabled = p;
        }).ConfigureAwait(false);

        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "ACTIVE");
        w.WriteEndObject();
    }
}
