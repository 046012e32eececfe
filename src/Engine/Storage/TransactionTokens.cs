using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>What a ClientRequestToken lookup found.</summary>
public enum TokenClaim
{
    /// <summary>Unknown (or expired) token: it is now reserved for this request, which must commit or release it.</summary>
    New,

    /// <summary>A committed transaction used the token with the same parameters: answer success, change nothing.</summary>
    Replay,

    /// <summary>The token was used with different parameters.</summary>
    Mismatch,

    /// <summary>A request with the token is still running.</summary>
    InProgress,
}

/// <summary>
/// The ClientRequestTokens of committed transactions, kept for <see cref="Lifetime"/> after their commit. A token
/// is recorded in its transaction's change-log record and, at each checkpoint, in <c>transaction-tokens.bin</c>
/// (every live token, so truncating the log loses none); start-up loads the file, then replay adds the tokens of
/// the records after the checkpoint.
/// </summary>
internal sealed class TransactionTokens
{
    /// <summary>How long a token stays idempotent after its transaction committed (AWS: 10 minutes).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public const string FileName = "transaction-tokens.bin";

    private const uint Magic = 0x314B5854; // "TXK1"
    private static readonly long LifetimeMicros = Lifetime.Ticks / 10;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _lastSweepMicros;

    public int Count => _entries.Count;

    public TokenClaim Claim(string token, byte[] fingerprint, long nowMicros)
    {
        SweepIfDue(nowMicros);
        var fresh = new Entry(fingerprint, nowMicros, reserved: true);
        while (true)
        {
            if (_entries.TryAdd(token, fresh)) return TokenClaim.New;
            if (!_entries.TryGetValue(token, out var existing)) continue;
            if (!existing.Reserved && nowMicros - existing.CommittedMicros > LifetimeMicros)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(token, existing));
                continue;
            }

            if (!existing.Fingerprint.AsSpan().SequenceEqual(fingerprint)) return TokenClaim.Mismatch;
            if (existing.Reserved || existing.Committed is not { IsCompleted: true } committed) return TokenClaim.InProgress;
            if (!committed.IsCompletedSuccessfully)
            {
                // Its commit failed, so it never happened: the token is free again.
                _entries.TryRemove(new KeyValuePair<string, Entry>(token, existing));
                continue;
            }

            return TokenClaim.Replay;
        }
    }

    /// <summary>Frees a token reserved by <see cref="Claim"/> whose transaction was cancelled or failed.</summary>
    public void Release(string token)
    {
        if (_entries.TryGetValue(token, out var e) && e.Reserved) _entries.TryRemove(new KeyValuePair<string, Entry>(token, e));
    }

    /// <summary>
    /// Marks a token as used by a committed transaction. Called before the transaction's record is appended, so a
    /// checkpoint that covers the record also saves the token.
    /// </summary>
    public Entry Record(string token, byte[] fingerprint, long nowMicros)
    {
        var entry = new Entry(fingerprint, nowMicros, reserved: false);
        _entries[token] = entry;
        return entry;
    }

    /// <summary>A token found in a replayed transaction record, or in the checkpoint's token file.</summary>
    public void Restore(string token, byte[] fingerprint, long committedMicros, long nowMicros)
    {
        if (nowMicros - committedMicros > LifetimeMicros) return;
        _entries[token] = new Entry(fingerprint, committedMicros, reserved: false) { Committed = Task.CompletedTask };
    }

    /// <summary>Writes every live committed token to <paramref name="path"/> (atomically: temp file, then rename).</summary>
    public void Save(string path, StoreCipher cipher, long nowMicros)
    {
        using var buffer = new PooledBufferWriter(4096);
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, Magic);
        var live = new List<(string Token, Entry Entry)>();
        foreach (var (token, e) in _entries)
            if (!e.Reserved && nowMicros - e.CommittedMicros <= LifetimeMicros) live.Add((token, e));
        BinaryPrimitives.WriteInt32LittleEndian(head[4..], live.Count);
        buffer.Write(head);
        foreach (var (token, e) in live)
        {
            var bytes = Encoding.UTF8.GetBytes(token);
            var span = buffer.GetSpan(10 + bytes.Length + 1 + e.Fingerprint.Length + 8);
            var o = VarInt.Write(span, (ulong)bytes.Length);
            bytes.CopyTo(span[o..]);
            o += bytes.Length;
            span[o++] = (byte)e.Fingerprint.Length;
            e.Fingerprint.CopyTo(span[o..]);
            o += e.Fingerprint.Length;
            BinaryPrimitives.WriteInt64LittleEndian(span[o..], e.CommittedMicros);
            buffer.Advance(o + 8);
        }

        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32.Compute(buffer.WrittenSpan));
        buffer.Write(crc);
        SealedFile.WriteAtomically(path, cipher, SealedKind.TransactionTokens, buffer.WrittenSpan);
    }

    /// <summary>Loads a token file written by <see cref="Save"/>; a missing file is empty, a damaged one is refused.</summary>
    public void Load(string path, StoreCipher cipher, long nowMicros)
    {
        if (!File.Exists(path)) return;
        var data = SealedFile.ReadFile(path, cipher, SealedKind.TransactionTokens).AsSpan();
        if (data.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic
            || Crc32.Compute(data[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(data[^4..]))
            throw new InvalidDataException($"The transaction token file {path} is damaged.");
        var count = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        var o = 8;
        for (var i = 0; i < count; i++)
        {
            o += VarInt.Read(data[o..], out var length);
            var token = Encoding.UTF8.GetString(data.Slice(o, (int)length));
            o += (int)length;
            int fpLength = data[o++];
            var fingerprint = data.Slice(o, fpLength).ToArray();
            o += fpLength;
            var committed = BinaryPrimitives.ReadInt64LittleEndian(data[o..]);
            o += 8;
            Restore(token, fingerprint, committed, nowMicros);
        }
    }

    private void SweepIfDue(long nowMicros)
    {
        var last = Interlocked.Read(ref _lastSweepMicros);
        if (nowMicros - last < 60_000_000 || Interlocked.CompareExchange(ref _lastSweepMicros, nowMicros, last) != last) return;
        foreach (var (token, e) in _entries)
            if (!e.Reserved && nowMicros - e.CommittedMicros > LifetimeMicros) _entries.TryRemove(new KeyValuePair<string, Entry>(token, e));
    }

    /// <summary>One token's state. <see cref="Committed"/> completes when its transaction's record is durable.</summary>
    internal sealed class Entry(byte[] fingerprint, long committedMicros, bool reserved)
    {
        public byte[] Fingerprint { get; } = fingerprint;

        public long CommittedMicros { get; } = committedMicros;

        public bool Reserved { get; } = reserved;

        public Task? Committed { get; set; }
    }
}
