using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// A table named by its ARN where a TableName goes (<c>arn:aws:dynamodb:us-east-1:123456789012:table/Orders</c>),
/// as DynamoDB accepts since resource-based policies. An ARN of this account and region names the table; one of
/// another account is refused with AccessDeniedException, since no resource-based policy here grants access
/// across accounts; any other ARN names no table.
/// </summary>
internal static class TableArns
{
    /// <summary>The longest TableName AWS accepts when it is an ARN.</summary>
    public const int MaxLength = 1024;

    public static bool IsArn(string name) => name.StartsWith("arn:", StringComparison.Ordinal);

    /// <summary>The table name <paramref name="name"/> stands for: itself, or the name inside a table ARN of this account and region.</summary>
    public static string Resolve(OperationContext ctx, string name)
    {
        if (!IsArn(name)) return name;
        // arn:partition:dynamodb:region:account:table/name
        var parts = name.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "dynamodb" || !parts[5].StartsWith("table/", StringComparison.Ordinal)) return name;
        var table = parts[5]["table/".Length..];
        if (table.Length == 0 || table.Contains('/', StringComparison.Ordinal)) return name;
        var account = ctx.Engine.Options.AccountId;
        if (parts[4] != account)
        {
            var action = "dynamodb:" + OperationOf(ctx.Target);
            var principal = ctx.Caller?.PrincipalArn ?? $"arn:aws:iam::{account}:root";
            throw DynamoErrors.NoResourcePolicy(principal, action, name);
        }

        return parts[3] == ctx.Region ? table : name;
    }

    private static string OperationOf(string? target)
    {
        if (target == null) return "";
        var dot = target.LastIndexOf('.');
        return dot < 0 ? target : target[(dot + 1)..];
    }
}
