using Serverless.Engine.Persistence;
using Serverless.Engine.Storage;

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

        Assert.Equal(1, SnapshotFile.Write(path, 42, store));

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(
            "44-44-42-53-4E-41-50-31-2A-00-00-00-00-00-00-00-06-00-00-00-07-01-02-04-03-09-09-09-00-01-00-00-00-00-00-00-00",
            BitConverter.ToString(bytes[..^4]));
        var items = new List<(byte[], byte[])>();
        Assert.Equal(42UL, SnapshotFile.Read(path, (k, v) => items.Add((k.ToArray(), v.ToArray()))));
        var (key, value) = Assert.Single(items);
        Assert.Equal([0, 0, 0, 7, 1, 2], key);
        Assert.Equal([3, 9, 9, 9], value);

        bytes[12] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => SnapshotFile.Read(path, (_, _) => { }));
    }
}
