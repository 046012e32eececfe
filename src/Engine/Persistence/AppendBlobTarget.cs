using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Serverless.Engine.Persistence;

/// <summary>
/// The append blobs of a segmented log: one per segment, named by <c>nameOf</c>, each a byte-for-byte copy of its
/// local segment. Every append names its position (<c>IfAppendPositionEqual</c>), so a retry after a lost reply, or
/// an append that overtook its predecessor, can never land twice or out of order.
/// <c>confirmOwner</c>, when given, is asked before bytes the blob already holds are taken for this append's: they
/// may be another instance's, which took the store over (issue 13); it throws when this instance no longer owns it.
/// </summary>
public sealed class AppendBlobTarget(BlobContainerClient container, Func<ulong, string> nameOf, Func<bool>? mayWrite = null, Func<CancellationToken, Task>? confirmOwner = null)
{
    /// <summary>What the appends cost (for <c>/admin/metrics</c>).</summary>
    public AppendStats Stats { get; } = new();

    /// <summary>The segment blob's length and block count (zeros when it does not exist yet).</summary>
    public async Task<(long Length, long Blocks)> StateAsync(ulong segment, CancellationToken cancellationToken)
    {
        try
        {
            Stats.LengthRead();
            var properties = (await container.GetAppendBlobClient(nameOf(segment)).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return (properties.ContentLength, properties.BlobCommittedBlockCount);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return (0, 0);
        }
    }

    /// <summary>
    /// Appends <paramref name="bytes"/> (at most <see cref="PipelinedAppender.MaxAppendBytes"/>) at <paramref name="offset"/>
    /// of the segment's blob, creating it at offset 0. Returns false when the blob was shorter than the offset (the
    /// append before this one had not landed yet): go again once it has. A blob that already holds these bytes (an earlier attempt
    /// whose reply was lost) counts as done. <paramref name="ahead"/> is the append just before this one: while it is
    /// still on its way, a refusal means this one overtook it, and false comes back without asking the blob's length
    /// (one request less; the retry after it asks, should the blob have been longer after all).
    /// </summary>
    public async Task<bool> AppendAsync(ulong segment, long offset, ReadOnlyMemory<byte> bytes, Task? ahead, CancellationToken cancellationToken)
    {
        if (mayWrite != null && !mayWrite()) throw new InvalidOperationException("This instance lost the store's lease: another instance may own it now.");
        var blob = container.GetAppendBlobClient(nameOf(segment));
        if (offset == 0)
        {
            Stats.Created();
            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            try
            {
                using var stream = new ReadOnlyMemoryStream(bytes);
                var start = Stopwatch.GetTimestamp();
                await blob.AppendBlockAsync(stream, new AppendBlobAppendBlockOptions
                {
                    Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = offset },
                }, cancellationToken).ConfigureAwait(false);
                Stats.Appended(bytes.Length, start);
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // The blob was not where this append expected it: shorter (a predecessor still in flight, which may
                // have landed by now: the length is exactly this offset then), or already past (an earlier attempt
                // whose reply was lost landed after all). The blob is always a prefix of the local log, so bytes it
                // already holds are these bytes: append only the rest.
                Stats.Refused();
                if (ahead is { IsCompleted: false }) return false;
                Stats.LengthRead();
                var length = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ContentLength;
                if (length <= offset) return false;
                if (confirmOwner != null) await confirmOwner(cancellationToken).ConfigureAwait(false);
                await ConfirmSameBytesAsync(blob, offset, bytes[..(int)Math.Min(bytes.Length, length - offset)], cancellationToken).ConfigureAwait(false);
                if (length >= offset + bytes.Length) return true;
                bytes = bytes[(int)(length - offset)..];
                offset = length;
            }
        }
    }

    /// <summary>
    /// The bytes the blob already holds past <paramref name="offset"/> are taken as this append's only if they are
    /// these bytes: an earlier owner, frozen past its lease, may have appended there before this instance did, and
    /// its bytes must not stand for a write this instance acknowledges. Asked only on the rare refused-and-longer path.
    /// </summary>
    private static async Task ConfirmSameBytesAsync(AppendBlobClient blob, long offset, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
        var held = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset, expected.Length) }, cancellationToken).ConfigureAwait(false)).Value.Content;
        if (!held.ToMemory().Span.SequenceEqual(expected.Span))
            throw new InvalidOperationException(
                $"Log blob '{blob.Name}' holds other bytes at offset {offset} than this instance's log: another instance wrote there, so this one no longer owns the store.");
    }

    /// <summary>A read-only stream over memory, for uploads without copying.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => _position = (int)value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = (int)(origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => memory.Length + offset,
        });

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
