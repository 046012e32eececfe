using System.Buffers;
using System.Collections.Concurrent;
using FASTER.core;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>Visits one live record of the store during a scan.</summary>
public delegate void RecordVisitor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

/// <summary>
/// The materialised state: a <c>FasterKV&lt;SpanByte, SpanByte&gt;</c> from encoded storage keys to encoded items.
/// FASTER sessions are single-threaded, so operations rent one from a pool for the duration of a synchronous call.
/// This class knows nothing of tables or items: callers serialise writes to a key (see <see cref="KeyLocks"/>),
/// and the change log, not this store, is what makes a write durable.
/// </summary>
public sealed class FasterStore : IDisposable
{
    private readonly FasterKV<SpanByte, SpanByte> _kv;
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _checkpoints;
    private readonly string _directory;
    private readonly bool _deleteOnDispose;
    private readonly ConcurrentQueue<Session> _sessions = new();
    private readonly ConcurrentBag<Session> _allSessions = new();
    private int _disposed;

    /// <summary>The session this thread returned last (of whichever store): lent out again without the queue.</summary>
    [ThreadStatic]
    private static Session? t_session;

    private FasterStore(string directory, long memoryBytes, bool deleteOnDispose, StoreCipher cipher)
    {
        _directory = directory;
        _deleteOnDispose = deleteOnDispose;
        Directory.CreateDirectory(directory);
        // Every sector FASTER writes (the hybrid log and the checkpoints) is encrypted with the store's data key.
        _device = new EncryptedDevice(Path.Combine(directory, "hlog.log"), cipher, deleteOnClose: deleteOnDispose);
        _checkpoints = new DeviceLogCommitCheckpointManager(
            new EncryptedDeviceFactory(cipher), new DefaultCheckpointNamingScheme(Path.Combine(directory, "checkpoints")), removeOutdated: false);
        var memoryBits = Math.Max(25, (int)Math.Floor(Math.Log2(memoryBytes)));
        var settings = new FasterKVSettings<SpanByte, SpanByte>
        {
            IndexSize = 1L << 24, // 16M hash buckets' worth of bytes (262k buckets x 64B)
            LogDevice = _device,
            PageSize = 1L << 22,
            SegmentSize = 1L << 30,
            MemorySize = 1L << memoryBits,
            MutableFraction = 0.9,
            // Never let FASTER delete the previous checkpoint when a new one completes (removeOutdated: false): the
            // manifest still names the previous one until it is rewritten, and a crash in between must find it.
            // PurgeCheckpointsExcept does it once the new manifest is durable.
            CheckpointManager = _checkpoints,
        };
        _kv = new FasterKV<SpanByte, SpanByte>(settings);
    }

    /// <summary>Opens a store persisted under <paramref name="directory"/>; call <see cref="Recover"/> to load a checkpoint.</summary>
    public static FasterStore Open(string directory, long memoryBytes, StoreCipher cipher) => new(directory, memoryBytes, deleteOnDispose: false, cipher);

    /// <summary>A store whose spill file lives in a temporary folder and is deleted on dispose.
    /// The spill file is encrypted with a key that exists only in memory.</summary>
    public static FasterStore OpenTemporary(long memoryBytes) =>
        new(Path.Combine(Path.GetTempPath(), "serverless-ddb-" + Guid.NewGuid().ToString("N")), memoryBytes, deleteOnDispose: true, StoreCipher.Ephemeral());

    /// <summary>Copies the value stored under <paramref name="key"/> into <paramref name="destination"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination)
    {
        var session = Rent();
        try
        {
            return session.TryRead(key, destination);
        }
        finally
        {
            Return(session);
        }
    }

    public void Upsert(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var session = Rent();
        try
        {
            session.Upsert(key, value);
        }
        finally
        {
            Return(session);
        }
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        var session = Rent();
        try
        {
            session.Delete(key);
        }
        finally
        {
            Return(session);
        }
    }

    /// <summary>Visits every live record (the latest version of each key, deletions skipped).</summary>
    public void ForEach(RecordVisitor visitor)
    {
        // FASTER's live-record iterator (session.Iterate) was seen to skip a few records of a store recovered from a
        // checkpoint and then replayed into. So: scan the whole hybrid log (every version of every record), keep the
        // distinct keys, then read each one through the index, which is authoritative.
        var keys = new List<byte[]>();
        var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
        using (var scan = _kv.Log.Scan(_kv.Log.BeginAddress, _kv.Log.TailAddress))
        {
            while (scan.GetNext(out _))
            {
                var key = scan.GetKey().AsReadOnlySpan().ToArray();
                if (seen.Add(key)) keys.Add(key);
            }
        }

        seen.Clear();
        using var value = new PooledBufferWriter(4096);
        foreach (var key in keys)
        {
            value.Clear();
            if (TryRead(key, value)) visitor(key, value.WrittenSpan);
        }
    }

    /// <summary>Takes a full snapshot checkpoint. Every write completed before the call is in it.</summary>
    public async Task<Guid> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        var (success, token) = await _kv.TakeFullCheckpointAsync(CheckpointType.Snapshot, cancellationToken).ConfigureAwait(false);
        if (!success) throw new InvalidOperationException("FASTER refused the checkpoint (another one is in progress).");
        return token;
    }

    /// <summary>Deletes every checkpoint but <paramref name="token"/> (call once a manifest naming it is durable).</summary>
    public void PurgeCheckpointsExcept(Guid token)
    {
        var root = Path.Combine(_directory, "checkpoints");
        if (!Directory.Exists(root)) return;
        foreach (var kind in Directory.EnumerateDirectories(root))
        {
            foreach (var checkpoint in Directory.EnumerateDirectories(kind))
            {
                if (!Path.GetFileName(checkpoint).Equals(token.ToString(), StringComparison.OrdinalIgnoreCase)) Directory.Delete(checkpoint, recursive: true);
            }
        }
    }

    /// <summary>Loads the checkpoint <paramref name="token"/>.</summary>
    public void Recover(Guid token) => _kv.Recover(token);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var s in _allSessions) s.Dispose();
        _kv.Dispose();
        _checkpoints.Dispose();
        _device.Dispose();
        if (_deleteOnDispose)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private Session Rent()
    {
        // Most calls find the session this thread used last in its slot, which costs no interlocked queue operation.
        var cached = t_session;
        if (cached != null)
        {
            if (cached.Owner == this)
            {
                t_session = null;
                return cached;
            }

            if (Volatile.Read(ref cached.Owner._disposed) != 0) t_session = null; // let a closed store be collected
        }

        if (_sessions.TryDequeue(out var s)) return s;
        s = new Session(this, _kv);
        _allSessions.Add(s);
        return s;
    }

    private void Return(Session session)
    {
        if (t_session == null && Volatile.Read(ref _disposed) == 0) t_session = session;
        else _sessions.Enqueue(session);
    }

    private sealed class Session : IDisposable
    {
        private const int ScratchSize = 64 * 1024;
        private readonly byte[] _scratch = GC.AllocateArray<byte>(ScratchSize, pinned: true);

        public Session(FasterStore owner, FasterKV<SpanByte, SpanByte> kv)
        {
            Owner = owner;
            Raw = kv.For(new SpanByteFunctions<Empty>()).NewSession<SpanByteFunctions<Empty>>();
        }

        public FasterStore Owner { get; }

        public ClientSession<SpanByte, SpanByte, SpanByte, SpanByteAndMemory, Empty, SpanByteFunctions<Empty>> Raw { get; }

        public unsafe bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var output = SpanByteAndMemory.FromFixedSpan(_scratch);
                var status = Raw.Read(ref keySb, ref output);
                if (status.IsPending)
                {
                    Raw.CompletePendingWithOutputs(out var outputs, wait: true);
                    using (outputs)
                    {
                        if (!outputs.Next()) return false;
                        status = outputs.Current.Status;
                        output = outputs.Current.Output;
                    }
                }

                if (!status.Found) return false;
                if (output.IsSpanByte)
                {
                    destination.Write(output.SpanByte.AsReadOnlySpan());
                }
                else
                {
                    using var owner = output.Memory;
                    destination.Write(owner.Memory.Span[..output.Length]);
                }

                return true;
            }
        }

        public unsafe void Upsert(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            fixed (byte* k = key, v = value)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var valueSb = SpanByte.FromPointer(v, value.Length);
                var status = Raw.Upsert(ref keySb, ref valueSb);
                if (status.IsPending) Raw.CompletePending(wait: true);
            }
        }

        public unsafe void Delete(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var status = Raw.Delete(ref keySb);
                if (status.IsPending) Raw.CompletePending(wait: true);
            }
        }

        public void Dispose() => Raw.Dispose();
    }
}
