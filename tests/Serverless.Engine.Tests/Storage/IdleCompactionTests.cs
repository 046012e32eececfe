using System.Buffers;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.Storage;

public sealed class IdleCompactionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("idle-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Compacts_OnlyAfterWritesStopForTheIdlePeriod_AndOncePerBurst()
    {
        var clock = new Capacity.ManualClock();
        await using var db = await Database.OpenAsync(new EngineOptions { DataDirectory = _dir, StoreMemoryBytes = 1L << 25, IdleCompactionAfter = TimeSpan.Zero }, clock);
        var idle = new IdleCompaction(db, TimeSpan.FromSeconds(1), startTimer: false);
        var table = await db.CreateTableAsync("t", n => Table("t", n()));
        var next = 0;

        async Task WriteAsync(long bytes)
        {
            var until = db.Log!.AppendedBytes + bytes;
            while (db.Log.AppendedBytes < until)
                await db.WriteTransaction([new(table, Key(table.Number, next++), Put.Instance)]).Durable;
        }

        // Under load: every check sees new log, so none compacts however much time passes.
        for (var i = 0; i < 5; i++)
        {
            await WriteAsync(IdleCompaction.MinLogBytes);
            clock.Advance(TimeSpan.FromSeconds(2));
            Assert.False(idle.Tick());
        }

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.False(idle.Tick()); // idle for half the period
        var fullCollections = GC.CollectionCount(2);
        clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.True(idle.Tick());
        Assert.Equal(1, idle.Compactions);
        await db.Maintenance.DrainAsync();
        Assert.True(GC.CollectionCount(2) > fullCollections);

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(idle.Tick()); // nothing written since: no second collection

        await WriteAsync(1024); // a trickle: less than the minimum since the last compaction
        Assert.False(idle.Tick());
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(idle.Tick());
        Assert.Equal(1, idle.Compactions);
        Assert.Equal(0, db.Maintenance.Failures);
    }

    /// <summary>Stores a 2 KiB "item" (a size header of 1 and the bytes).</summary>
    private sealed class Put : IItemMutation
    {
        public static readonly Put Instance = new();

        public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
        {
            var span = newValue.GetSpan(2049);
            span[..2049].Clear();
            span[0] = 1;
            newValue.Advance(2049);
            return MutationKind.Put;
        }
    }

    private static TableDefinition Table(string name, uint number) => new()
    {
        Name = name, TableNumber = number, TableId = Guid.NewGuid().ToString(), Region = "us-east-1", AccountId = "0",
        HashKey = new KeyAttribute("pk", "N"), AttributeDefinitions = [new KeyAttribute("pk", "N")], CreationDateTime = 0,
    };

    private static byte[] Key(uint table, int n) => [(byte)(table >> 24), (byte)(table >> 16), (byte)(table >> 8), (byte)table, 0, (byte)(n >> 16), (byte)(n >> 8), (byte)n];
}
