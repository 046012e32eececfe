using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using FASTER.core;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Benchmarks;

/// <summary>
/// FASTER snapshot against fold-over checkpoints on the engine's own store (<see cref="FasterStore"/>, encrypted device):
/// <c>... -- checkpoints [items] [storeMiB] [rounds]</c>. For each kind: load <c>items</c> records (a 20-byte key and a
/// 110-byte value, as a 110-byte item is stored), take a checkpoint, then <c>rounds</c> times update 10% of the records
/// and checkpoint again; then reopen and recover. Prints each checkpoint's time and the bytes written to disk.
/// </summary>
internal static class CheckpointKinds
{
    public static async Task RunAsync(string[] args)
    {
        var items = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var memory = (args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 512) << 20;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"{items} records, store memory {memory >> 20} MiB, {rounds} rounds of 10% updates");
        foreach (var kind in new[] { CheckpointType.Snapshot, CheckpointType.FoldOver })
        {
            var dir = Directory.CreateTempSubdirectory("ckpt-" + kind + "-").FullName;
            try
            {
                await MeasureAsync(kind, dir, items, memory, rounds);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static async Task MeasureAsync(CheckpointType kind, string dir, int items, long memory, int rounds)
    {
        var cipher = StoreCipher.Ephemeral();
        var key = new byte[20];
        var value = new byte[110];
        Guid token;
        using (var store = FasterStore.Open(dir, memory, cipher))
        {
            store.CheckpointKind = kind;
            var load = Stopwatch.StartNew();
            for (var i = 0; i < items; i++) store.Upsert(Key(key, i), Value(value, i, 0));
            Console.WriteLine($"{kind}: loaded in {load.Elapsed.TotalSeconds:F1} s; {Disk(store)}");
            token = await TimedCheckpointAsync(store, kind, "first checkpoint");
            var random = new Random(7);
            for (var r = 1; r <= rounds; r++)
            {
                for (var n = 0; n < items / 10; n++)
                {
                    var i = random.Next(items);
                    store.Upsert(Key(key, i), Value(value, i, r));
                }

                token = await TimedCheckpointAsync(store, kind, $"checkpoint after round {r}");
            }
        }

        var recover = Stopwatch.StartNew();
        using (var store = FasterStore.Open(dir, memory, cipher))
        {
            store.Recover(token);
            var recovered = recover.Elapsed;
            var sample = new Serverless.Engine.Common.PooledBufferWriter(256);
            var found = 0;
            for (var i = 0; i < items; i += Math.Max(1, items / 1000))
            {
                sample.Clear();
                if (store.TryRead(Key(key, i), sample)) found++;
            }

            Console.WriteLine($"{kind}: recovery {recovered.TotalMilliseconds:F0} ms (then {found} sampled keys found, {recover.Elapsed.TotalMilliseconds:F0} ms in all); {Disk(store)}");
        }
    }

    private static async Task<Guid> TimedCheckpointAsync(FasterStore store, CheckpointType kind, string what)
    {
        var before = store.DiskBytes();
        var clock = Stopwatch.StartNew();
        var token = await store.CheckpointAsync();
        var elapsed = clock.Elapsed;
        store.PurgeCheckpointsExcept(token);
        var after = store.DiskBytes();
        Console.WriteLine($"{kind}: {what} {elapsed.TotalMilliseconds:F0} ms; checkpoint folder {after.Checkpoints / 1e6:F1} MB, log {after.Log / 1e6:F1} MB (+{(after.Log - before.Log) / 1e6:F1} MB)");
        return token;
    }

    private static string Disk(FasterStore store)
    {
        var (log, checkpoints) = store.DiskBytes();
        return $"log {log / 1e6:F1} MB, checkpoints {checkpoints / 1e6:F1} MB";
    }

    private static byte[] Key(byte[] key, int i)
    {
        BinaryPrimitives.WriteUInt32BigEndian(key, 3);
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(4), i);
        return key;
    }

    private static byte[] Value(byte[] value, int i, int round)
    {
        BinaryPrimitives.WriteInt32LittleEndian(value, i);
        BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(4), round);
        return value;
    }
}
