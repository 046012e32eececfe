using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage;

public sealed class FasterStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ValuesLargerThanTheSessionScratch_RoundTrip()
    {
        using var store = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher);
        var big = new byte[300 * 1024];
        new Random(1).NextBytes(big);
        store.Upsert([1, 2, 3], big);
        using var output = new PooledBufferWriter();
        Assert.True(store.TryRead([1, 2, 3], output));
        Assert.True(output.WrittenSpan.SequenceEqual(big));
    }

    [Fact]
    public async Task Checkpoint_ThenRecover_RestoresEveryRecord_AndDeletesStayDeleted()
    {
        Guid token;
        using (var store = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher))
        {
            for (var i = 0; i < 10_000; i++) store.Upsert(BitConverter.GetBytes(i), BitConverter.GetBytes(i * 3));
            store.Delete(BitConverter.GetBytes(5));
            token = await store.CheckpointAsync();
        }

        using var recovered = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher);
        recovered.Recover(token);
        var count = 0;
        recovered.ForEach((key, value) =>
        {
            Assert.Equal(BitConverter.ToInt32(key) * 3, BitConverter.ToInt32(value));
            count++;
        });
        Assert.Equal(9_999, count);
        using var output = new PooledBufferWriter();
        Assert.False(recovered.TryRead(BitConverter.GetBytes(5), output));
        Assert.True(recovered.TryRead(BitConverter.GetBytes(9_999), output));
    }

    /// <summary>
    /// A new checkpoint must not remove the one the manifest still names: a crash before the manifest is rewritten
    /// recovers from the older checkpoint. Only PurgeCheckpointsExcept removes it.
    /// </summary>
    [Fact]
    public async Task OlderCheckpoint_SurvivesANewOne_UntilPurged()
    {
        Guid first, second;
        using (var store = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher))
        {
            store.Upsert([1], [10]);
            first = await store.CheckpointAsync();
            store.Upsert([2], [20]);
            second = await store.CheckpointAsync();
        }

        using (var recovered = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher))
        {
            recovered.Recover(first);
            using var output = new PooledBufferWriter();
            Assert.True(recovered.TryRead([1], output));
            recovered.PurgeCheckpointsExcept(second);
        }

        var left = Directory.EnumerateDirectories(Path.Combine(_dir, "checkpoints"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain(first.ToString(), left);
        Assert.Contains(second.ToString(), left);
        using var latest = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher);
        latest.Recover(second);
        using var value = new PooledBufferWriter();
        Assert.True(latest.TryRead([2], value));
    }

    /// <summary>ForEach feeds snapshots and the start-up rebuild of the ordered indexes: it must see every live key once.</summary>
    [Fact]
    public async Task ForEach_SeesEveryLiveKeyExactlyOnce_AfterCheckpointsAndOverwrites()
    {
        using var store = FasterStore.Open(_dir, 64L * 1024 * 1024, TestKeys.Cipher);
        const int Count = 200_000;
        var value = new byte[120];
        for (var i = 0; i < Count; i++) store.Upsert(BitConverter.GetBytes(i), value);
        await store.CheckpointAsync();
        for (var i = 0; i < Count; i += 7) store.Upsert(BitConverter.GetBytes(i), value.AsSpan(0, 60));
        for (var i = 3; i < Count; i += 11) store.Delete(BitConverter.GetBytes(i));
        var seen = new HashSet<int>();
        var duplicates = 0;
        store.ForEach((key, _) =>
        {
            if (!seen.Add(BitConverter.ToInt32(key))) duplicates++;
        });
        var expected = Enumerable.Range(0, Count).Count(i => (i - 3) % 11 != 0 || i < 3);
        Assert.Equal(0, duplicates);
        Assert.Equal(expected, seen.Count);
    }

    [Fact]
    public void ReadsServedFromDisk_CompleteWhenTheStoreExceedsMemory()
    {
        // 32 MiB of memory for ~80 MiB of values: most reads go to the log device and complete as pending.
        using var store = FasterStore.Open(_dir, 32L * 1024 * 1024, TestKeys.Cipher);
        var value = new byte[4000];
        for (var i = 0; i < 20_000; i++)
        {
            BitConverter.TryWriteBytes(value, i);
            store.Upsert(BitConverter.GetBytes(i), value);
        }

        using var output = new PooledBufferWriter();
        for (var i = 0; i < 20_000; i += 997)
        {
            output.Clear();
            Assert.True(store.TryRead(BitConverter.GetBytes(i), output));
            Assert.Equal(i, BitConverter.ToInt32(output.WrittenSpan));
        }
    }
}
