using System.Buffers.Binary;
using Serverless.Engine.Persistence;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.LargerThanMemory;

/// <summary>
/// A FASTER store much larger than its memory (32 MiB, the smallest it takes): scans, snapshots and reads of records
/// that live on disk, with bounded memory and without waiting for the disk under a lock.
/// </summary>
public sealed class SpilledStoreTests : IDisposable
{
    private const int Count = 300_000; // × ~140 bytes a record: about 40 MiB, beyond the 32 MiB in memory
    private readonly FasterStore _store = FasterStore.OpenTemporary(32L * 1024 * 1024);

    public SpilledStoreTests()
    {
        Fill(_store, Count);
        var value = new byte[100];

        // Later versions of some keys, and deletions of others, all in memory at the tail.
        for (var i = 0; i < Count; i += 10)
        {
            BinaryPrimitives.WriteInt32LittleEndian(value, -i);
            _store.Upsert(Key(i), value);
        }

        for (var i = 5; i < Count; i += 10) _store.Delete(Key(i));
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ForEach_VisitsEveryLiveKeyOnce_WithItsLatestValue()
    {
        var seen = new bool[Count];
        var visited = 0;
        _store.ForEach((key, value) =>
        {
            var i = BinaryPrimitives.ReadInt32BigEndian(key[4..]);
            Assert.False(seen[i], $"key {i} visited twice");
            seen[i] = true;
            Assert.Equal(i % 10 == 0 ? -i : i, BinaryPrimitives.ReadInt32LittleEndian(value));
            visited++;
        });
        Assert.Equal(Count - (Count / 10), visited);
        for (var i = 0; i < Count; i++) Assert.Equal(i % 10 != 5, seen[i]);
    }

    [Fact]
    public async Task ReadsOfRecordsOnDisk_CompleteAsynchronously_AndUnderALockReleaseIt()
    {
        // Keys 1 and 3 were written first and never again: they are on disk (the locked read below proves it). The
        // asynchronous read may have completed by the time it is looked at (the page cache is fast), so only its
        // result is checked.
        using var buffer = new PooledBufferWriter(256);
        var read = _store.TryReadAsync(Key(1), buffer);
        Assert.True(await read);
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan));

        // In memory (rewritten at the tail): at once.
        buffer.Clear();
        read = _store.TryReadAsync(Key(Count - 10), buffer);
        Assert.True(read.IsCompletedSuccessfully);
        Assert.Equal(-(Count - 10), BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan));

        // Under a lock, a record on disk is waited for with the lock released, then checked against what was written
        // meanwhile: a write while the lock was let go (another thread, as a writer would) wins.
        var gate = new object();
        lock (gate)
        {
            buffer.Clear();
            Assert.Equal(StoreRead.Found, _store.TryReadLocked(Key(3), buffer, gate, out var relocked));
            Assert.True(relocked);
            Assert.True(Monitor.IsEntered(gate));
            Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan));
        }

        // A writer waiting for the lock gets it while the read waits for the disk; its write must win. Whether it gets
        // in is up to the scheduler, so cold keys are tried until it has, and each outcome is checked either way.
        var racing = new byte[100];
        BinaryPrimitives.WriteInt32LittleEndian(racing, 424242);
        var raced = false;
        for (var attempt = 0; attempt < 300 && !raced; attempt++)
        {
            var i = 21 + (attempt * 10);
            var key = Key(i);
            using var writerIn = new ManualResetEventSlim();
            Task writer;
            lock (gate)
            {
                writer = Task.Run(() =>
                {
                    lock (gate)
                    {
                        _store.Upsert(key, racing);
                        writerIn.Set();
                    }
                });
                while (writer.Status < TaskStatus.Running) Thread.Yield();
                Thread.Sleep(20); // let the writer block on the lock (scheduling only: outcomes are checked either way)
                buffer.Clear();
                Assert.Equal(StoreRead.Found, _store.TryReadLocked(key, buffer, gate, out _));
                raced = writerIn.IsSet;
                Assert.Equal(raced ? 424242 : i, BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan));
            }

            await writer;
        }

        Assert.True(raced, "no writer got the lock while a read waited for the disk");

        // A key that does not exist, whose hash chain may lead to disk: not found, whether or not it waited.
        lock (gate)
        {
            buffer.Clear();
            Assert.Equal(StoreRead.NotFound, _store.TryReadLocked(Key(Count + 5), buffer, gate, out _));
            Assert.Equal(StoreRead.NotFound, _store.TryReadLocked(Key(15), buffer, gate, out _)); // deleted
        }
    }

    [Fact]
    public void Snapshot_OfASpilledStore_StreamsOutAndBackIn()
    {
        var dir = Directory.CreateTempSubdirectory("spilled-snapshot-").FullName;
        try
        {
            var path = Path.Combine(dir, "s.snap");
            Assert.Equal(Count - (Count / 10), SnapshotFile.Write(path, 7, _store, TestKeys.Cipher));
            using var copy = FasterStore.OpenTemporary(32L * 1024 * 1024);
            Assert.Equal(7UL, SnapshotFile.Read(path, TestKeys.Cipher, (k, v) => copy.Upsert(k.Span, v.Span)));
            using var buffer = new PooledBufferWriter(256);
            foreach (var i in new[] { 0, 1, 5, 10, Count / 2 + 1, Count - 1 })
            {
                buffer.Clear();
                Assert.Equal(i % 10 != 5, copy.TryRead(Key(i), buffer));
                if (i % 10 != 5) Assert.Equal(i % 10 == 0 ? -i : i, BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Writes keys 0 to <paramref name="count"/> - 1, each with its index as a 100-byte value: the first ones end up on disk.</summary>
    internal static void Fill(FasterStore store, int count)
    {
        var value = new byte[100];
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(value, i);
            store.Upsert(Key(i), value);
        }
    }

    internal static byte[] Key(int i)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(key, 7);
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(4), i);
        return key;
    }
}
