namespace Serverless.Engine.Security;

/// <summary>
/// Start-up checks of <see cref="AuthOptions"/>. Each problem is reported in the words of the app setting to fix
/// (<c>Auth__Keys__0__SecretAccessKey</c>), because that is how keys are configured in Azure and in the environment.
/// </summary>
public static class AuthOptionsValidation
{
    private const string KeyVaultReferencePrefix = "@Microsoft.KeyVault(";

    /// <summary>
    /// The first problem of <paramref name="options"/>, or null. With <paramref name="keysRequired"/> (the function app
    /// in the cloud), an unset <see cref="AuthOptions.Mode"/> with no key is refused instead of accepting any credentials.
    /// </summary>
    public static string? FindProblem(AuthOptions options, bool keysRequired)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = options.Keys;
        if (keys.Count == 0)
        {
            if (options.Mode == AuthMode.Verify)
                return "Auth__Mode is Verify but no access key is configured: set Auth__Keys__0__AccessKeyId, Auth__Keys__0__SecretAccessKey, "
                       + "Auth__Keys__0__Principal and Auth__Keys__0__Policy, or set Auth__Mode=AcceptAny to accept any credentials.";
            if (keysRequired && options.Mode is null)
                return "the function app verifies SigV4 signatures and no access key is configured: set Auth__Keys__0__AccessKeyId, "
                       + "Auth__Keys__0__SecretAccessKey, Auth__Keys__0__Principal and Auth__Keys__0__Policy (infra/bicep does), "
                       + "or set Auth__Mode=AcceptAny explicitly to accept any credentials.";
            return null;
        }

        var seen = new Dictionary<string, int>(keys.Count, StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (key is null) return $"Auth__Keys__{i} is empty: every key needs AccessKeyId, SecretAccessKey and Principal.";
            if (Missing(key.AccessKeyId, i, nameof(AccessKeyOptions.AccessKeyId)) is { } noId) return noId;
            if (Missing(key.SecretAccessKey, i, nameof(AccessKeyOptions.SecretAccessKey)) is { } noSecret) return noSecret;
            if (Missing(key.Principal, i, nameof(AccessKeyOptions.Principal)) is { } noPrincipal) return noPrincipal;
            if (Unresolved(key.AccessKeyId, i, nameof(AccessKeyOptions.AccessKeyId)) is { } a) return a;
            if (Unresolved(key.SecretAccessKey, i, nameof(AccessKeyOptions.SecretAccessKey)) is { } s) return s;
            if (Unresolved(key.Principal, i, nameof(AccessKeyOptions.Principal)) is { } p) return p;
            if (Unresolved(key.Policy, i, nameof(AccessKeyOptions.Policy)) is { } policy) return policy;
            if (Unresolved(key.SessionToken, i, nameof(AccessKeyOptions.SessionToken)) is { } token) return token;
            if (!IsIamArn(key.Principal))
                return $"Auth__Keys__{i}__Principal must be an IAM ARN such as arn:aws:iam::000000000000:user/alice, not '{key.Principal}'.";
            if (Authorization.Authorizer.PolicyProblem(key.Policy) is { } invalid) return $"Auth__Keys__{i}__Policy is not a valid IAM policy: {invalid}";
            if (!seen.TryAdd(key.AccessKeyId, i))
                return $"Auth__Keys__{seen[key.AccessKeyId]}__AccessKeyId and Auth__Keys__{i}__AccessKeyId are both '{key.AccessKeyId}': access key ids must be unique.";
        }

        return null;
    }

    private static string? Missing(string? value, int index, string name) =>
        string.IsNullOrWhiteSpace(value) ? $"Auth__Keys__{index}__{name} is not set: every key needs AccessKeyId, SecretAccessKey and Principal." : null;

    /// <summary>
    /// Azure leaves a Key Vault reference as the literal setting when it cannot resolve it (no access, no such secret):
    /// using that text as a secret would fail every signature, so start-up says why instead.
    /// </summary>
    private static string? Unresolved(string? value, int index, string name) =>
        value is not null && value.StartsWith(KeyVaultReferencePrefix, StringComparison.OrdinalIgnoreCase)
            ? $"Auth__Keys__{index}__{name} is an unresolved Key Vault reference: the function app's managed identity cannot read the secret "
              + "(it needs the 'Key Vault Secrets User' role on the vault, and the secret must exist)."
            : null;

    /// <summary><c>arn:partition:service:region:account:resource</c> with the IAM or STS service.</summary>
    private static bool IsIamArn(string principal)
    {
        var parts = principal.Split(':', 6);
        return parts.Length == 6 && parts[0] == "arn" && parts[1].Length > 0 && parts[2] is "iam" or "sts" && parts[5].Length > 0;
    }
}
