namespace Serverless.Engine.Security;

/// <summary>The verified identity behind a request: the key that signed it and the principal that key stands for.</summary>
public sealed class Caller
{
    public Caller(AccessKeyOptions key)
    {
        Key = key;
        var slash = key.Principal.LastIndexOf('/');
        UserName = slash >= 0 ? key.Principal[(slash + 1)..] : key.Principal;
    }

    public AccessKeyOptions Key { get; }

    public string AccessKeyId => Key.AccessKeyId;

    /// <summary>The principal's ARN, as AccessDeniedException messages name it.</summary>
    public string PrincipalArn => Key.Principal;

    /// <summary>The last segment of the principal ARN: <c>${aws:username}</c> in policies.</summary>
    public string UserName { get; }

    private Authorization.PolicyVariables? _variables;

    /// <summary>This caller's policy variables in account <paramref name="accountId"/>, made once rather than per request.</summary>
    internal Authorization.PolicyVariables Variables(string accountId)
    {
        var variables = _variables;
        if (variables is null || !string.Equals(variables.AccountId, accountId, StringComparison.Ordinal))
            _variables = variables = new Authorization.PolicyVariables(this, accountId);
        return variables;
    }
}
