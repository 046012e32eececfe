using System.Buffers.Binary;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.LargerThanMemory;

/// <summary>
/// The bounded scan (<see cref="FasterStore.ForEach"/>: a log scan that visits a record only if the hash index holds
/// nothing newer for its key above it) over a store recovered from a FASTER checkpoint, spilled beyond its memory,
/// with writes after the checkpoint that the crash lost and writes replayed after recovery: every live key once, with
/// its latest value, exactly as the per-key pass (<see cref="FasterStore.ForEachRecovered"/>) reads them.
/// </summary>
public sealed class RecoveredScanTests : IDisposable
{
    private const int Count = 200_000;
    private const long Memory = 32L * 1024 * 1024;
    private readonly string _dir = Directory.CreateTempSubdirectory("recovered-scan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ForEach_AfterRecovery_VisitsEveryLiveKeyOnce_WithItsLatestValue()
    {
        var expected = new int?[Count + (Count / 4)];
        Guid token;
        using (var store = FasterStore.Open(_dir, Memory, TestKeys.Cipher))
        {
            for (var i = 0; i < Count; i++) Put(store, expected, i, i);
            for (var i = 0; i < Count; i += 7) Put(store, expected, i, -i); // later versions, some in memory, some not
            for (var i = 3; i < Count; i += 11)
            {
                store.Delete(Key(i));
                expected[i] = null;
            }

            token = await store.CheckpointAsync();

            // Written after the checkpoint, then lost with the process (no checkpoint follows): enough to spill pages
            // past the checkpoint's end, so the disk holds records the recovered store must not see.
            var lost = new int?[expected.Length];
            for (var i = 0; i < Count; i += 2) Put(store, lost, i, 1_000_000 + i);
            for (var i = Count; i < expected.Length; i++) Put(store, lost, i, i);
        }

        using (var store = FasterStore.Open(_dir, Memory, TestKeys.Cipher))
        {
            store.Recover(token);

            // Replay after recovery, as the change log does: updates, new keys, deletions.
            for (var i = 1; i < Count; i += 5) Put(store, expected, i, 2_000_000 + i);
            for (var i = Count; i < Count + (Count / 8); i++) Put(store, expected, i, i);
            for (var i = 4; i < Count; i += 13)
            {
                store.Delete(Key(i));
                expected[i] = null;
            }

            var bounded = Collect(store.ForEach, expected.Length, out var boundedTwice);
            var perKey = Collect(store.ForEachRecovered, expected.Length, out var perKeyTwice);
            Assert.Equal(0, perKeyTwice);
            Assert.Equal(0, boundedTwice);
            var wrongPerKey = Differences(perKey, expected);
            var wrongBounded = Differences(bounded, expected);
            Assert.True(wrongPerKey.Count == 0, "per-key pass: " + string.Join(", ", wrongPerKey.Take(10)));
            Assert.True(wrongBounded.Count == 0, $"bounded scan: {wrongBounded.Count} wrong, e.g. " + string.Join(", ", wrongBounded.Take(10)));
        }
    }

    [Fact]
    public async Task ForEach_AfterRecoveringACheckpointTakenUnderWrites_MatchesTheIndex()
    {
        // Writers run while the checkpoint is taken, so its fuzzy region holds records of the next version, which
        // recovery must drop. Which writes made it in is FASTER's to decide; the index (read key by key) is the truth.
        Guid token;
        using (var store = FasterStore.Open(_dir, Memory, TestKeys.Cipher))
        {
            token = await CheckpointUnderRacingWritersAsync(store);
        }

        using (var store = FasterStore.Open(_dir, Memory, TestKeys.Cipher))
        {
            store.Recover(token);
            var replayed = new int?[Count];
            for (var i = 2; i < Count; i += 17) Put(store, replayed, i, 4_000_000 + i);
            AssertScanMatchesTheIndex(store);
        }
    }

    /// <summary>
    /// The same writers without a recovery: FASTER abandoned the record of an append that lost its hash-chain race to
    /// another, with a size no log walk reads right, and the scan then skipped the rest of its page (issue 13). The
    /// store's append stripes keep two appends to a bucket from overlapping.
    /// </summary>
    [Fact]
    public async Task ForEach_AfterWritersOfTheSameKeysRacedThroughACheckpoint_MatchesTheIndex()
    {
        using var store = FasterStore.Open(_dir, Memory, TestKeys.Cipher);
        await CheckpointUnderRacingWritersAsync(store);
        AssertScanMatchesTheIndex(store);
    }

    /// <summary>
    /// Two writers of the same keys (no item lock) run before, during and after a checkpoint: while it runs, every first
    /// write of a key in the new version is an append, so their appends race on the same hash buckets.
    /// </summary>
    private static async Task<Guid> CheckpointUnderRacingWritersAsync(FasterStore store)
    {
        var ignored = new int?[Count];
        for (var i = 0; i < Count; i++) Put(store, ignored, i, i);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            var scratch = new int?[Count];
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var i = (int)((((long)n * 7919) + w) % Count); // long: n * 7919 overflows an int on a fast machine
                if (n % 9 == 0) store.Delete(Key(i));
                else Put(store, scratch, i, 3_000_000 + n);
            }
        })).ToArray();
        await Task.Delay(200);
        var token = await store.CheckpointAsync();
        await Task.Delay(200);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        return token;
    }

    private static void AssertScanMatchesTheIndex(FasterStore store)
    {
        var perKey = Collect(store.ForEachRecovered, Count, out var perKeyTwice);
        var bounded = Collect(store.ForEach, Count, out var boundedTwice);
        Assert.Equal(0, perKeyTwice);
        Assert.Equal(0, boundedTwice);
        var wrong = Differences(bounded, perKey);
        Assert.True(wrong.Count == 0, $"bounded scan against the index: {wrong.Count} differ, e.g. " + string.Join(", ", wrong.Take(10)));
    }

    /// <summary>The boundaries file is persisted beside the hybrid log: its name and layout (u64 little-endian each) are frozen.</summary>
    [Fact]
    public void RecoveredTailsFile_IsU64LittleEndianEach()
    {
        Assert.Equal("recovered-tails", FasterStore.BoundariesFile);
        var bytes = FasterStore.EncodeBoundaries([5, 4096]);
        Assert.Equal(Convert.FromHexString("05000000000000000010000000000000"), bytes);
        Assert.Equal([5L, 4096L], FasterStore.DecodeBoundaries(bytes));
    }

    private static void Put(FasterStore store, int?[] expected, int i, int value)
    {
        var bytes = new byte[100];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        store.Upsert(Key(i), bytes);
        expected[i] = value;
    }

    private static int?[] Collect(Action<RecordVisitor> scan, int size, out int twice)
    {
        var seen = new int?[size];
        var duplicates = 0;
        scan((key, value) =>
        {
            var i = BinaryPrimitives.ReadInt32BigEndian(key[4..]);
            if (seen[i] != null) duplicates++;
            seen[i] = BinaryPrimitives.ReadInt32LittleEndian(value);
        });
        twice = duplicates;
        return seen;
    }

    private static List<string> Differences(int?[] seen, int?[] expected)
    {
        var wrong = new List<string>();
        for (var i = 0; i < expected.Length; i++)
        {
            if (seen[i] != expected[i]) wrong.Add($"key {i}: {seen[i]?.ToString() ?? "missing"} instead of {expected[i]?.ToString() ?? "absent"}");
        }

        return wrong;
    }

    private static byte[] Key(int i)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(key, 9);
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(4), i);
        return key;
    }
}
