using System.Buffers;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>Sees one record; returns false to stop before it (the record is then not consumed).</summary>
public delegate bool ChangeReadVisitor(in ChangeRecord record);

/// <summary>
/// Reads committed records back from a change-log segment while the log keeps appending (DynamoDB Streams read the
/// log this way; there is no second copy of the changes).
/// </summary>
public static class ChangeLogReader
{
    private const int ChunkBytes = 256 * 1024;

    /// <summary>
    /// Visits the records of segment <paramref name="path"/> from byte <paramref name="offset"/> (a frame boundary)
    /// in order, up to sequence number <paramref name="maxLsn"/> and the end of the intact data, until the visitor
    /// declines one. Returns the offset of the first record not consumed.
    /// </summary>
    public static long Read(StoreCipher cipher, string path, long offset, ulong maxLsn, ChangeReadVisitor visitor)
    {
        var reader = RecordCipher.ForThread(cipher);
        SafeHandleScope handle;
        try
        {
            handle = new SafeHandleScope(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        }
        catch (FileNotFoundException)
        {
            return offset;
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle.Handle);
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            try
            {
                var start = offset;
                var filled = 0;
                while (true)
                {
                    if (start + filled < length && filled < buffer.Length)
                    {
                        var n = RandomAccess.Read(handle.Handle, buffer.AsSpan(filled, (int)Math.Min(buffer.Length - filled, length - start - filled)), start + filled);
                        if (n <= 0) return start;
                        filled += n;
                    }

                    var pos = 0;
                    while (true)
                    {
                        var n = ChangeRecord.TryRead(buffer.AsSpan(pos, filled - pos), reader, out var record);
                        if (n < 0) return start + pos; // a frame still being written, or a torn tail
                        if (n == 0) break;
                        if (record.Lsn > maxLsn || !visitor(in record)) return start + pos;
                        pos += n;
                    }

                    if (pos == 0 && filled == buffer.Length)
                    {
                        // One frame larger than the buffer: grow it.
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, filled).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                        continue;
                    }

                    buffer.AsSpan(pos, filled - pos).CopyTo(buffer);
                    start += pos;
                    filled -= pos;
                    if (start + filled >= length) return start;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private readonly struct SafeHandleScope(Microsoft.Win32.SafeHandles.SafeFileHandle handle) : IDisposable
    {
        public Microsoft.Win32.SafeHandles.SafeFileHandle Handle { get; } = handle;

        public void Dispose() => Handle.Dispose();
    }
}
