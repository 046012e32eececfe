using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// SSESpecification (CreateTable, UpdateTable) and SSEDescription (DescribeTable), as AWS has them: no specification
/// or <c>Enabled: false</c> is the AWS owned key (no SSEDescription); <c>Enabled: true</c> is KMS with the AWS managed
/// key (<c>alias/aws/dynamodb</c>) or the configured key that KMSMasterKeyId names (<c>Encryption__KmsKeys__N__Id</c>).
/// The bytes of every table are encrypted with the store's data key whatever this says (see docs/encryption.md).
/// </summary>
internal static class SseSpecification
{
    public const string ManagedAlias = "alias/aws/dynamodb";

    /// <summary>An enabled SSESpecification as requested: its SSEType and KMSMasterKeyId (empty when absent).</summary>
    public sealed record Request(string Type, string KeyId);

    /// <summary>
    /// Validates the request's SSESpecification (or, for the restores, its <c>SSESpecificationOverride</c>: same
    /// shape); <c>Sse</c> null (when present) = the AWS owned key.
    /// </summary>
    public static (bool Present, Request? Sse) Read(JsonElement req, ConstraintErrors errors, string member = "SSESpecification")
    {
        if (Req.Object(req, member) is not { } spec) return (false, null);
        var type = Req.String(spec, "SSEType");
        errors.Enum("s" + member[1..] + ".sSEType", type, "AES256, KMS", "AES256", "KMS");
        if (Req.Bool(spec, "Enabled") != true) return (true, null);
        var keyId = Req.String(spec, "KMSMasterKeyId");
        return (true, new Request(type ?? "", keyId ?? ""));
    }

    /// <summary>The checks that follow the schema validation: AWS's messages, then the key ARN the table reports.</summary>
    public static SseDefinition? Resolve(OperationContext ctx, Request? requested)
    {
        if (requested is null) return null;
        var (type, keyId) = requested;
        if (type == "AES256") throw DynamoErrors.Validation("One or more parameter values were invalid: SSEType AES256 is not supported");
        var region = ctx.Region;
        var account = ctx.Engine.Options.AccountId;
        if (keyId.Length == 0 || keyId == ManagedAlias || keyId == $"arn:aws:kms:{region}:{account}:{ManagedAlias}")
        {
            if (keyId.Length > 0 && type != "KMS") throw DynamoErrors.Validation("SSEType KMS is required if KMSMasterKeyId is specified");
            return new SseDefinition("KMS", ManagedKeyArn(region, account));
        }

        if (type != "KMS") throw DynamoErrors.Validation("SSEType KMS is required if KMSMasterKeyId is specified");
        foreach (var key in ctx.Engine.Options.Encryption.KmsKeys)
        {
            var arn = $"arn:aws:kms:{region}:{account}:key/{key.Id}";
            if (keyId == key.Id || keyId == arn
                || (key.Alias is { Length: > 0 } alias && (keyId == alias || keyId == $"arn:aws:kms:{region}:{account}:{alias}")))
                return new SseDefinition("KMS", arn);
        }

        var named = keyId.StartsWith("arn:", StringComparison.Ordinal) ? keyId : $"arn:aws:kms:{region}:{account}:{(keyId.StartsWith("alias/", StringComparison.Ordinal) ? keyId : "key/" + keyId)}";
        throw DynamoErrors.Validation(
            $"KMS validation error: com.amazonaws.services.kms.model.NotFoundException: Key '{named}' does not exist (Service: AWSKMS; Status Code: 400; Error Code: NotFoundException)");
    }

    /// <summary>The AWS managed key's ARN: a key id fixed per account and region, as AWS's is.</summary>
    public static string ManagedKeyArn(string region, string account)
    {
        var id = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes($"aws/dynamodb|{account}|{region}"))[..16]);
        return $"arn:aws:kms:{region}:{account}:key/{id}";
    }

    public static void Write(Utf8JsonWriter w, TableDefinition d)
    {
        if (d.Sse is not { } sse) return;
        w.WriteStartObject("SSEDescription"u8);
        w.WriteString("Status"u8, "ENABLED");
        w.WriteString("SSEType"u8, sse.SseType);
        w.WriteString("KMSMasterKeyArn"u8, sse.KmsMasterKeyArn);
        w.WriteEndObject();
    }
}
