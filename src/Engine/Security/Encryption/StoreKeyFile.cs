using System.Security.Cryptography;

namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// The wrapped data key of a store (<c>store.key</c> in the data directory, and in the blob container with blob
/// storage). Format, guarded by a golden test:
/// <code>
///   "DDBKEY01" | 16-byte id of the wrapping master key | 12-byte nonce | 32-byte data key, AES-256-GCM encrypted
///   | 16-byte tag           (associated data: the first 24 bytes)
/// </code>
/// </summary>
public static class StoreKeyFile
{
    public const int Size = 8 + 16 + StoreCipher.NonceSize + StoreCipher.KeySize + StoreCipher.TagSize;
    private static readonly byte[] Magic = "DDBKEY01"u8.ToArray();

    /// <summary>A new random data key, wrapped by <paramref name="master"/>.</summary>
    public static byte[] Create(MasterKey master, out StoreCipher cipher)
    {
        var dataKey = RandomNumberGenerator.GetBytes(StoreCipher.KeySize);
        cipher = StoreCipher.FromKey(dataKey);
        return Wrap(master, dataKey, RandomNumberGenerator.GetBytes(StoreCipher.NonceSize));
    }

    /// <summary>Wraps <paramref name="dataKey"/> with <paramref name="master"/> under <paramref name="nonce"/> (fresh for every wrap).</summary>
    public static byte[] Wrap(MasterKey master, ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> nonce)
    {
        var file = new byte[Size];
        Magic.CopyTo(file, 0);
        master.Id.CopyTo(file, 8);
        nonce.CopyTo(file.AsSpan(24, StoreCipher.NonceSize));
        using var gcm = new AesGcm(master.Key, StoreCipher.TagSize);
        gcm.Encrypt(file.AsSpan(24, StoreCipher.NonceSize), dataKey, file.AsSpan(36, StoreCipher.KeySize), file.AsSpan(68, StoreCipher.TagSize), file.AsSpan(0, 24));
        return file;
    }

    /// <summary>
    /// Unwraps the data key with whichever configured master key wrapped it. When that was a previous key,
    /// <paramref name="rewrapped"/> is the file wrapped by the current key, for the caller to write back.
    /// </summary>
    public static StoreCipher Open(ReadOnlySpan<byte> file, MasterKeys keys, string location, out byte[]? rewrapped)
    {
        rewrapped = null;
        if (file.Length != Size || !file.StartsWith(Magic)) throw new InvalidOperationException($"The store key file {location} is damaged (not a store key file).");
        var id = file.Slice(8, 16);
        MasterKey? wrapping = null;
        if (id.SequenceEqual(keys.Current.Id)) wrapping = keys.Current;
        else
        {
            foreach (var p in keys.Previous)
                if (id.SequenceEqual(p.Id)) wrapping = p;
        }

        if (wrapping == null)
        {
            throw new InvalidOperationException(
                $"the store's data key ({location}) is wrapped by master key {Convert.ToHexStringLower(id)}, but the configured master key "
                + $"({keys.Current.Origin}) is {keys.Current.IdHex}: wrong encryption key. Configure the key the store was created with "
                + "(Encryption__Key or Encryption__KeyFile), or list it in Encryption__PreviousKeys__N to rotate to the new one.");
        }

        var dataKey = new byte[StoreCipher.KeySize];
        try
        {
            using var gcm = new AesGcm(wrapping.Key, StoreCipher.TagSize);
            gcm.Decrypt(file.Slice(24, StoreCipher.NonceSize), file.Slice(36, StoreCipher.KeySize), file.Slice(68, StoreCipher.TagSize), dataKey, file[..24]);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException($"The store key file {location} is damaged: its data key fails authentication with master key {wrapping.IdHex}.");
        }

        if (wrapping != keys.Current) rewrapped = Wrap(keys.Current, dataKey, RandomNumberGenerator.GetBytes(StoreCipher.NonceSize));
        var cipher = StoreCipher.FromKey(dataKey);
        CryptographicOperations.ZeroMemory(dataKey);
        return cipher;
    }
}
