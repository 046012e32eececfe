namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// Encryption at rest (section <c>Encryption</c>, top-level like <c>Auth</c>). Encryption is always on; these
/// settings only choose the master key that wraps each store's data key.
/// </summary>
public sealed class EncryptionOptions
{
    public const string Section = "Encryption";

    /// <summary>The master key, base64 of 32 bytes (<c>Encryption__Key</c>; in the cloud a Key Vault reference).</summary>
    public string? Key { get; set; }

    /// <summary>A file holding the master key (base64 text, or the 32 raw bytes), used when <see cref="Key"/> is unset.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Earlier master keys (base64): a data key wrapped by one of them is re-wrapped by the current key on open.</summary>
    public List<string> PreviousKeys { get; set; } = [];

    /// <summary>Named keys that SSESpecification.KMSMasterKeyId can refer to (<c>Encryption__KmsKeys__N__Id</c>/<c>__Key</c>).</summary>
    public List<KmsKeyOptions> KmsKeys { get; set; } = [];
}

/// <summary>
/// One named key (<c>Encryption__KmsKeys__N__Id</c>, optional <c>__Alias</c>), the stand-in for a customer managed KMS
/// key that SSESpecification.KMSMasterKeyId may name. It is a name only: the bytes of every table are encrypted with
/// the store's data key (see docs/encryption.md).
/// </summary>
public sealed class KmsKeyOptions
{
    /// <summary>The key id (a GUID on AWS); KMSMasterKeyId may give it or its ARN <c>arn:aws:kms:{region}:{account}:key/{Id}</c>.</summary>
    public string Id { get; set; } = "";

    /// <summary>An alias (<c>alias/name</c>); KMSMasterKeyId may give it or its ARN.</summary>
    public string? Alias { get; set; }
}
