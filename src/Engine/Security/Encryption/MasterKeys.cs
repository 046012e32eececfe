using System.Security.Cryptography;
using System.Text;

namespace Serverless.Engine.Security.Encryption;

/// <summary>A master key and its id: the first 16 bytes of HMAC-SHA256(key, "serverless-ddb master key id v1").</summary>
public sealed class MasterKey
{
    public MasterKey(byte[] key, string origin)
    {
        if (key.Length != StoreCipher.KeySize) throw new ArgumentException($"The master key from {origin} must be 32 bytes (base64 of 32 bytes); it is {key.Length}.");
        Key = key;
        Origin = origin;
        Id = HMACSHA256.HashData(key, "serverless-ddb master key id v1"u8)[..16];
    }

    public byte[] Key { get; }

    public byte[] Id { get; }

    /// <summary>Where the key came from, for messages (a setting name or a file path; never the key).</summary>
    public string Origin { get; }

    public string IdHex => Convert.ToHexStringLower(Id);

    /// <summary>Parses a base64 key; a clear error names the setting.</summary>
    public static MasterKey Parse(string base64, string origin)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{origin} is not base64 (expected base64 of 32 bytes).");
        }

        return new MasterKey(bytes, origin);
    }

    /// <summary>Reads a key file: the 32 raw bytes, or base64 text of them.</summary>
    public static MasterKey ReadFile(string path, string origin)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"The master key file {path} ({origin}) cannot be read: {e.Message}");
        }

        return data.Length == StoreCipher.KeySize ? new MasterKey(data, origin) : Parse(Encoding.ASCII.GetString(data), origin);
    }
}

/// <summary>
/// The configured master keys: the current one (<c>Encryption__Key</c> or <c>Encryption__KeyFile</c>, else a key
/// generated on first start and kept with the store) and the previous ones accepted for rotation.
/// </summary>
public sealed class MasterKeys
{
    private MasterKeys(MasterKey current, IReadOnlyList<MasterKey> previous, bool generated)
    {
        Current = current;
        Previous = previous;
        Generated = generated;
    }

    public MasterKey Current { get; }

    public IReadOnlyList<MasterKey> Previous { get; }

    /// <summary>True when no key is configured and the store's own generated key is used (the AWS owned key equivalent).</summary>
    public bool Generated { get; }

    /// <summary>
    /// Resolves the configured keys. With none configured, <paramref name="generatedKey"/> supplies the store's own
    /// key (read, or created on first start).
    /// </summary>
    public static MasterKeys Resolve(EncryptionOptions options, Func<MasterKey> generatedKey)
    {
        var previous = new List<MasterKey>();
        for (var i = 0; i < options.PreviousKeys.Count; i++)
            if (options.PreviousKeys[i] is { Length: > 0 } p) previous.Add(MasterKey.Parse(p, $"Encryption__PreviousKeys__{i}"));
        if (options.Key is { Length: > 0 } key) return new MasterKeys(MasterKey.Parse(key, "Encryption__Key"), previous, false);
        if (options.KeyFile is { Length: > 0 } file) return new MasterKeys(MasterKey.ReadFile(file, "Encryption__KeyFile"), previous, false);
        return new MasterKeys(generatedKey(), previous, true);
    }

    /// <summary>The base64 text a generated key file holds.</summary>
    public static byte[] NewKeyFileText() => Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(StoreCipher.KeySize)) + "\n");
}
