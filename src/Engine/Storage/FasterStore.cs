using System.Buffers;
using System.Collections.Concurrent;
using FASTER.core;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>How <see cref="FasterStore.TryReadLocked"/> went.</summary>
public enum StoreRead
{
    NotFound,
    Found,

    /// <summary>The record is on disk and the read is in flight (<see cref="FasterStore.StoreReader"/> only).</summary>
    Pending,
}

/// <summary>Visits one live record of the store during a scan.</summary>
public delegate void RecordVisitor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

/// <summary>
/// The materialised state: a <c>FasterKV&lt;SpanByte, SpanByte&gt;</c> from encoded storage keys to encoded items.
/// FASTER sessions are single-threaded, so operations rent one from a pool for the duration of a synchronous call.
/// This class knows nothing of tables or items: callers serialise writes to a key (see <see cref="KeyLocks"/>),
/// and the change log, not this store, is what makes a write durable.
/// </summary>
public sealed partial class FasterStore : IDisposable
{
    private readonly FasterKV<SpanByte, SpanByte> _kv;
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _checkpoints;
    private readonly string _directory;
    private readonly bool _deleteOnDispose;
    private readonly ConcurrentQueue<Session> _sessions = new();
    private readonly ConcurrentBag<Session> _allSessions = new();
    private int _disposed;

    /// <summary>
    /// Serialises every append to a FASTER hash bucket (writes, and warm-up copies): one stripe per bucket, by FASTER's
    /// own key hash. FASTER 2.6.5 abandons the record an append wrote when its hash-chain CAS loses to a
    /// concurrent append, and overwrites that record's key length with its allocated size
    /// (<c>SaveAllocationForRetry</c>); every walk of the log (the scan iterator, and recovery's own page walk) then
    /// reads a wrong record size there and leaves the page, skipping every record after it on that page (issue 13,
    /// docs/larger-than-memory.md). FASTER takes its bucket latch only after the lookup the CAS compares against, so
    /// two appends to a bucket must not overlap at all; with these stripes the CAS cannot lose.
    /// </summary>
    private readonly object[] _appendLocks = CreateAppendLocks();

    /// <summary>A power of two no larger than the index's bucket count, so that a bucket maps to one stripe.</summary>
    private const int AppendStripes = 1024;

    private const long IndexBytes = 1L << 24;

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
        var memoryBits = Math.Max(24, (int)Math.Floor(Math.Log2(memoryBytes))); // 16 MiB (four pages) at least
        var settings = new FasterKVSettings<SpanByte, SpanByte>
        {
            IndexSize = IndexBytes, // 16M hash buckets' worth of bytes (262k buckets x 64B)
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

    private static object[] CreateAppendLocks()
    {
        var locks = new object[AppendStripes];
        for (var i = 0; i < locks.Length; i++) locks[i] = new object();
        return locks;
    }

    /// <summary>The stripe of <see cref="_appendLocks"/> for <paramref name="key"/>'s hash bucket (bucket = hash &amp; (buckets - 1)).</summary>
    private object AppendLock(ref SpanByte key) => _appendLocks[_kv.Comparer.GetHashCode64(ref key) & (AppendStripes - 1)];

    /// <summary>Opens a store persisted under <paramref name="directory"/>; call <see cref="Recover"/> to load a checkpoint.</summary>
    public static FasterStore Open(string directory, long memoryBytes, StoreCipher cipher) => new(directory, memoryBytes, deleteOnDispose: false, cipher);

    /// <summary>A store whose spill file lives in a temporary folder and is deleted on dispose.
    /// The spill file is encrypted with a key that exists only in memory.</summary>
    public static FasterStore OpenTemporary(long memoryBytes) =>
        new(Path.Combine(Path.GetTempPath(), "serverless-ddb-" + Guid.NewGuid().ToString("N")), memoryBytes, deleteOnDispose: true, StoreCipher.Ephemeral());

    /// <summary>Copies the value stored under <paramref name="key"/> into <paramref name="destination"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination)
    {
        using var lease = Lease();
        return lease.Session.TryRead(key, destination);
    }

    public void Upsert(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        using var lease = Lease();
        lease.Session.Upsert(key, value);
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        using var lease = Lease();
        lease.Session.Delete(key);
    }

    /// <summary>
    /// Reads the value under <paramref name="key"/> while the caller holds <paramref name="heldLock"/> (the only lock
    /// writers of the key take), without ever waiting for the disk under it: when the record is on disk, the lock is
    /// released while the read completes and taken again, then the result is validated by a read of only the records
    /// appended since the lock was let go (in memory): a newer one wins. <paramref name="relocked"/> tells the caller
    /// the lock was released meanwhile, so it re-checks what it checked under the lock.
    /// </summary>
    public StoreRead TryReadLocked(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, object heldLock, out bool relocked)
    {
        using var lease = Lease();
        return lease.Session.TryReadLocked(key, destination, heldLock, out relocked);
    }

    /// <summary>
    /// Brings the record of <paramref name="key"/> into memory if it is on disk (copied to the log's tail), so that a
    /// read under locks that follows finds it there. Costs one in-memory lookup when it already is.
    /// </summary>
    public void Warm(ReadOnlySpan<byte> key)
    {
        using var lease = Lease();
        lease.Session.Warm(key);
    }

    /// <summary>
    /// Reads the value under <paramref name="key"/>: synchronously when the record is in memory (the common case, at
    /// the cost of <see cref="TryRead"/>), otherwise completing asynchronously when the disk read does, with no thread
    /// blocked meanwhile. <paramref name="destination"/> must stay the caller's until the task completes.
    /// </summary>
    public ValueTask<bool> TryReadAsync(ReadOnlySpan<byte> key, IBufferWriter<byte> destination)
    {
        var session = Rent();
        bool found;
        try
        {
            if (!session.TryReadOrStart(key, destination, out found)) return CompleteAsync(session, destination);
        }
        catch
        {
            Return(session);
            throw;
        }

        Return(session);
        return new ValueTask<bool>(found);
    }

    private async ValueTask<bool> CompleteAsync(Session session, IBufferWriter<byte> destination)
    {
        try
        {
            return await session.CompletePendingReadAsync(destination).ConfigureAwait(false);
        }
        finally
        {
            _sessions.Enqueue(session);
        }
    }

    /// <summary>
    /// Visits every live record (the latest version of each key, deletions skipped), with memory that does not grow
    /// with the store: a scan of the hybrid log, page by page, where a record is visited only if no later record of
    /// its key exists (a lookup through the hash index that searches only the addresses above it, almost always in
    /// memory). Writes may go on; a key written during the scan is visited at most once, with some value it held.
    /// </summary>
    public void ForEach(RecordVisitor visitor)
    {
        // The index, checked per record, decides which record of a key is live (FASTER's live-record iterator,
        // session.Iterate, was seen to skip records of a recovered store: the abandoned records of issue 13).
        using var lease = Lease();
        foreach (var (from, until) in Ranges(_kv.Log.TailAddress))
        {
            using var scan = _kv.Log.Scan(from, until);
            while (scan.GetNext(out var info))
            {
                if (info.Tombstone) continue;
                ref var key = ref scan.GetKey();
                if (lease.Session.HasNewerRecord(ref key, scan.CurrentAddress)) continue;
                visitor(key.AsReadOnlySpan(), scan.GetValue().AsReadOnlySpan());
            }
        }
    }

    /// <summary>
    /// Where recovered logs ended (<see cref="Recover"/>): the log's scan restarts at each. A log written before the
    /// append stripes (<see cref="_appendLocks"/>) can hold a record abandoned by FASTER with an unreadable size, and
    /// the iterator skips from there to the next page; when that page holds the recovered tail, the records appended
    /// after recovery start exactly at the boundary, so a scan restarted there is aligned again (issue 13,
    /// docs/larger-than-memory.md). Kept in <see cref="BoundariesFile"/>, because such a record stays in the log.
    /// </summary>
    private List<long> _boundaries = [];

    /// <summary>The file of <see cref="_boundaries"/> beside the hybrid log: each a u64, little-endian, ascending (a golden test guards it).</summary>
    internal const string BoundariesFile = "recovered-tails";

    /// <summary>The stretches of the log from the begin address to <paramref name="end"/>, cut at the boundaries between them.</summary>
    private List<(long From, long Until)> Ranges(long end)
    {
        var ranges = new List<(long From, long Until)>(_boundaries.Count + 1);
        var from = _kv.Log.BeginAddress;
        foreach (var b in _boundaries)
        {
            if (b <= from || b >= end) continue;
            ranges.Add((from, b));
            from = b;
        }

        ranges.Add((from, end));
        return ranges;
    }

    internal static byte[] EncodeBoundaries(IReadOnlyList<long> boundaries)
    {
        var bytes = new byte[boundaries.Count * 8];
        for (var i = 0; i < boundaries.Count; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), boundaries[i]);
        return bytes;
    }

    internal static List<long> DecodeBoundaries(ReadOnlySpan<byte> bytes)
    {
        var boundaries = new List<long>(bytes.Length / 8);
        for (var at = 0; at + 8 <= bytes.Length; at += 8) boundaries.Add(System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes[at..]));
        return boundaries;
    }

    /// <summary>
    /// Visits every live record as the hash index reads it, for a store just recovered from a FASTER checkpoint (the
    /// item pass at start-up): the distinct keys of the whole log are collected, then each is read through the index.
    /// Memory grows with the number of keys. <see cref="ForEach"/>, whose memory is bounded, was seen to miss records
    /// of a recovered store (issue 13: records FASTER abandoned with an unreadable size, which the append stripes now
    /// prevent), so the pass that rebuilds the in-memory indexes keeps this until persistent indexes remove it.
    /// </summary>
    public void ForEachRecovered(RecordVisitor visitor)
    {
        var keys = new List<byte[]>();
        var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
        foreach (var (from, until) in Ranges(_kv.Log.TailAddress))
        {
            using var scan = _kv.Log.Scan(from, until);
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

    /// <summary>
    /// The kind of FASTER checkpoint <see cref="CheckpointAsync"/> takes. Snapshot by default: measured against fold-over
    /// in docs/architecture.md ("Snapshot or fold-over checkpoints"); settable for that measurement (bench/Serverless.Benchmarks checkpoints).
    /// </summary>
    internal CheckpointType CheckpointKind { get; set; } = CheckpointType.Snapshot;

    /// <summary>Bytes of the hybrid log on disk, and of the checkpoints folder (for measurements).</summary>
    internal (long Log, long Checkpoints) DiskBytes()
    {
        long log = 0, checkpoints = 0;
        foreach (var file in Directory.EnumerateFiles(_directory, "*", SearchOption.AllDirectories))
        {
            var length = new FileInfo(file).Length;
            if (file.StartsWith(Path.Combine(_directory, "checkpoints"), StringComparison.Ordinal)) checkpoints += length;
            else log += length;
        }

        return (log, checkpoints);
    }

    /// <summary>Takes a full checkpoint (<see cref="CheckpointKind"/>). Every write completed before the call is in it.</summary>
    public async Task<Guid> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        SaveBoundaries();
        var (success, token) = await _kv.TakeFullCheckpointAsync(CheckpointKind, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Loads the checkpoint <paramref name="token"/>, and records where the recovered log ends (a boundary for scans,
    /// see <see cref="_boundaries"/>); boundaries of logs recovered before at or beyond it are gone with what followed them.
    /// </summary>
    public void Recover(Guid token)
    {
        _kv.Recover(token);
        var tail = _kv.Log.TailAddress;
        var path = Path.Combine(_directory, BoundariesFile);
        var boundaries = File.Exists(path) ? DecodeBoundaries(File.ReadAllBytes(path)) : [];
        boundaries.RemoveAll(b => b >= tail);
        boundaries.Add(tail);
        _boundaries = boundaries;
        SaveBoundaries();
    }

    /// <summary>
    /// Writes <see cref="_boundaries"/> (atomically): at recovery, and before every checkpoint, so the file a later
    /// recovery reads belongs to this log (a store that was not recovered has none, and a stale file is replaced).
    /// </summary>
    private void SaveBoundaries()
    {
        var path = Path.Combine(_directory, BoundariesFile);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, EncodeBoundaries(_boundaries));
        File.Move(temporary, path, overwrite: true);
    }

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

    private SessionLease Lease() => new(this, Rent());

    /// <summary>A rented session for the length of a synchronous call: <c>using var lease = Lease();</c>.</summary>
    private readonly ref struct SessionLease(FasterStore owner, Session session)
    {
        public Session Session { get; } = session;

        public void Dispose() => owner.Return(Session);
    }

    /// <summary>Throws the failure of a read that ran on a reader thread (a damaged sector), as a read on this thread would have.</summary>
    private void ThrowIfReadFailed()
    {
        if (_device is EncryptedDevice device && device.TakeDeferredFailure() is { } failure) throw new InvalidDataException(failure.Message, failure);
    }

    internal sealed partial class Session : IDisposable
    {
        private const int ScratchSize = 64 * 1024;

        /// <summary>
        /// Sets <see cref="ReadOptions.StopAddress"/>, whose setter FASTER keeps internal (2.6.5, and its main branch)
        /// although its Read honours it; no public API bounds a read (<c>ReadAtAddress</c> and
        /// <c>IterateKeyVersions</c> do not stop at an address, and <c>ReadOptions</c> has no public constructor or
        /// setter). Null if a later version hides it otherwise (then scans fall back to reading each record's key, and
        /// locked reads wait for the disk under the lock); <c>StoreReaderTests</c> fails if that happens.
        /// </summary>
        private static readonly StopAddressSetter? SetStopAddress = typeof(ReadOptions).GetProperty(nameof(ReadOptions.StopAddress))?.GetSetMethod(nonPublic: true)
            is { } setter ? (StopAddressSetter)Delegate.CreateDelegate(typeof(StopAddressSetter), setter) : null;

        private delegate void StopAddressSetter(ref ReadOptions options, long address);

        /// <summary>Whether reads can be bounded to the records above an address (a test guards it across FASTER upgrades).</summary>
        public static bool CanBoundReads => SetStopAddress != null;
        private readonly byte[] _scratch = GC.AllocateArray<byte>(ScratchSize, pinned: true);

        public Session(FasterStore owner, FasterKV<SpanByte, SpanByte> kv)
        {
            Owner = owner;
            Raw = kv.For(new SpanByteFunctions<long>()).NewSession<SpanByteFunctions<long>>();
        }

        public FasterStore Owner { get; }

        public ClientSession<SpanByte, SpanByte, SpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>> Raw { get; }

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

                return Copy(status, ref output, destination);
            }
        }

        /// <summary>False when the read went to disk and is pending on this session (finish it with <see cref="CompletePendingReadAsync"/>).</summary>
        public unsafe bool TryReadOrStart(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, out bool found)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var output = SpanByteAndMemory.FromFixedSpan(_scratch);
                var status = ReadDeferring(ref keySb, ref output, 0);
                found = false;
                if (status.IsPending) return false;
                found = Copy(status, ref output, destination);
                return true;
            }
        }

        /// <summary>
        /// <see cref="ClientSession{Key, Value, Input, Output, Context, Functions}.Read(ref Key, ref Output, Context, long)"/>
        /// with a disk read, if it needs one, run on a reader thread (<see cref="EncryptedDevice.t_deferReads"/>): the
        /// read then returns pending at once, with no disk wait on this thread.
        /// </summary>
        public Status ReadDeferring(ref SpanByte key, ref SpanByteAndMemory output, long context)
        {
            EncryptedDevice.t_deferReads = true;
            try
            {
                return Raw.Read(ref key, ref output, context);
            }
            finally
            {
                EncryptedDevice.t_deferReads = false;
            }
        }

        public async ValueTask<bool> CompletePendingReadAsync(IBufferWriter<byte> destination)
        {
            using var outputs = await Raw.CompletePendingWithOutputsAsync().ConfigureAwait(false);
            Owner.ThrowIfReadFailed();
            if (!outputs.Next()) return false;
            var status = outputs.Current.Status;
            var output = outputs.Current.Output;
            return Copy(status, ref output, destination);
        }

        public unsafe StoreRead TryReadLocked(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, object heldLock, out bool relocked)
        {
            relocked = false;
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var output = SpanByteAndMemory.FromFixedSpan(_scratch);
                // Deferred: the disk read runs on a reader thread, so it is not done here under the lock.
                var status = SetStopAddress == null ? Raw.Read(ref keySb, ref output) : ReadDeferring(ref keySb, ref output, 0);
                if (!status.IsPending) return Copy(status, ref output, destination) ? StoreRead.Found : StoreRead.NotFound;
                if (SetStopAddress == null)
                {
                    // Without a way to read only newer records, wait here (the lock stays held).
                    Raw.CompletePendingWithOutputs(out var all, wait: true);
                    using (all)
                    {
                        if (!all.Next()) return StoreRead.NotFound;
                        status = all.Current.Status;
                        output = all.Current.Output;
                        return Copy(status, ref output, destination) ? StoreRead.Found : StoreRead.NotFound;
                    }
                }

                // Every later write of the key (under the lock) lands at or above the tail as it is now.
                var fence = Owner._kv.Log.TailAddress;
                byte[]? value = null;
                var found = false;
                relocked = true;
                Monitor.Exit(heldLock);
                try
                {
                    Raw.CompletePendingWithOutputs(out var outputs, wait: true);
                    using (outputs)
                    {
                        if (outputs.Next())
                        {
                            output = outputs.Current.Output;
                            found = outputs.Current.Status.Found;
                            if (found) value = output.IsSpanByte ? output.SpanByte.AsReadOnlySpan().ToArray() : output.Memory.Memory.Span[..output.Length].ToArray();
                            if (!output.IsSpanByte) output.Memory.Dispose();
                        }
                    }
                }
                finally
                {
                    Monitor.Enter(heldLock);
                }

                Owner.ThrowIfReadFailed();

                var input = default(SpanByte);
                output = SpanByteAndMemory.FromFixedSpan(_scratch);
                var options = default(ReadOptions);
                SetStopAddress(ref options, fence);
                status = Raw.Read(ref keySb, ref input, ref output, ref options, out var metadata);
                if (status.IsPending)
                {
                    // The records since the fence are already on disk (a flood of writes): rare; wait for them here.
                    Raw.CompletePendingWithOutputs(out var newer, wait: true);
                    using (newer)
                    {
                        if (newer.Next())
                        {
                            status = newer.Current.Status;
                            output = newer.Current.Output;
                            metadata = newer.Current.RecordMetadata;
                        }
                    }
                }

                if (status.Found || metadata.Address >= fence)
                {
                    // Written (or deleted) while the lock was let go: the newer record is the value.
                    return Copy(status, ref output, destination) ? StoreRead.Found : StoreRead.NotFound;
                }

                if (!output.IsSpanByte) output.Memory.Dispose();
                if (!found) return StoreRead.NotFound;
                destination.Write(value);
                return StoreRead.Found;
            }
        }

        public unsafe void Warm(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var fence = Owner._kv.Log.TailAddress;
                var output = SpanByteAndMemory.FromFixedSpan(_scratch);
                var status = Raw.Read(ref keySb, ref output);
                if (!status.IsPending)
                {
                    // In memory already (or absent): nothing to copy.
                    if (!output.IsSpanByte) output.Memory.Dispose();
                    return;
                }

                Raw.CompletePendingWithOutputs(out var outputs, wait: true);
                using (outputs)
                {
                    while (outputs.Next())
                    {
                        output = outputs.Current.Output;
                        if (outputs.Current.Status.Found) CopyToTail(ref keySb, ref output, fence);
                        if (!output.IsSpanByte) output.Memory.Dispose();
                    }
                }
            }
        }

        /// <summary>
        /// Appends the value just read from disk for <paramref name="key"/> at the log's tail, unless a record of the
        /// key (a value or a deletion) was appended since <paramref name="fence"/> (the tail before the read): what
        /// FASTER's copying read does, but under the key's append stripe (<see cref="AppendLock"/>), so that it never
        /// races a write into the same hash bucket. Best effort: when that check itself would go to disk, nothing is copied.
        /// </summary>
        public void CopyToTail(ref SpanByte key, ref SpanByteAndMemory value, long fence)
        {
            if (SetStopAddress == null) return;
            var bytes = value.IsSpanByte ? value.SpanByte.AsReadOnlySpan() : value.Memory.Memory.Span[..value.Length];
            lock (Owner.AppendLock(ref key))
            {
                var input = default(SpanByte);
                var output = default(SpanByteAndMemory);
                var options = default(ReadOptions);
                SetStopAddress(ref options, fence);
                var status = Raw.Read(ref key, ref input, ref output, ref options, out var metadata);
                if (!output.IsSpanByte) output.Memory?.Dispose();
                if (status.IsPending)
                {
                    Raw.CompletePendingWithOutputs(out var newer, wait: true);
                    using (newer)
                    {
                        while (newer.Next())
                        {
                            if (!newer.Current.Output.IsSpanByte) newer.Current.Output.Memory?.Dispose();
                        }
                    }

                    return;
                }

                if (status.Found || metadata.Address >= fence) return; // written or deleted since the read
                unsafe
                {
                    fixed (byte* v = bytes)
                    {
                        var valueSb = SpanByte.FromPointer(v, bytes.Length);
                        var upsert = Raw.Upsert(ref key, ref valueSb);
                        if (upsert.IsPending) Raw.CompletePending(wait: true);
                    }
                }
            }
        }

        /// <summary>Whether a record of <paramref name="key"/> (a value or a deletion) exists above <paramref name="address"/>.</summary>
        public bool HasNewerRecord(ref SpanByte key, long address)
        {
            var input = default(SpanByte);
            var output = SpanByteAndMemory.FromFixedSpan(_scratch);
            var options = default(ReadOptions);
            SetStopAddress?.Invoke(ref options, address + 1);
            var status = Raw.Read(ref key, ref input, ref output, ref options, out var metadata);
            if (status.IsPending)
            {
                Raw.CompletePendingWithOutputs(out var outputs, wait: true);
                using (outputs)
                {
                    if (!outputs.Next()) return false;
                    status = outputs.Current.Status;
                    output = outputs.Current.Output;
                    metadata = outputs.Current.RecordMetadata;
                }
            }

            if (!output.IsSpanByte) output.Memory.Dispose();
            if (SetStopAddress == null) return !status.Found || metadata.Address != address;
            return status.Found || metadata.Address > address;
        }

        private static bool Copy(Status status, ref SpanByteAndMemory output, IBufferWriter<byte> destination)
        {
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

        public unsafe void Upsert(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            fixed (byte* k = key, v = value)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                var valueSb = SpanByte.FromPointer(v, value.Length);
                lock (Owner.AppendLock(ref keySb))
                {
                    var status = Raw.Upsert(ref keySb, ref valueSb);
                    if (status.IsPending) Raw.CompletePending(wait: true);
                }
            }
        }

        public unsafe void Delete(ReadOnlySpan<byte> key)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                lock (Owner.AppendLock(ref keySb))
                {
                    var status = Raw.Delete(ref keySb);
                    if (status.IsPending) Raw.CompletePending(wait: true);
                }
            }
        }

        public void Dispose()
        {
            Raw.Dispose();
        }
    }
}
