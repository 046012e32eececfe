using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Kinesis;

/// <summary>One stored Kinesis record: its place in the shard, arrival time (ms since the epoch), partition key and data.</summary>
public readonly record struct KinesisRecord(ulong Counter, long ArrivalMs, string PartitionKey, byte[] Data, ulong ExplicitHashLow = 0);

/// <summary>Where the record after the last one read lies: a read hint that spares a reader the search.</summary>
public readonly record struct ShardReadHint(ulong SegmentFirst, long Offset);

/// <summary>
/// The records of one shard, append-only. On disk: segment files <c>{first counter:D20}.seg</c> in the shard's folder,
/// each a header and then frames, rolled past <see cref="KinesisOptions.SegmentBytes"/>; retention deletes whole
/// segments. Memory holds only one small entry per segment (first counter, first arrival time, length), so a year
/// of records costs disk, not memory; a seek by sequence number or time finds the segment by binary search and scans
/// it. An append is written to the operating system before it returns (it survives a kill of the process; with
/// <c>sync</c> it is fsynced too). In the in-memory mode the records are kept in a list. In the cloud the segments
/// are also copied to append blobs by a <see cref="Persistence.PipelinedAppender"/> (group commit, several appends in
/// flight, no lock held across them): a record becomes readable, and its writer is answered
/// (<see cref="WhenDurableAsync"/>), only once it is in blob storage. A record whose append failed stays in the local
/// segment and is shipped by the next round (its writer got ServiceUnavailable, which AWS also allows for a record
/// that was written), so the blob is always a prefix of the local segment.
/// <para>Format (little-endian), guarded by a golden test:</para>
/// <code>
///   segment header: "KDSSEG01"                                                                        (8 bytes)
///   frame: u32 n | 12-byte nonce | n - 28 bytes AES-256-GCM ciphertext | 16-byte tag
///     plaintext: u64 counter | i64 arrival ms | u16 partition-key length | partition key (UTF-8) | data
///     associated data: "KDS1" | u32 n | u64 segment's first counter
/// </code>
/// A torn frame at the end of the last segment (a crash during its write, never acknowledged) is cut off at open.
/// </summary>
public sealed class ShardLog : IDisposable, Persistence.IAppendSource
{
    public const int MaxFrameBytes = 4 + 12 + 18 + 1024 + 1024 * 1024 + 16;
    private const int HeaderBytes = 8;
    private const int FrameOverhead = 4 + 12 + 16;
    private const int PlainHeader = 8 + 8 + 2;
    private static readonly byte[] Magic = "KDSSEG01"u8.ToArray();
    private static readonly byte[] AssociatedMagic = "KDS1"u8.ToArray();

    private readonly string? _directory;
    private readonly StoreCipher _cipher;
    private readonly RecordCipher? _sealer;
    private readonly long _segmentBytes;
    private readonly bool _sync;
    private readonly object _lock = new();
    private readonly List<Segment> _segments = [];
    private readonly List<KinesisRecord>? _memory;
    private readonly Persistence.BlobFolderMirror? _mirror;
    private Persistence.PipelinedAppender? _appender;
    private Persistence.SegmentFileReader? _reader;
    private SafeFileHandle? _open;
    private ulong _last; // readable (in blob storage when mirrored)
    private ulong _written; // appended locally
    private ulong _trim = 1;
    private bool _closed;

    private ShardLog(string? directory, StoreCipher cipher, long segmentBytes, bool sync, Persistence.BlobFolderMirror? mirror = null)
    {
        _directory = directory;
        _mirror = mirror;
        _cipher = cipher;
        _segmentBytes = segmentBytes;
        _sync = sync;
        if (directory == null) _memory = [];
        else _sealer = new RecordCipher(cipher);
    }

    /// <summary>A shard kept in memory (the engine's in-memory mode).</summary>
    public static ShardLog InMemory(StoreCipher cipher) => new(null, cipher, long.MaxValue, false);

    /// <summary>Opens (or creates) the shard in <paramref name="directory"/>, cutting a torn tail off its last segment.</summary>
    /// <param name="mirror">Blob storage to append every frame to before the append returns (the cloud backend), or null.</param>
    public static ShardLog Open(string directory, StoreCipher cipher, long segmentBytes, bool sync, Persistence.BlobFolderMirror? mirror = null)
    {
        Directory.CreateDirectory(directory);
        var log = new ShardLog(directory, cipher, segmentBytes, sync, mirror);
        log.Recover();
        if (mirror != null)
        {
            // What is local was readable before (or came from the blobs); the blob's length tells what is still to ship.
            var start = log._segments.Count > 0
                ? new Persistence.AppendPosition(log._segments[^1].First, log._segments[^1].Length, log._last)
                : new Persistence.AppendPosition(0, 0, 0);
            log._reader = new Persistence.SegmentFileReader(log.SegmentPath);
            log._appender = new Persistence.PipelinedAppender(log, mirror.SegmentTarget(log.SegmentPath), start, mirror.AppendsInFlight,
                static cause => Protocol.DynamoErrors.ServiceUnavailable("Blob storage is unreachable: the Kinesis record is not durable, so it is not acknowledged. " + cause));
        }

        return log;
    }

    /// <summary>Place of the last record appended (0 while there is none).</summary>
    public ulong LastCounter => Volatile.Read(ref _last);

    /// <summary>Place of the oldest record still retained (everything before it is trimmed).</summary>
    public ulong TrimCounter => Volatile.Read(ref _trim);

    /// <summary>Arrival time of the last record, or null when the shard is empty.</summary>
    public long? LastArrivalMs { get; private set; }

    /// <summary>True once a split or merge closed the shard: it keeps its records but takes no more.</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>
    /// Closes the shard (a split or merge made it a parent): every later <see cref="Append"/> returns 0, so its writer
    /// routes the record again, to a child. Returns the place of the shard's last record (its ending sequence number).
    /// </summary>
    public ulong Close()
    {
        lock (_lock)
        {
            Volatile.Write(ref _closed, true);
            return _written;
        }
    }

    /// <summary>
    /// Appends one record and returns its place; the bytes are with the operating system when this returns. Returns 0
    /// (and writes nothing) when the shard is closed. When the shard is mirrored to blob storage, await
    /// <see cref="WhenDurableAsync"/> before acknowledging it.
    /// </summary>
    public ulong Append(string partitionKey, ReadOnlySpan<byte> data, long arrivalMs)
    {
        var keyBytes = System.Text.Encoding.UTF8.GetByteCount(partitionKey);
        lock (_lock)
        {
            if (_closed) return 0;
            var counter = _written + 1;
            if (_memory != null)
            {
                _memory.Add(new KinesisRecord(counter, arrivalMs, partitionKey, data.ToArray()));
                Commit(counter, arrivalMs);
                return counter;
            }

            var plainLength = PlainHeader + keyBytes + data.Length;
            var frameLength = FrameOverhead + plainLength;
            if (_open == null || _segments[^1].Length + frameLength > _segmentBytes && _segments[^1].Length > HeaderBytes
                || _mirror != null && _segments[^1].Frames >= Persistence.BlobFolderMirror.MaxFramesPerSegment) Roll(counter, arrivalMs);
            var segment = _segments[^1];
            var frame = ArrayPool<byte>.Shared.Rent(frameLength);
            try
            {
                EncodeFrame(_sealer!, frame.AsSpan(0, frameLength), segment.First, counter, arrivalMs, partitionKey, keyBytes, data);
                RandomAccess.Write(_open!, frame.AsSpan(0, frameLength), segment.Length);
                if (_sync) RandomAccess.FlushToDisk(_open!);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }

            segment.Length += frameLength;
            segment.Frames++;
            Commit(counter, arrivalMs);
            return counter;
        }
    }

    /// <summary>Completes once the record <paramref name="counter"/> is durable (in blob storage when mirrored); faults with ServiceUnavailable when it could not be made so.</summary>
    public Task WhenDurableAsync(ulong counter) => _appender == null ? Task.CompletedTask : _appender.WhenDurableAsync(counter);

    private void Commit(ulong counter, long arrivalMs)
    {
        LastArrivalMs = arrivalMs;
        _written = counter;
        if (_appender != null) return; // readable once shipped (OnDurable)
        if (_segments.Count > 0) _segments[^1].Visible = _segments[^1].Length;
        Volatile.Write(ref _last, counter);
    }

    Persistence.AppendPosition Persistence.IAppendSource.Committed
    {
        get
        {
            lock (_lock)
                return _segments.Count == 0 ? new Persistence.AppendPosition(0, 0, 0) : new Persistence.AppendPosition(_segments[^1].First, _segments[^1].Length, _written);
        }
    }

    bool Persistence.IAppendSource.TryGetNext(ulong segment, out long length, out ulong next)
    {
        length = 0;
        next = 0;
        lock (_lock)
        {
            foreach (var s in _segments)
            {
                if (s.First == segment) length = s.Length;
                else if (s.First > segment)
                {
                    next = s.First;
                    return true;
                }
            }
        }

        return false;
    }

    ValueTask Persistence.IAppendSource.ReadAsync(ulong segment, long offset, Memory<byte> destination) => _reader!.ReadAsync(segment, offset, destination);

    void Persistence.IAppendSource.OnDurable(Persistence.AppendPosition position)
    {
        lock (_lock)
        {
            foreach (var s in _segments)
            {
                if (s.First < position.Segment) s.Visible = s.Length;
                else if (s.First == position.Segment) s.Visible = Math.Max(s.Visible, position.Offset);
            }

            if (position.LastSequence > _last) Volatile.Write(ref _last, position.LastSequence);
        }
    }

    void Persistence.IAppendSource.RequestRoll()
    {
        // Segments roll by frame count before their blob can reach the block limit (MaxFramesPerSegment).
    }

    /// <summary>Writes one frame into <paramref name="frame"/> (exactly its length). Shared with the golden test.</summary>
    internal static void EncodeFrame(RecordCipher sealer, Span<byte> frame, ulong segmentFirst, ulong counter, long arrivalMs, string partitionKey, int keyBytes, ReadOnlySpan<byte> data)
    {
        var n = frame.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)n);
        var plain = frame.Slice(16, frame.Length - FrameOverhead);
        BinaryPrimitives.WriteUInt64LittleEndian(plain, counter);
        BinaryPrimitives.WriteInt64LittleEndian(plain[8..], arrivalMs);
        BinaryPrimitives.WriteUInt16LittleEndian(plain[16..], (ushort)keyBytes);
        System.Text.Encoding.UTF8.GetBytes(partitionKey, plain.Slice(PlainHeader, keyBytes));
        data.CopyTo(plain[(PlainHeader + keyBytes)..]);
        Span<byte> associated = stackalloc byte[16];
        Associated(associated, (uint)n, segmentFirst);
        sealer.Seal(frame.Slice(4, 12), plain, frame[^16..], associated);
    }

    private static void Associated(Span<byte> associated, uint n, ulong segmentFirst)
    {
        AssociatedMagic.CopyTo(associated);
        BinaryPrimitives.WriteUInt32LittleEndian(associated[4..], n);
        BinaryPrimitives.WriteUInt64LittleEndian(associated[8..], segmentFirst);
    }

    private void Roll(ulong first, long arrivalMs)
    {
        var path = SegmentPath(first);
        if (_open != null && _segments.Count > 0)
        {
            RandomAccess.FlushToDisk(_open);
            _open.Dispose();
        }

        _open = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.Write(_open, Magic, 0);
        _segments.Add(new Segment(first, arrivalMs, path) { Length = HeaderBytes, Visible = HeaderBytes });
    }

    private string SegmentPath(ulong first) => Path.Combine(_directory!, first.ToString("D20", CultureInfo.InvariantCulture) + ".seg");

    /// <summary>
    /// Appends to <paramref name="output"/> the records from place <paramref name="from"/> on (skipping trimmed ones),
    /// at most <paramref name="maxRecords"/> and, past the first, <paramref name="maxBytes"/> of data. Returns the
    /// place after the last one read; <paramref name="hint"/> goes in with where <paramref name="from"/> may lie and
    /// comes out with where the next record lies.
    /// </summary>
    public ulong Read(ulong from, ref ShardReadHint hint, int maxRecords, long maxBytes, List<KinesisRecord> output)
    {
        var next = Math.Max(from, TrimCounter);
        if (next > LastCounter || maxRecords <= 0) return next;
        if (_memory != null)
        {
            lock (_lock)
            {
                var index = _memory.BinarySearch(new KinesisRecord(next, 0, "", []), CounterOrder.Instance);
                if (index < 0) index = ~index;
                long bytes = 0;
                for (; index < _memory.Count && maxRecords > 0; index++, maxRecords--)
                {
                    var r = _memory[index];
                    if (bytes > 0 && bytes + r.Data.Length > maxBytes) break;
                    output.Add(r);
                    bytes += r.Data.Length;
                    next = r.Counter + 1;
                }

                return next;
            }
        }

        long total = 0;
        while (maxRecords > 0 && next <= LastCounter)
        {
            Segment segment;
            int position;
            long end;
            lock (_lock)
            {
                position = FindSegment(next);
                if (position < 0) return next;
                segment = _segments[position];
                end = segment.Visible;
            }

            var offset = hint.SegmentFirst == segment.First && hint.Offset >= HeaderBytes ? hint.Offset : HeaderBytes;
            var stopped = false;
            offset = Scan(segment, offset, end, (in FrameView f) =>
            {
                if (f.Counter < next) return true;
                if (maxRecords <= 0 || total > 0 && total + f.DataLength > maxBytes)
                {
                    stopped = true;
                    return false;
                }

                var record = f.ToRecord();
                output.Add(record);
                total += record.Data.Length;
                maxRecords--;
                next = f.Counter + 1;
                return true;
            });
            hint = new ShardReadHint(segment.First, offset);
            if (stopped) break;
            lock (_lock)
            {
                // The segment was read to its end: go on in the next one, if any.
                // (Not while frames of this one are still on their way to blob storage: the next one's would wait behind them.)
                if (position + 1 >= _segments.Count || _segments[position] != segment || segment.Visible < segment.Length) break;
                var following = _segments[position + 1];
                next = Math.Max(next, following.First);
                hint = new ShardReadHint(following.First, HeaderBytes);
            }
        }

        return next;
    }

    /// <summary>Place of the first retained record that arrived at or after <paramref name="timestampMs"/> (past the last when none did).</summary>
    public ulong FindByTime(long timestampMs)
    {
        if (_memory != null)
        {
            lock (_lock)
            {
                foreach (var r in _memory)
                    if (r.ArrivalMs >= timestampMs && r.Counter >= TrimCounter) return r.Counter;
                return LastCounter + 1;
            }
        }

        Segment? candidate = null;
        long end = 0;
        lock (_lock)
        {
            // The last segment whose first record arrived before the time may hold it; otherwise the first one does.
            for (var i = _segments.Count - 1; i >= 0; i--)
            {
                if (_segments[i].FirstArrivalMs < timestampMs || i == 0)
                {
                    candidate = _segments[i];
                    end = candidate.Visible;
                    break;
                }
            }
        }

        if (candidate == null) return LastCounter + 1;
        ulong found = 0;
        var trim = TrimCounter;
        Scan(candidate, HeaderBytes, end, (in FrameView f) =>
        {
            if (f.ArrivalMs < timestampMs || f.Counter < trim) return true;
            found = f.Counter;
            return false;
        });
        if (found != 0) return found;
        lock (_lock)
        {
            var i = _segments.IndexOf(candidate);
            return i >= 0 && i + 1 < _segments.Count ? Math.Max(trim, Math.Min(LastCounter + 1, _segments[i + 1].First)) : Math.Max(trim, LastCounter + 1);
        }
    }

    /// <summary>Place of the first record still present in storage (the trim horizon).</summary>
    public ulong FirstRetained => Math.Min(TrimCounter, LastCounter + 1);

    /// <summary>
    /// Drops every record that arrived before <paramref name="cutoffMs"/>: deletes the segments that hold only such
    /// records and moves the trim horizon past the rest. Returns how many records became unreadable.
    /// </summary>
    public long Trim(long cutoffMs)
    {
        var before = TrimCounter;
        if (_memory != null)
        {
            lock (_lock)
            {
                var count = 0;
                while (count < _memory.Count && _memory[count].ArrivalMs < cutoffMs) count++;
                if (count > 0)
                {
                    Volatile.Write(ref _trim, _memory[count - 1].Counter + 1);
                    _memory.RemoveRange(0, count);
                }

                return (long)(TrimCounter - before);
            }
        }

        var doomed = new List<Segment>();
        Segment? oldest;
        long end;
        lock (_lock)
        {
            // A segment is wholly expired when the next one began before the cutoff (arrival times never go back).
            while (_segments.Count > 1 && _segments[1].FirstArrivalMs < cutoffMs)
            {
                doomed.Add(_segments[0]);
                _segments.RemoveAt(0);
            }

            oldest = _segments.Count > 0 ? _segments[0] : null;
            end = oldest?.Visible ?? 0;
            if (doomed.Count > 0) Volatile.Write(ref _trim, Math.Max(_trim, _segments[0].First));
        }

        foreach (var segment in doomed)
        {
            File.Delete(segment.Path);
            _mirror?.Delete(segment.Path);
        }

        if (oldest != null)
        {
            var horizon = TrimCounter;
            var sawAny = false;
            Scan(oldest, HeaderBytes, end, (in FrameView f) =>
            {
                sawAny = true;
                if (f.ArrivalMs < cutoffMs)
                {
                    horizon = Math.Max(horizon, f.Counter + 1);
                    return true;
                }

                return false;
            });
            if (sawAny) lock (_lock) Volatile.Write(ref _trim, Math.Max(_trim, horizon));
        }

        return (long)(TrimCounter - before);
    }

    /// <summary>Bytes of the shard's segment files (what its records cost on disk).</summary>
    public long StoredBytes
    {
        get
        {
            lock (_lock)
            {
                long total = 0;
                foreach (var s in _segments) total += s.Length;
                if (_memory != null)
                    foreach (var r in _memory) total += r.Data.Length;
                return total;
            }
        }
    }

    public int SegmentCount
    {
        get
        {
            lock (_lock) return _segments.Count;
        }
    }

    public void Dispose()
    {
        // Ship what is appended first (briefly: nothing unshipped was acknowledged).
        _appender?.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        _reader?.Dispose();
        lock (_lock)
        {
            if (_open != null)
            {
                RandomAccess.FlushToDisk(_open);
                _open.Dispose();
                _open = null;
            }

            _sealer?.Dispose();
        }
    }

    private int FindSegment(ulong counter)
    {
        if (_segments.Count == 0) return -1;
        var lo = 0;
        var hi = _segments.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_segments[mid].First <= counter) lo = mid;
            else hi = mid - 1;
        }

        return lo;
    }

    private void Recover()
    {
        var files = Directory.GetFiles(_directory!, "*.seg");
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var path in files)
        {
            if (!ulong.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var first)) continue;
            var length = new FileInfo(path).Length;
            if (length < HeaderBytes)
            {
                File.Delete(path); // created but never written: a crash during a roll
                continue;
            }

            _segments.Add(new Segment(first, 0, path) { Length = length, Visible = length });
        }

        for (var i = 0; i < _segments.Count; i++)
        {
            var segment = _segments[i];
            var last = i == _segments.Count - 1;
            var firstArrival = long.MinValue;
            ulong lastCounter = 0;
            long lastArrival = 0;
            var frames = 0;
            var intact = Scan(segment, HeaderBytes, segment.Length, (in FrameView f) =>
            {
                if (firstArrival == long.MinValue) firstArrival = f.ArrivalMs;
                frames++;
                lastCounter = f.Counter;
                lastArrival = f.ArrivalMs;
                return last; // only the last segment is read to its end
            }, tolerateTornTail: last);
            segment.FirstArrivalMs = firstArrival == long.MinValue ? 0 : firstArrival;
            if (!last) continue;
            segment.Frames = frames;
            if (intact < segment.Length)
            {
                using var handle = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.ReadWrite);
                RandomAccess.SetLength(handle, intact);
                segment.Length = intact;
                segment.Visible = intact;
            }

            _last = _written = lastCounter != 0 ? lastCounter : segment.First - 1;
            if (lastCounter != 0) LastArrivalMs = lastArrival;
            _open = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }

        _trim = _segments.Count > 0 ? _segments[0].First : 1;
    }

    private delegate bool FrameVisitor(in FrameView frame);

    /// <summary>A decrypted frame, valid only during the visit.</summary>
    private readonly ref struct FrameView(ulong counter, long arrivalMs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        public ulong Counter { get; } = counter;

        public long ArrivalMs { get; } = arrivalMs;

        public int DataLength => _data.Length;

        private readonly ReadOnlySpan<byte> _key = key;
        private readonly ReadOnlySpan<byte> _data = data;

        public KinesisRecord ToRecord() => new(Counter, ArrivalMs, System.Text.Encoding.UTF8.GetString(_key), _data.ToArray());
    }

    /// <summary>
    /// Visits the frames of <paramref name="segment"/> from <paramref name="offset"/> to <paramref name="end"/> until
    /// the visitor declines one; returns the offset of the first frame not consumed. A damaged frame is corruption,
    /// except at the end of the last segment with <paramref name="tolerateTornTail"/>, where it ends the scan.
    /// </summary>
    private long Scan(Segment segment, long offset, long end, FrameVisitor visitor, bool tolerateTornTail = false)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return offset; // trimmed meanwhile
        }

        var reader = RecordCipher.ForThread(_cipher);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(2 * MaxFrameBytes, (int)Math.Max(4096, Math.Min(end - offset, int.MaxValue))));
        try
        {
            using (handle)
            {
                Span<byte> associated = stackalloc byte[16];
                while (offset + 4 <= end)
                {
                    var want = (int)Math.Min(buffer.Length, end - offset);
                    var got = RandomAccess.Read(handle, buffer.AsSpan(0, want), offset);
                    if (got < 4) break;
                    var at = 0;
                    while (at + 4 <= got)
                    {
                        var n = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at));
                        if (n < FrameOverhead - 4 + PlainHeader || n > MaxFrameBytes || offset + at + 4 + n > end)
                        {
                            // A torn tail is a last frame cut short, or zeros where a frame was to go; anything else is damage.
                            if (tolerateTornTail && (n == 0 || offset + at + 4 + n > end)) return offset + at;
                            throw Corrupt(segment, offset + at);
                        }

                        if (at + 4 + n > got) break; // the frame continues past this read: read again from it
                        var frame = buffer.AsSpan(at, 4 + n);
                        var plain = frame.Slice(16, n - 28);
                        Associated(associated, (uint)n, segment.First);
                        if (!reader.TryOpen(frame.Slice(4, 12), plain, frame[^16..], associated))
                        {
                            if (tolerateTornTail && offset + at + 4 + n == end) return offset + at; // the last frame, half written
                            throw Corrupt(segment, offset + at);
                        }

                        var keyLength = BinaryPrimitives.ReadUInt16LittleEndian(plain[16..]);
                        var view = new FrameView(
                            BinaryPrimitives.ReadUInt64LittleEndian(plain),
                            BinaryPrimitives.ReadInt64LittleEndian(plain[8..]),
                            plain.Slice(PlainHeader, keyLength),
                            plain[(PlainHeader + keyLength)..]);
                        if (!visitor(in view)) return offset + at;
                        at += 4 + n;
                    }

                    if (at == 0)
                    {
                        if (tolerateTornTail) return offset;
                        throw Corrupt(segment, offset);
                    }

                    offset += at;
                }

                return offset;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static InvalidDataException Corrupt(Segment segment, long offset) =>
        new($"Kinesis segment {segment.Path} is damaged at byte {offset}: a frame fails its length or authentication check.");

    private sealed class Segment(ulong first, long firstArrivalMs, string path)
    {
        public ulong First { get; } = first;

        public long FirstArrivalMs { get; set; } = firstArrivalMs;

        public string Path { get; } = path;

        public long Length { get; set; }

        /// <summary>Where the readable frames end: <see cref="Length"/>, or less while the last frames are on their way to blob storage.</summary>
        public long Visible { get; set; }

        public int Frames { get; set; }
    }

    private sealed class CounterOrder : IComparer<KinesisRecord>
    {
        public static readonly CounterOrder Instance = new();

        public int Compare(KinesisRecord x, KinesisRecord y) => x.Counter.CompareTo(y.Counter);
    }
}
