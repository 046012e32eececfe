using Serverless.Engine.Kinesis;

namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    private readonly object _kinesisLock = new();
    private KinesisStore? _kinesis;
    private KinesisDelivery? _kinesisDelivery;

    /// <summary>Delivery of table changes to their Kinesis destinations (the KinesisDelivery timer function runs it).</summary>
    public KinesisDelivery KinesisDelivery
    {
        get
        {
            if (Volatile.Read(ref _kinesisDelivery) is { } delivery) return delivery;
            Interlocked.CompareExchange(ref _kinesisDelivery, new KinesisDelivery(this), null);
            return _kinesisDelivery;
        }
    }

    /// <summary>
    /// The Kinesis Data Streams of this engine, opened on first use: <c>{data}/kinesis/</c>, or memory in the
    /// in-memory mode, with a copy in blob storage when the store lives there (<see cref="Persistence.BlobFolderMirror"/>).
    /// Appends are fsynced when the change log's sync mode is Always.
    /// </summary>
    public KinesisStore Kinesis
    {
        get
        {
            var store = Volatile.Read(ref _kinesis);
            if (store != null) return store;
            lock (_kinesisLock)
            {
                if (_kinesis != null) return _kinesis;
                var root = Options.InMemory ? null : Path.Combine(Path.GetFullPath(Options.DataDirectory), "kinesis");
                var mirror = root != null && Options.Blob.ConnectionString is { Length: > 0 } ? new Persistence.BlobFolderMirror(Options.Blob, root) : null;
                store = KinesisStore.Open(root, Database.Cipher, Options.Kinesis, Options.ChangeLog.Sync == Storage.ChangeLogSync.Always, mirror);
                Volatile.Write(ref _kinesis, store);
                return store;
            }
        }
    }

    private void DisposeKinesis()
    {
        lock (_kinesisLock)
        {
            _kinesis?.Dispose();
            _kinesis = null;
        }
    }
}
