namespace Serverless.Engine.Security;

/// <summary>How requests are authenticated (<c>Auth__Mode</c>).</summary>
public enum AuthMode
{
    /// <summary>Any credentials are accepted and nothing is authorized, as DynamoDB Local does.</summary>
    AcceptAny = 0,

    /// <summary>Every request must carry a valid SigV4 signature of a configured key, and its policy must allow the call.</summary>
    Verify = 1,
}

/// <summary>One access key (<c>Auth__Keys__N__*</c>): its secret, the principal it stands for and that principal's IAM policy.</summary>
public sealed class AccessKeyOptions
{
    public string AccessKeyId { get; set; } = "";

    public string SecretAccessKey { get; set; } = "";

    /// <summary>An IAM ARN such as <c>arn:aws:iam::000000000000:user/alice</c>, used in error messages and policies.</summary>
    public string Principal { get; set; } = "";

    /// <summary>The identity-based policy of the principal, an IAM policy document as JSON; unset allows nothing.</summary>
    public string? Policy { get; set; }

    /// <summary>When set, the key is a temporary credential: requests must carry this as <c>X-Amz-Security-Token</c>.</summary>
    public string? SessionToken { get; set; }
}

/// <summary>Authentication settings (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Unset: <see cref="AuthMode.Verify"/> as soon as one key is configured, else <see cref="AuthMode.AcceptAny"/>.</summary>
    public AuthMode? Mode { get; set; }

    public List<AccessKeyOptions> Keys { get; set; } = [];

    public AuthMode EffectiveMode => Mode ?? (Keys.Count > 0 ? AuthMode.Verify : AuthMode.AcceptAny);
}
