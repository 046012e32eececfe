using System.Buffers;
using System.Buffers.Binary;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// A FASTER storage device that encrypts every 512-byte sector with AES-256-GCM under the store's data key: the
/// hybrid log (items spilled from memory) and, through <see cref="EncryptedDeviceFactory"/>, every checkpoint file.
/// Each segment file <c>name.N</c> holds the sectors' ciphertext at their own offsets (so FASTER's addressing is
/// unchanged) and a sidecar <c>name.N.gcm</c> holds 32 bytes per sector:
/// <code>
///   u8 1 (written) | 3 bytes 0 | 12-byte nonce | 16-byte tag      (associated data: u32 segment | u64 byte offset)
/// </code>
/// A rewrite of a sector (FASTER rewrites the last partial sector of a flush) draws a fresh nonce, so none repeats.
/// A sector that fails authentication is never returned: the read throws <see cref="InvalidDataException"/> naming
/// the file and offset. Sectors never written read as zeros.
/// </summary>
public sealed class EncryptedDevice : StorageDeviceBase
{
    public const uint Sector = 512;
    private const int MetaBytes = 32;
    public const string TagSuffix = ".gcm";

    private readonly StoreCipher _cipher;
    private readonly bool _deleteOnClose;
    private readonly object _open = new();
    private readonly Dictionary<int, (SafeFileHandle Data, SafeFileHandle Meta)> _segments = [];

    public EncryptedDevice(string filename, StoreCipher cipher, bool deleteOnClose = false)
        : base(filename, Sector, -1)
    {
        _cipher = cipher;
        _deleteOnClose = deleteOnClose;
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        if (destinationAddress % Sector != 0 || numBytesToWrite % Sector != 0)
            throw new ArgumentException($"Unaligned write to {FileName} at {destinationAddress} ({numBytesToWrite} bytes).");

        // FASTER owns the source buffer until the callback: encrypt and write on the thread pool.
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            uint error = 0;
            try
            {
                Write(sourceAddress, segmentId, destinationAddress, (int)numBytesToWrite);
            }
            catch (Exception)
            {
                // Any failure (I/O, a closed device) is reported to FASTER as a failed write; an exception escaping a
                // thread-pool callback would end the process.
                error = 1;
            }

            callback(error, error == 0 ? numBytesToWrite : 0, context);
        }, null);
    }

    /// <summary>
    /// Set by a caller that will not wait for the disk on this thread (<see cref="Storage.FasterStore"/>'s asynchronous
    /// and lock-releasing reads) around the FASTER call that may issue a read: the read then runs on
    /// <see cref="DeviceReaders"/>' threads instead of inside the call. Unset, a read runs on the calling thread.
    /// </summary>
    [ThreadStatic]
    internal static bool t_deferReads;

    private Exception? _deferredFailure;

    public override unsafe void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        if (t_deferReads)
        {
            DeviceReaders.Enqueue(new DeviceReaders.Request(this, segmentId, sourceAddress, destinationAddress, readLength, callback, context));
            return;
        }

        var destination = new Span<byte>((void*)destinationAddress, (int)readLength);
        Read(segmentId, sourceAddress, destination);
        callback(0, readLength, context);
    }

    /// <summary>A deferred read, on a reader thread. A failure cannot be thrown to the caller: it is kept for <see cref="TakeDeferredFailure"/>.</summary>
    internal unsafe void ReadDeferred(in DeviceReaders.Request r)
    {
        uint error = 0;
        var destination = new Span<byte>((void*)r.Destination, (int)r.Length);
        try
        {
            Read(r.Segment, r.Source, destination);
        }
        catch (Exception e)
        {
            destination.Clear();
            Volatile.Write(ref _deferredFailure, e);
            error = 1;
        }

        try
        {
            r.Callback(error, error == 0 ? r.Length : 0, r.Context);
        }
        catch (Exception e)
        {
            // FASTER's callback rethrows what it cannot hand to a waiter; on this thread it would end the process.
            Volatile.Write(ref _deferredFailure, e);
        }
    }

    /// <summary>The failure of a deferred read since the last call (a damaged sector), if any.</summary>
    internal Exception? TakeDeferredFailure() => _deferredFailure == null ? null : Interlocked.Exchange(ref _deferredFailure, null);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override void RemoveSegment(int segment)
    {
        lock (_open)
        {
            if (_segments.Remove(segment, out var handles))
            {
                handles.Data.Dispose();
                handles.Meta.Dispose();
            }
        }

        var path = GetSegmentFilename(FileName, segment);
        File.Delete(path);
        File.Delete(path + TagSuffix);
    }

    public override long GetFileSize(int segment)
    {
        var path = GetSegmentFilename(FileName, segment);
        return File.Exists(path) ? new FileInfo(path).Length : 0;
    }

    public override void Dispose()
    {
        lock (_open)
        {
            foreach (var (segment, handles) in _segments)
            {
                handles.Data.Dispose();
                handles.Meta.Dispose();
                if (_deleteOnClose)
                {
                    var path = GetSegmentFilename(FileName, segment);
                    File.Delete(path);
                    File.Delete(path + TagSuffix);
                }
            }

            _segments.Clear();
        }
    }

    private (SafeFileHandle Data, SafeFileHandle Meta) Handles(int segment)
    {
        lock (_open)
        {
            if (_segments.TryGetValue(segment, out var handles)) return handles;
            var path = GetSegmentFilename(FileName, segment);
            if (Path.GetDirectoryName(path) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
            handles = (Open(path), Open(path + TagSuffix));
            _segments[segment] = handles;
            return handles;
        }

        static SafeFileHandle Open(string path) => File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>
    /// Sectors sealed and written per step. A page flush is 4 MiB; sealing it whole needed a page-sized buffer
    /// (and its tags) per writing thread, arrays on the large-object heap that only a full collection frees, which
    /// held tens of MiB after a write load (docs/startup.md, "Memory"). 64 KiB stays below the large-object size.
    /// </summary>
    private const int ChunkBytes = 64 * 1024;

    private unsafe void Write(IntPtr source, int segment, ulong offset, int length)
    {
        var (data, meta) = Handles(segment);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(length, ChunkBytes));
        var tags = ArrayPool<byte>.Shared.Rent(Math.Min(length, ChunkBytes) / (int)Sector * MetaBytes);
        try
        {
            var sealer = RecordCipher.ForThread(_cipher);
            Span<byte> aad = stackalloc byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(aad, segment);
            for (var done = 0; done < length;)
            {
                var n = Math.Min(length - done, ChunkBytes);
                var at = offset + (ulong)done;
                new ReadOnlySpan<byte>((byte*)source + done, n).CopyTo(buffer);
                var sectors = n / (int)Sector;
                for (var i = 0; i < sectors; i++)
                {
                    var m = tags.AsSpan(i * MetaBytes, MetaBytes);
                    m[..4].Clear();
                    m[0] = 1;
                    BinaryPrimitives.WriteUInt64LittleEndian(aad[4..], at + (ulong)(i * Sector));
                    sealer.Seal(m.Slice(4, StoreCipher.NonceSize), buffer.AsSpan(i * (int)Sector, (int)Sector), m.Slice(16, StoreCipher.TagSize), aad);
                }

                RandomAccess.Write(data, buffer.AsSpan(0, n), (long)at);
                RandomAccess.Write(meta, tags.AsSpan(0, sectors * MetaBytes), (long)(at / Sector) * MetaBytes);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(tags);
        }
    }

    private void Read(int segment, ulong offset, Span<byte> destination)
    {
        if (offset % Sector != 0) throw new ArgumentException($"Unaligned read from {FileName} at {offset}.");
        if (destination.Length % Sector != 0)
        {
            // A length that ends inside a sector: authenticate the whole sector, return its prefix.
            var aligned = ArrayPool<byte>.Shared.Rent((destination.Length / (int)Sector + 1) * (int)Sector);
            try
            {
                var whole = aligned.AsSpan(0, (destination.Length / (int)Sector + 1) * (int)Sector);
                Read(segment, offset, whole);
                whole[..destination.Length].CopyTo(destination);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(aligned);
            }

            return;
        }

        var (data, meta) = Handles(segment);
        var got = ReadFully(data, destination, (long)offset);
        destination[got..].Clear();
        var sectors = destination.Length / (int)Sector;
        var tags = ArrayPool<byte>.Shared.Rent(sectors * MetaBytes);
        try
        {
            var metaSpan = tags.AsSpan(0, sectors * MetaBytes);
            metaSpan[ReadFully(meta, metaSpan, (long)(offset / Sector) * MetaBytes)..].Clear();
            var opener = RecordCipher.ForThread(_cipher);
            Span<byte> aad = stackalloc byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(aad, segment);
            for (var i = 0; i < sectors; i++)
            {
                var m = metaSpan.Slice(i * MetaBytes, MetaBytes);
                var sector = destination.Slice(i * (int)Sector, (int)Sector);
                if (m[0] == 0)
                {
                    sector.Clear(); // never written
                    continue;
                }

                var at = offset + (ulong)(i * Sector);
                BinaryPrimitives.WriteUInt64LittleEndian(aad[4..], at);
                if (!opener.TryOpen(m.Slice(4, StoreCipher.NonceSize), sector, m.Slice(16, StoreCipher.TagSize), aad))
                {
                    throw new InvalidDataException(
                        $"The store file {GetSegmentFilename(FileName, segment)} is corrupt: the sector at byte {at} fails authentication "
                        + "(tampered, damaged, or written with another key). It is not used.");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(tags);
        }
    }

    private static int ReadFully(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var n = RandomAccess.Read(handle, destination[done..], offset + done);
            if (n <= 0) break;
            done += n;
        }

        return done;
    }
}

/// <summary>
/// The threads that run deferred device reads (<see cref="EncryptedDevice.t_deferReads"/>). Dedicated threads rather
/// than the thread pool: a thread that waits for a read synchronously (a read under a stripe lock lets the lock go and
/// waits) must never wait behind the pool's queue. A reader's only work is the positioned read, the decryption and
/// FASTER's callback, which queues the record for the session; the waiting request resumes on the thread pool.
/// </summary>
internal static class DeviceReaders
{
    private static readonly System.Collections.Concurrent.BlockingCollection<Request> Queue = new(new System.Collections.Concurrent.ConcurrentQueue<Request>());
    private static int s_started;

    internal readonly record struct Request(
        EncryptedDevice Device, int Segment, ulong Source, IntPtr Destination, uint Length, DeviceIOCompletionCallback Callback, object Context);

    private static long s_reads;

    /// <summary>How many reads have been deferred to these threads since the process started.</summary>
    public static long Reads => Volatile.Read(ref s_reads);

    public static void Enqueue(in Request request)
    {
        if (Volatile.Read(ref s_started) == 0) Start();
        Interlocked.Increment(ref s_reads);
        Queue.Add(request);
    }

    private static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0) return;
        var count = Math.Clamp(Environment.ProcessorCount * 2, 4, 16);
        for (var i = 0; i < count; i++)
        {
            new Thread(Run) { IsBackground = true, Name = "store-reader-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Start();
        }
    }

    private static void Run()
    {
        foreach (var request in Queue.GetConsumingEnumerable()) request.Device.ReadDeferred(request);
    }
}

/// <summary>
/// Gives FASTER's checkpoint manager <see cref="EncryptedDevice"/>s, so index and log checkpoints (and their
/// metadata) are encrypted like the hybrid log. Paths are laid out as FASTER's local factory lays them out.
/// </summary>
public sealed class EncryptedDeviceFactory(StoreCipher cipher) : INamedDeviceFactory
{
    private string _baseName = "";

    public void Initialize(string baseName) => _baseName = baseName;

    public IDevice Get(FileDescriptor fileInfo) => new EncryptedDevice(Path.Combine(_baseName, fileInfo.directoryName, fileInfo.fileName), cipher);

    public IEnumerable<FileDescriptor> ListContents(string path)
    {
        var directory = new DirectoryInfo(Path.Combine(_baseName, path));
        if (!directory.Exists) yield break;
        foreach (var folder in directory.GetDirectories().OrderByDescending(f => f.LastWriteTimeUtc)) yield return new FileDescriptor(folder.Name, "");
        foreach (var file in directory.GetFiles().OrderByDescending(f => f.LastWriteTimeUtc)) yield return new FileDescriptor("", file.Name);
    }

    public void Delete(FileDescriptor fileInfo)
    {
        if (string.IsNullOrEmpty(fileInfo.fileName))
        {
            var directory = Path.Combine(_baseName, fileInfo.directoryName);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            return;
        }

        var path = Path.Combine(_baseName, fileInfo.directoryName, fileInfo.fileName + ".0");
        File.Delete(path);
        File.Delete(path + EncryptedDevice.TagSuffix);
    }
}
