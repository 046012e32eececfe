namespace Serverless.Engine.Security.Encryption;

/// <summary>Where a store keeps its key files: the data directory, or the blob container with blob storage.</summary>
public interface IKeyLocation
{
    /// <summary>The file's bytes, or null when there is none.</summary>
    Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Writes the file durably, replacing any previous one.</summary>
    Task WriteAsync(string name, byte[] data, CancellationToken cancellationToken);

    /// <summary>The file's full name for messages (a path or a blob URI).</summary>
    string Describe(string name);
}

/// <summary>
/// Opens a store's data key: unwraps <c>store.key</c> with the configured master key (re-wrapping it when a
/// previous key wrapped it), or creates it for a new store. With no master key configured, the store's own
/// generated key (<c>master.key</c>, next to <c>store.key</c>) is used, created on first start.
/// </summary>
public static class StoreKeyring
{
    public const string KeyFileName = "store.key";
    public const string GeneratedMasterKeyFileName = "master.key";

    /// <param name="options">The configured keys.</param>
    /// <param name="location">Where the key files are.</param>
    /// <param name="storeExists">Whether the location already holds a store (then a missing key file is an error).</param>
    /// <param name="cancellationToken">Cancels the file operations.</param>
    public static async Task<(StoreCipher Cipher, MasterKeys Keys)> OpenAsync(EncryptionOptions options, IKeyLocation location, Func<CancellationToken, Task<bool>> storeExists,
        CancellationToken cancellationToken)
    {
        MasterKey? generated = null;
        if (options.Key is not { Length: > 0 } && options.KeyFile is not { Length: > 0 })
        {
            var text = await location.ReadAsync(GeneratedMasterKeyFileName, cancellationToken).ConfigureAwait(false);
            if (text == null)
            {
                text = MasterKeys.NewKeyFileText();
                await location.WriteAsync(GeneratedMasterKeyFileName, text, cancellationToken).ConfigureAwait(false);
            }

            generated = MasterKey.Parse(System.Text.Encoding.ASCII.GetString(text), location.Describe(GeneratedMasterKeyFileName));
        }

        var keys = MasterKeys.Resolve(options, () => generated!);
        var file = await location.ReadAsync(KeyFileName, cancellationToken).ConfigureAwait(false);
        if (file == null)
        {
            if (await storeExists(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException(
                    $"the store has no data key file ({location.Describe(KeyFileName)}): it was written by a version without encryption at rest, "
                    + "or the key file was deleted. It cannot be opened.");
            }

            var created = StoreKeyFile.Create(keys.Current, out var fresh);
            await location.WriteAsync(KeyFileName, created, cancellationToken).ConfigureAwait(false);
            return (fresh, keys);
        }

        var cipher = StoreKeyFile.Open(file, keys, location.Describe(KeyFileName), out var rewrapped);
        if (rewrapped != null) await location.WriteAsync(KeyFileName, rewrapped, cancellationToken).ConfigureAwait(false);
        return (cipher, keys);
    }
}

/// <summary>Key files in a local directory, written through a temporary file, fsynced and renamed; owner-only where the OS allows.</summary>
public sealed class DirectoryKeyLocation(string directory) : IKeyLocation
{
    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, name);
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) : null;
    }

    public Task WriteAsync(string name, byte[] data, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, name);
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(fs.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            fs.Write(data);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        return Task.CompletedTask;
    }

    public string Describe(string name) => Path.Combine(directory, name);
}
