using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage;

/// <summary>The blob snapshot format is persisted: golden bytes guard it.</summary>
public sealed class SnapshotFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("snapshot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Snapshot_WritesGoldenBytes_AndReadsBack()
    {
        using var store = FasterStore.OpenTemporary(32L * 1024 * 1024);
        store.Upsert([0, 0, 0, 7, 1, 2], [3, 9, 9, 9]);
        var path = Path.Combine(_dir, "s.snap");

        Assert.Equal(1, SnapshotFile.Write(path, 42, store, TestKeys.Cipher));

        // On disk: a sealed file (kind 1, snapshot) whose plaintext is the snapshot format.
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("DDBSEAL1"u8.ToArray(), bytes[..8]);
        Assert.Equal(1, bytes[8]);
        var plain = SealedFile.Open(bytes, TestKeys.Cipher, SealedKind.Snapshot, path);
        Assert.Equal(
            "44-44-42-53-4E-41-50-31-2A-00-00-00-00-00-00-00-06-00-00-00-07-01-02-04-03-09-09-09-00-01-00-00-00-00-00-00-00",
            BitConverter.ToString(plain[..^4]));
        Assert.DoesNotContain("03-09-09-09", BitConverter.ToString(bytes));
        var items = new List<(byte[], byte[])>();
        Assert.Equal(42UL, SnapshotFile.Read(path, TestKeys.Cipher, (k, v) => items.Add((k.ToArray(), v.ToArray()))));
        var (key, value) = Assert.Single(items);
        Assert.Equal([0, 0, 0, 7, 1, 2], key);
        Assert.Equal([3, 9, 9, 9], value);

        bytes[30] ^= 1;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SnapshotFile.Read(path, TestKeys.Cipher, (_, _) => { }));
        Assert.Contains(path, e.Message);
    }
}
