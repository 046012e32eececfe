using System.Text;
using System.Text.Json;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Storage.Index;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage.Index;

/// <summary>The ordered index as a log-structured merge tree: memtable over frozen memtables over runs on disk.</summary>
public sealed class PersistedIndexTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("index-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] K(int i) => [(byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i];

    private static int I(byte[] k) => (k[0] << 24) | (k[1] << 16) | (k[2] << 8) | k[3];

    private IndexCheckpoint Files(long cacheBytes = 1 << 20) => new(_dir, TestKeys.Cipher, new BlockCache(cacheBytes));

    /// <summary>Writes the index's memtable as a run and compacts, as a checkpoint does.</summary>
    private static void Checkpoint(IndexCheckpoint files, OrderedKeyIndex index) => Write(files, FreezeOne(files, index));

    private static List<PersistedIndex> Write(IndexCheckpoint files, IndexCheckpoint.Frozen frozen) => Task.Run(() => files.WriteAsync(frozen)).Result;

    private static IndexCheckpoint.Frozen FreezeOne(IndexCheckpoint files, OrderedKeyIndex index)
    {
        var table = new TableState(Def(1)) { Keys = index };
        return files.Freeze([table]);
    }

    private static TableDefinition Def(uint number) => new()
    {
        Name = "t" + number, TableNumber = number, TableId = "id", Region = "us-east-1", AccountId = "000000000000",
        HashKey = new KeyAttribute("pk", "S"), AttributeDefinitions = [new KeyAttribute("pk", "S")], CreationDateTime = 1,
    };

    private static List<int> ReadAll(OrderedKeyIndex index, byte[] lo, bool loInc, byte[] hi, bool hiInc, bool forward, int batch) =>
        OrderedKeyIndexTests.ReadAll(index, lo, loInc, hi, hiInc, forward, batch); // pages strictly after the last key

    [Fact]
    public void RandomChanges_AcrossCheckpointsAndCompactions_MatchASortedReference()
    {
        var random = new Random(13);
        var files = Files(cacheBytes: 1 << 20); // small cache: blocks are evicted and read again
        var index = new OrderedKeyIndex();
        var reference = new SortedSet<int>();
        for (var round = 0; round < 12; round++)
        {
            for (var op = 0; op < 3000; op++)
            {
                var k = random.Next(20000);
                if (random.Next(3) == 0)
                    Assert.Equal(reference.Remove(k), index.Remove(K(k)));
                else
                    Assert.Equal(reference.Add(k), index.Add(K(k)));
            }

            Assert.Equal(reference.Count, index.Count);
            if (round % 3 == 2)
            {
                // A checkpoint that froze but has not written yet: the frozen memtable still reads, and changes go on.
                var frozen = FreezeOne(files, index);
                Assert.True(index.Add(K(30000 + round)));
                reference.Add(30000 + round);
                Assert.Equal(reference.ToList(), ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 97));
                Write(files, frozen);
            }
            else
            {
                Checkpoint(files, index);
            }

            Assert.True(index.Current.Runs.Length <= IndexCheckpoint.MaxRuns);
            foreach (var k in new[] { 0, 1, 77, 5000, 19999, 20001 }) Assert.Equal(reference.Contains(k), index.Contains(K(k)));
            Assert.Equal(reference.ToList(), ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 128));
            Assert.Equal(reference.Reverse().ToList(), ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, false, 33));
            var lo = random.Next(20000);
            var hi = lo + random.Next(5000);
            Assert.Equal(reference.Where(x => x > lo && x <= hi).ToList(), ReadAll(index, K(lo), false, K(hi), true, true, 7));
            Assert.Equal(reference.Where(x => x >= lo && x < hi).Reverse().ToList(), ReadAll(index, K(lo), true, K(hi), false, false, 11));
        }

        Assert.True(index.Current.Runs.Length >= 1);
    }

    [Fact]
    public void AddAbsent_OverRuns_ReadsNoBlock_AndKeepsTheCount()
    {
        var files = Files();
        var index = new OrderedKeyIndex();
        for (var i = 0; i < 20000; i += 2) index.Add(K(i));
        Checkpoint(files, index);
        for (var i = 0; i < 4000; i += 4) Assert.True(index.Remove(K(i))); // tombstones over the run
        var misses = files.Cache.Misses;
        var hits = files.Cache.Hits;

        // New keys (the odd ones) and keys a tombstone hides: the items did not exist, so nothing below is searched.
        for (var i = 1; i < 20000; i += 2) Assert.True(index.AddAbsent(K(i)));
        for (var i = 0; i < 4000; i += 4) Assert.True(index.AddAbsent(K(i)));
        Assert.Equal(misses, files.Cache.Misses);
        Assert.Equal(hits, files.Cache.Hits);
        Assert.Equal(20000, index.Count);
        Assert.Equal(Enumerable.Range(0, 20000).ToList(), ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 500));

        // Add still searches the layers below, so a key held only by the run is found present.
        Assert.False(index.Add(K(4002)));
        Assert.True(files.Cache.Hits + files.Cache.Misses > hits + misses);
        Assert.Equal(20000, index.Count);
    }

    [Fact]
    public void Tombstones_HideOlderRuns_AndFullCompactionDropsThem()
    {
        var files = Files();
        var index = new OrderedKeyIndex();
        for (var i = 0; i < 1000; i++) index.Add(K(i));
        Checkpoint(files, index);
        for (var i = 0; i < 1000; i += 2) Assert.True(index.Remove(K(i)));
        Assert.False(index.Remove(K(0)));
        Assert.False(index.Contains(K(0)));
        Assert.Equal(500, index.Count);
        Checkpoint(files, index); // 500 tombstones over 1000 keys: merged, and the merge reached the oldest run

        var run = Assert.Single(index.Current.Runs);
        Assert.Equal(500, run.Entries);
        Assert.Equal(0, run.Tombstones);
        Assert.Equal(Enumerable.Range(0, 1000).Where(i => i % 2 == 1).ToList(), ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 64));

        // Re-adding a key a tombstone hid makes it live again.
        Assert.True(index.Add(K(0)));
        Assert.True(index.Contains(K(0)));
        Assert.Equal(501, index.Count);
    }

    [Fact]
    public void Runs_SurviveReopening_ThroughTheManifestEntries()
    {
        var files = Files();
        var table = new TableState(Def(3));
        for (var i = 0; i < 5000; i++) table.Keys.Add(K(i * 3));
        table.Account(5000, 123456);
        var persisted = Write(files, files.Freeze([table]));
        files.Retire(persisted);
        var json = JsonSerializer.Serialize(persisted);

        var reopened = new TableState(table.Definition);
        var back = JsonSerializer.Deserialize<List<PersistedIndex>>(json)!;
        Assert.True(Files().Attach([reopened], back));
        Assert.Equal(5000, reopened.Keys.Count);
        Assert.Equal(5000, reopened.ItemCount);
        Assert.Equal(123456, reopened.SizeBytes);
        Assert.True(reopened.Keys.Contains(K(2997)));
        Assert.False(reopened.Keys.Contains(K(2998)));
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => i * 3).ToList(), ReadAll(reopened.Keys, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 500));
    }

    [Fact]
    public void Retire_DeletesRunsNoManifestNames()
    {
        var files = Files();
        var index = new OrderedKeyIndex();
        for (var i = 0; i < 100; i++) index.Add(K(i));
        Checkpoint(files, index);
        File.WriteAllBytes(Path.Combine(_dir, "left-by-a-crash.run"), [1, 2, 3]);
        files.Retire([new PersistedIndex { Table = 1, Complete = true, Runs = [index.Current.Runs[0].Name] }]);

        Assert.Equal([index.Current.Runs[0].Name], Directory.EnumerateFiles(_dir).Select(f => Path.GetFileName(f)).ToArray());
        Assert.Equal(100, ReadAll(index, [], true, [0xFF, 0xFF, 0xFF, 0xFF], true, true, 1000).Count);
    }

    /// <summary>The run file layout is persisted: golden bytes (fixed key and salt) guard it.</summary>
    [Fact]
    public void RunFile_WritesGoldenBytes_AndRefusesDamage()
    {
        var path = Path.Combine(_dir, "golden.run");
        using (var writer = new IndexRunWriter(path, TestKeys.Cipher, 3, salt: [1, 2, 3, 4, 5, 6, 7, 8]))
        {
            writer.Add([0, 0, 0, 7, 0x41, 0x42], false);
            writer.Add([0, 0, 0, 7, 0x41, 0x43], true);
            writer.Add([0, 0, 0, 9], false);
            writer.Finish();
        }

        var bytes = File.ReadAllBytes(path);
        Assert.Equal("44-44-42-52-55-4E-30-31-01-02-03-04-05-06-07-08", BitConverter.ToString(bytes[..16]));
        Assert.Equal(Golden, Convert.ToHexString(bytes));

        // Block 0's plaintext: 3 entries (shared, suffix length, flags, suffix), then its CRC32.
        var blockLength = (int)BitConverter.ToInt64(bytes, bytes.Length - 16) - 16; // the footer's index offset
        var block = IndexRun.Unseal(TestKeys.Cipher, bytes[..16], 0, bytes.AsSpan(16, blockLength), path);
        Assert.Equal("0300" + "0006" + "00" + "000000074142" + "0501" + "01" + "43" + "0301" + "00" + "09", Convert.ToHexString(block[..^4]));

        using (var run = IndexRun.Open(path, TestKeys.Cipher, new BlockCache(1 << 20)))
        {
            Assert.Equal(3, run.Entries);
            Assert.Equal(1, run.Tombstones);
            var index = new OrderedKeyIndex([run], 2);
            Assert.True(index.Contains([0, 0, 0, 7, 0x41, 0x42]));
            Assert.False(index.Contains([0, 0, 0, 7, 0x41, 0x43]));
            var keys = new List<byte[]>();
            index.Read([], true, [0xFF], true, true, 10, keys);
            Assert.Equal(["00-00-00-07-41-42", "00-00-00-09"], keys.Select(k => BitConverter.ToString(k)).ToArray());
        }

        // Nothing is readable without the key, and a flipped byte or another key is refused.
        Assert.DoesNotContain("4142", Convert.ToHexString(bytes[16..]));
        bytes[20] ^= 1;
        File.WriteAllBytes(path, bytes);
        var damaged = IndexRun.Open(path, TestKeys.Cipher, new BlockCache(1 << 20));
        Assert.Throws<InvalidDataException>(() => damaged.Find([0, 0, 0, 9]));
        damaged.Dispose();
        Assert.Throws<InvalidDataException>(() => IndexRun.Open(path, StoreCipher.Ephemeral(), new BlockCache(1 << 20)));
    }

    private const string Golden =
        "44444252554E30310102030405060708505D78FC4B05504A2FF266346A286D955F91E68A0234BCD085E240572E190C3A0C4560325BB37756F5669F9120C7CCB1CEFE5742B5D78A62"
        + "3F2CBFEB9BA668C466A2575CCA60B684560BEA5F9645AB9D49AEB46224DA32EA3983BCA79A0E52432BD6B9932A69D0732B94615E919AEE370000000000000048000000B5906460";

    /// <summary>The manifest's index members are persisted: golden JSON guards them.</summary>
    [Fact]
    public void Manifest_IndexMembers_SerialiseToGoldenJson()
    {
        var manifest = new StoreManifest
        {
            FasterToken = Guid.Parse("11111111-2222-3333-4444-555555555555"), ReplayFromLsn = 42, NextTableNumber = 8, CreatedAt = 1700000200,
            Indexes =
            [
                new PersistedIndex { Table = 5, Complete = true, Count = 2, ItemCount = 2, SizeBytes = 300, Runs = ["a.run", "b.run"], Collections = "c.col" },
                new PersistedIndex { Table = 5, Index = 6, Complete = false, Count = 1, ItemCount = 1, SizeBytes = 40, Runs = [] },
                new PersistedIndex { Table = 5, Expiry = "ttl", Complete = true, Count = 0, Runs = ["d.run"] },
            ],
            PurgingTables = [4],
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.StoreManifest));
        Assert.Equal(
            "{\"Format\":1,\"FasterToken\":\"11111111-2222-3333-4444-555555555555\",\"ReplayFromLsn\":42,\"NextTableNumber\":8,\"Tables\":[],\"CreatedAt\":1700000200,"
            + "\"Indexes\":[{\"Table\":5,\"Complete\":true,\"Count\":2,\"ItemCount\":2,\"SizeBytes\":300,\"Runs\":[\"a.run\",\"b.run\"],\"Collections\":\"c.col\"},"
            + "{\"Table\":5,\"Index\":6,\"Complete\":false,\"Count\":1,\"ItemCount\":1,\"SizeBytes\":40,\"Runs\":[]},"
            + "{\"Table\":5,\"Expiry\":\"ttl\",\"Complete\":true,\"Count\":0,\"ItemCount\":0,\"SizeBytes\":0,\"Runs\":[\"d.run\"]}],\"PurgingTables\":[4]}",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.StoreManifest)!;
        Assert.Equal(3, back.Indexes!.Count);
        Assert.Equal((uint)6, back.Indexes[1].Index);
        Assert.Equal("ttl", back.Indexes[2].Expiry);

        // A manifest of the previous version (no index members) reads with none: the engine then rebuilds them.
        var old = JsonSerializer.Deserialize("{\"Format\":1,\"ReplayFromLsn\":3,\"NextTableNumber\":2,\"Tables\":[],\"CreatedAt\":1}", StorageJsonContext.Default.StoreManifest)!;
        Assert.Null(old.Indexes);
    }
}
