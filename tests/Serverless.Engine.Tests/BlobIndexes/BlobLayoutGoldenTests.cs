using System.Text;
using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Storage.Index;

namespace Serverless.Engine.Tests.BlobIndexes;

/// <summary>
/// The blob container's layout is persisted (a fresh instance of any later version must find these names), and so
/// is the manifest a blob checkpoint commits: golden values guard both.
/// </summary>
public sealed class BlobLayoutGoldenTests
{
    [Fact]
    public void BlobNames_AreTheLayoutsNames()
    {
        Assert.Equal("manifest.json", BlobPersistence.ManifestBlob);
        Assert.Equal("log/00000000000000000042.log", BlobPersistence.LogName(42));
        Assert.Equal("snapshots/00000000000000001001.snap", BlobPersistence.SnapshotName(1001));
        Assert.Equal("index/", BlobPersistence.IndexPrefix);
        Assert.Equal("index/0123456789abcdef0123456789abcdef.run", BlobPersistence.IndexName("0123456789abcdef0123456789abcdef.run"));
    }

    /// <summary>
    /// A blob checkpoint's manifest names no FASTER checkpoint (the local files are never recovered from) and lists
    /// the indexes whose files are under <c>index/</c>.
    /// </summary>
    [Fact]
    public void BlobCheckpointManifest_SerialisesToGoldenJson()
    {
        using var store = FasterStore.OpenTemporary(16 << 20);
        var commit = new CheckpointCommit
        {
            ReplayFrom = 77, NextTableNumber = 3, Tables = [], CreatedAt = 1700000300,
            Indexes =
            [
                new PersistedIndex { Table = 2, Complete = true, Count = 5, ItemCount = 5, SizeBytes = 500, Runs = ["aa.run"], Collections = "bb.col" },
                new PersistedIndex { Table = 2, Index = 1, Complete = true, Count = 4, ItemCount = 4, SizeBytes = 120, Runs = ["cc.run", "dd.run"] },
            ],
            Store = store, Cipher = StoreCipher.Ephemeral(), IndexDirectory = "/nowhere", AppliedChangesDurable = () => Task.CompletedTask,
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(commit.Manifest(Guid.Empty), StorageJsonContext.Default.StoreManifest));
        Assert.Equal(
            "{\"Format\":1,\"FasterToken\":\"00000000-0000-0000-0000-000000000000\",\"ReplayFromLsn\":77,\"NextTableNumber\":3,\"Tables\":[],\"CreatedAt\":1700000300,"
            + "\"Indexes\":[{\"Table\":2,\"Complete\":true,\"Count\":5,\"ItemCount\":5,\"SizeBytes\":500,\"Runs\":[\"aa.run\"],\"Collections\":\"bb.col\"},"
            + "{\"Table\":2,\"Index\":1,\"Complete\":true,\"Count\":4,\"ItemCount\":4,\"SizeBytes\":120,\"Runs\":[\"cc.run\",\"dd.run\"]}]}",
            json);
        Assert.Equal(["aa.run", "bb.col", "cc.run", "dd.run"], PersistedIndex.FileNames(commit.Indexes).Order(StringComparer.Ordinal));
    }

    /// <summary>A snapshot reads back identically from a stream (the fresh instance reads the download as it arrives).</summary>
    [Fact]
    public void Snapshot_ReadsFromAStream_AsFromAFile()
    {
        var cipher = StoreCipher.Ephemeral();
        using var store = FasterStore.OpenTemporary(16 << 20);
        for (var i = 0; i < 1000; i++) store.Upsert(Encoding.UTF8.GetBytes($"key-{i:D4}"), Encoding.UTF8.GetBytes($"value-{i}"));
        var path = Path.GetTempFileName();
        try
        {
            Assert.Equal(1000, SnapshotFile.Write(path, 9, store, cipher));
            var fromFile = new List<string>();
            var fromStream = new List<string>();
            Assert.Equal(9UL, SnapshotFile.Read(path, cipher, (k, v) => fromFile.Add(Encoding.UTF8.GetString(k.Span) + "=" + Encoding.UTF8.GetString(v.Span))));
            using (var stream = new MemoryStream(File.ReadAllBytes(path)))
                Assert.Equal(9UL, SnapshotFile.Read(stream, "memory", cipher, (k, v) => fromStream.Add(Encoding.UTF8.GetString(k.Span) + "=" + Encoding.UTF8.GetString(v.Span))));
            Assert.Equal(1000, fromStream.Count);
            Assert.Equal(fromFile, fromStream);

            // A stream cut short is refused, as a file is.
            var cut = File.ReadAllBytes(path)[..^100];
            using var damaged = new MemoryStream(cut);
            Assert.ThrowsAny<Exception>(() => SnapshotFile.Read(damaged, "memory", cipher, (_, _) => { }));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
