using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage.Index;

/// <summary>
/// An immutable sorted run of one ordered index on disk, written by a checkpoint or a compaction. Layout, guarded
/// by a golden test (<c>PersistedIndexTests.RunFile_WritesGoldenBytes_AndRefusesDamage</c>):
/// <code>
///   header  "DDBRUN01" | 8-byte random salt                                                   (16 bytes, clear)
///   blocks  AES-256-GCM ciphertext | 16-byte tag; nonce salt | u32 block (LE); associated data header | u32 block
///           plaintext: u16 count | count × (varint shared | varint suffixLength | u8 flags (1 = tombstone) | suffix)
///                      | u32 crc32 of the preceding plaintext                               (about 8 KiB each)
///   index   sealed like a block numbered 0xFFFFFFFF; plaintext:
///           u32 blocks | blocks × (u64 offset | u32 length | varint firstKeyLength | first key)
///           | u64 entries | u64 tombstones | u32 bloomWords | u8 bloomHashes | bloomWords × u64 | u32 crc32
///   footer  u64 index offset | u32 index length | u32 crc32 of header and these 12 bytes     (16 bytes, clear)
/// </code>
/// All integers little-endian. The block index and the bloom filter (10 bits a key) stay in memory; blocks are read
/// on demand with positioned reads through the <see cref="BlockCache"/>.
/// </summary>
public sealed class IndexRun : IDisposable
{
    internal static readonly byte[] Magic = "DDBRUN01"u8.ToArray();
    internal const int HeaderSize = 16;
    internal const int FooterSize = 16;
    internal const uint IndexBlockNumber = 0xFFFF_FFFF;

    private static long s_nextId;

    private readonly SafeFileHandle _file;
    private readonly StoreCipher _cipher;
    private readonly BlockCache _cache;
    private readonly byte[] _header;
    private readonly long[] _offsets;
    private readonly int[] _lengths;
    private readonly byte[][] _firstKeys;
    private readonly ulong[] _bloom;
    private readonly int _bloomHashes;
    private int _disposed;

    private IndexRun(string path, SafeFileHandle file, StoreCipher cipher, BlockCache cache, byte[] header,
        long[] offsets, int[] lengths, byte[][] firstKeys, ulong[] bloom, int bloomHashes, long entries, long tombstones, long fileBytes)
    {
        Path = path;
        _file = file;
        _cipher = cipher;
        _cache = cache;
        _header = header;
        _offsets = offsets;
        _lengths = lengths;
        _firstKeys = firstKeys;
        _bloom = bloom;
        _bloomHashes = bloomHashes;
        Entries = entries;
        Tombstones = tombstones;
        FileBytes = fileBytes;
    }

    /// <summary>Identifies the run's blocks in the cache (unique in this process).</summary>
    internal long Id { get; } = Interlocked.Increment(ref s_nextId);

    public string Path { get; }

    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>Entries, tombstones included.</summary>
    public long Entries { get; }

    public long Tombstones { get; }

    public long FileBytes { get; }

    internal int Blocks => _offsets.Length;

    /// <summary>Memory the run holds outside the cache: its block index and bloom filter.</summary>
    public long ResidentBytes
    {
        get
        {
            long bytes = _bloom.Length * 8L + _offsets.Length * 12L;
            foreach (var k in _firstKeys) bytes += k.Length + 24;
            return bytes;
        }
    }

    /// <summary>Opens a run, reading only its footer, block index and bloom filter.</summary>
    public static IndexRun Open(string path, StoreCipher cipher, BlockCache cache)
    {
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        try
        {
            var length = RandomAccess.GetLength(file);
            if (length < HeaderSize + FooterSize) throw Corrupt(path, "it is too short");
            var header = new byte[HeaderSize];
            RandomAccess.Read(file, header, 0);
            if (!header.AsSpan(0, 8).SequenceEqual(Magic)) throw Corrupt(path, "it does not start with DDBRUN01");
            Span<byte> footer = stackalloc byte[FooterSize];
            RandomAccess.Read(file, footer, length - FooterSize);
            var crc = Crc32.Append(Crc32.Compute(header), footer[..12]);
            if (crc != BinaryPrimitives.ReadUInt32LittleEndian(footer[12..])) throw Corrupt(path, "its footer fails its CRC");
            var indexOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(footer);
            var indexLength = BinaryPrimitives.ReadInt32LittleEndian(footer[8..]);
            if (indexOffset < HeaderSize || indexOffset + indexLength > length - FooterSize || indexLength < StoreCipher.TagSize + 4)
                throw Corrupt(path, "its footer points outside it");
            var sealedIndex = new byte[indexLength];
            RandomAccess.Read(file, sealedIndex, indexOffset);
            var index = Unseal(cipher, header, IndexBlockNumber, sealedIndex, path);
            var body = index.AsSpan(0, index.Length - 4);
            if (Crc32.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(index.AsSpan(index.Length - 4))) throw Corrupt(path, "its index fails its CRC");
            var pos = 0;
            var blocks = BinaryPrimitives.ReadInt32LittleEndian(body);
            pos += 4;
            var offsets = new long[blocks];
            var lengths = new int[blocks];
            var firstKeys = new byte[blocks][];
            for (var b = 0; b < blocks; b++)
            {
                offsets[b] = (long)BinaryPrimitives.ReadUInt64LittleEndian(body[pos..]);
                lengths[b] = BinaryPrimitives.ReadInt32LittleEndian(body[(pos + 8)..]);
                pos += 12;
                var keyLength = (int)RunVarint.Read(body, ref pos);
                firstKeys[b] = body.Slice(pos, keyLength).ToArray();
                pos += keyLength;
            }

            var entries = (long)BinaryPrimitives.ReadUInt64LittleEndian(body[pos..]);
            var tombstones = (long)BinaryPrimitives.ReadUInt64LittleEndian(body[(pos + 8)..]);
            var words = BinaryPrimitives.ReadInt32LittleEndian(body[(pos + 16)..]);
            var hashes = body[pos + 20];
            pos += 21;
            var bloom = new ulong[words];
            for (var w = 0; w < words; w++, pos += 8) bloom[w] = BinaryPrimitives.ReadUInt64LittleEndian(body[pos..]);
            if (pos != body.Length) throw Corrupt(path, "its index has trailing bytes");
            return new IndexRun(path, file, cipher, cache, header, offsets, lengths, firstKeys, bloom, hashes, entries, tombstones, length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>This run's state of <paramref name="key"/>.</summary>
    internal KeyState Find(ReadOnlySpan<byte> key)
    {
        if (!MayContain(key)) return KeyState.Absent;
        var b = BlockFor(key);
        if (b < 0) return KeyState.Absent;
        var block = Block(b);
        var i = block.Search(key);
        return i < 0 ? KeyState.Absent : block.IsDead(i) ? KeyState.Tombstone : KeyState.Live;
    }

    internal bool MayContain(ReadOnlySpan<byte> key)
    {
        if (_bloom.Length == 0) return false;
        var h = RunBloom.Hash(key);
        var h1 = (uint)h;
        var h2 = (uint)(h >> 32) | 1;
        var bits = (ulong)_bloom.Length * 64;
        for (var i = 0; i < _bloomHashes; i++)
        {
            var bit = (h1 + (ulong)i * h2) % bits;
            if ((_bloom[bit >> 6] & (1UL << (int)(bit & 63))) == 0) return false;
        }

        return true;
    }

    /// <summary>The last block whose first key is &lt;= key; -1 when the key sorts before the whole run.</summary>
    internal int BlockFor(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = _firstKeys.Length - 1, result = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_firstKeys[mid].AsSpan().SequenceCompareTo(key) <= 0)
            {
                result = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return result;
    }

    internal RunBlock Block(int b) => _cache.Get(Id, b, Load);

    private RunBlock Load(int b)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var sealedBlock = new byte[_lengths[b]];
        var read = RandomAccess.Read(_file, sealedBlock, _offsets[b]);
        if (read != sealedBlock.Length) throw Corrupt(Path, $"block {b} is cut short");
        var plain = Unseal(_cipher, _header, (uint)b, sealedBlock, Path);
        return DecodeBlock(plain, Path, b);
    }

    internal static RunBlock DecodeBlock(ReadOnlySpan<byte> plain, string path, int b)
    {
        if (plain.Length < 6 || Crc32.Compute(plain[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(plain[^4..]))
            throw Corrupt(path, $"block {b} fails its CRC");
        var count = BinaryPrimitives.ReadUInt16LittleEndian(plain);
        var pos = 2;
        var offsets = new int[count + 1];
        bool[]? dead = null;

        // Two passes: sizes first, so the keys go into one array.
        var total = 0;
        var p = pos;
        var previous = 0;
        for (var i = 0; i < count; i++)
        {
            var shared = (int)RunVarint.Read(plain, ref p);
            var suffix = (int)RunVarint.Read(plain, ref p);
            if (shared > previous) throw Corrupt(path, $"block {b} is malformed");
            p += 1 + suffix;
            previous = shared + suffix;
            total += previous;
        }

        var data = new byte[total];
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            var shared = (int)RunVarint.Read(plain, ref pos);
            var suffix = (int)RunVarint.Read(plain, ref pos);
            var flags = plain[pos++];
            offsets[i] = at;
            if (shared > 0) data.AsSpan(offsets[i - 1], shared).CopyTo(data.AsSpan(at));
            plain.Slice(pos, suffix).CopyTo(data.AsSpan(at + shared));
            pos += suffix;
            at += shared + suffix;
            if ((flags & 1) != 0) (dead ??= new bool[count])[i] = true;
        }

        offsets[count] = at;
        return new RunBlock(data, offsets, dead);
    }

    [ThreadStatic]
    private static AesGcm? t_gcm;

    [ThreadStatic]
    private static StoreCipher? t_gcmCipher;

    internal static AesGcm Gcm(StoreCipher cipher)
    {
        if (t_gcm == null || !ReferenceEquals(t_gcmCipher, cipher))
        {
            t_gcm?.Dispose();
            t_gcm = cipher.NewAesGcm();
            t_gcmCipher = cipher;
        }

        return t_gcm;
    }

    internal static void Nonce(ReadOnlySpan<byte> header, uint block, Span<byte> nonce, Span<byte> aad)
    {
        header[8..16].CopyTo(nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], block);
        header.CopyTo(aad);
        BinaryPrimitives.WriteUInt32LittleEndian(aad[HeaderSize..], block);
    }

    internal static byte[] Unseal(StoreCipher cipher, ReadOnlySpan<byte> header, uint block, ReadOnlySpan<byte> sealedBytes, string path)
    {
        if (sealedBytes.Length < StoreCipher.TagSize) throw Corrupt(path, $"block {block} is cut short");
        Span<byte> nonce = stackalloc byte[StoreCipher.NonceSize];
        Span<byte> aad = stackalloc byte[HeaderSize + 4];
        Nonce(header, block, nonce, aad);
        var plain = new byte[sealedBytes.Length - StoreCipher.TagSize];
        try
        {
            Gcm(cipher).Decrypt(nonce, sealedBytes[..plain.Length], sealedBytes[plain.Length..], plain, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Corrupt(path, $"block {(block == IndexBlockNumber ? "index" : block.ToString(System.Globalization.CultureInfo.InvariantCulture))} fails authentication (damaged, or another key)");
        }

        return plain;
    }

    internal static InvalidDataException Corrupt(string path, string why) => new($"The index run {path} is corrupt: {why}.");

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _cache.Forget(Id, Blocks);
        _file.Dispose();
    }
}

/// <summary>Writes one run: entries in ascending order, then <see cref="Finish"/>.</summary>
public sealed class IndexRunWriter : IDisposable
{
    internal const int TargetBlockBytes = 8 * 1024;
    private const int MaxBlockEntries = 4096;
    private const int BitsPerKey = 10;
    private const int BloomHashes = 7;

    private readonly string _path;
    private readonly StoreCipher _cipher;
    private readonly FileStream _file;
    private readonly byte[] _header = new byte[IndexRun.HeaderSize];
    private readonly MemoryStream _block = new(TargetBlockBytes + 1024);
    private readonly MemoryStream _index = new();
    private readonly ulong[] _bloom;
    private byte[] _previous = [];
    private int _previousLength;
    private int _blockCount;
    private int _blocks;
    private long _offset;
    private long _entries;
    private long _tombstones;
    private bool _finished;

    /// <summary><paramref name="expectedEntries"/> sizes the bloom filter (an upper bound is fine).</summary>
    public IndexRunWriter(string path, StoreCipher cipher, long expectedEntries, byte[]? salt = null)
    {
        _path = path;
        _cipher = cipher;
        IndexRun.Magic.CopyTo(_header, 0);
        if (salt != null) salt.AsSpan(0, 8).CopyTo(_header.AsSpan(8));
        else RandomNumberGenerator.Fill(_header.AsSpan(8));
        var words = (int)Math.Min(int.MaxValue / 8, (Math.Max(1, expectedEntries) * BitsPerKey + 63) / 64);
        _bloom = new ulong[words];
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _file.Write(_header);
        _offset = IndexRun.HeaderSize;
        _index.Write(stackalloc byte[4]); // block count, patched at the end
    }

    public long Entries => _entries;

    /// <summary>Appends one entry; keys must ascend strictly.</summary>
    public void Add(ReadOnlySpan<byte> key, bool tombstone)
    {
        if (_entries > 0 && key.SequenceCompareTo(_previous.AsSpan(0, _previousLength)) <= 0)
            throw new InvalidOperationException("Index run keys must ascend strictly.");
        if (_blockCount == 0)
        {
            _block.SetLength(0);
            _block.Write(stackalloc byte[2]);
            Span<byte> entry = stackalloc byte[12];
            var n = IndexRunEntry(entry, 0, key.Length);
            WriteIndexEntry(key);
            _block.Write(entry[..n]);
            _block.WriteByte(tombstone ? (byte)1 : (byte)0);
            _block.Write(key);
        }
        else
        {
            var shared = key.CommonPrefixLength(_previous.AsSpan(0, _previousLength));
            Span<byte> entry = stackalloc byte[12];
            var n = IndexRunEntry(entry, shared, key.Length - shared);
            _block.Write(entry[..n]);
            _block.WriteByte(tombstone ? (byte)1 : (byte)0);
            _block.Write(key[shared..]);
        }

        if (_previous.Length < key.Length) _previous = new byte[Math.Max(key.Length, _previous.Length * 2)];
        key.CopyTo(_previous);
        _previousLength = key.Length;
        _blockCount++;
        _entries++;
        if (tombstone) _tombstones++;
        AddToBloom(key);
        if (_block.Length >= TargetBlockBytes || _blockCount == MaxBlockEntries) EndBlock();
    }

    private static int IndexRunEntry(Span<byte> into, int shared, int suffix)
    {
        var n = RunVarint.Write(into, (ulong)shared);
        return n + RunVarint.Write(into[n..], (ulong)suffix);
    }

    private void WriteIndexEntry(ReadOnlySpan<byte> firstKey)
    {
        Span<byte> fixedPart = stackalloc byte[12 + 10];
        BinaryPrimitives.WriteUInt64LittleEndian(fixedPart, (ulong)_offset);
        // The length is patched when the block ends; remember where.
        _lengthAt = _index.Length + 8;
        var n = 12 + RunVarint.Write(fixedPart[12..], (ulong)firstKey.Length);
        _index.Write(fixedPart[..n]);
        _index.Write(firstKey);
    }

    private long _lengthAt;

    private void AddToBloom(ReadOnlySpan<byte> key)
    {
        var h = RunBloom.Hash(key);
        var h1 = (uint)h;
        var h2 = (uint)(h >> 32) | 1;
        var bits = (ulong)_bloom.Length * 64;
        for (var i = 0; i < BloomHashes; i++)
        {
            var bit = (h1 + (ulong)i * h2) % bits;
            _bloom[bit >> 6] |= 1UL << (int)(bit & 63);
        }
    }

    private void EndBlock()
    {
        if (_blockCount == 0) return;
        var buffer = _block.GetBuffer();
        BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)_blockCount);
        var length = (int)_block.Length;
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32.Compute(buffer.AsSpan(0, length)));
        _block.Write(crc);
        var sealedLength = WriteSealed(_block.GetBuffer().AsSpan(0, length + 4), (uint)_blocks);
        var save = _index.Position;
        _index.Position = _lengthAt;
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, sealedLength);
        _index.Write(len);
        _index.Position = save;
        _offset += sealedLength;
        _blocks++;
        _blockCount = 0;
    }

    private int WriteSealed(ReadOnlySpan<byte> plain, uint number)
    {
        Span<byte> nonce = stackalloc byte[StoreCipher.NonceSize];
        Span<byte> aad = stackalloc byte[IndexRun.HeaderSize + 4];
        IndexRun.Nonce(_header, number, nonce, aad);
        var output = new byte[plain.Length + StoreCipher.TagSize];
        IndexRun.Gcm(_cipher).Encrypt(nonce, plain, output.AsSpan(0, plain.Length), output.AsSpan(plain.Length), aad);
        _file.Write(output);
        return output.Length;
    }

    /// <summary>Writes the index and footer and forces the file to disk.</summary>
    public void Finish()
    {
        EndBlock();
        var index = _index;
        index.Position = 0;
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(u32, _blocks);
        index.Write(u32);
        index.Position = index.Length;
        Span<byte> tail = stackalloc byte[21];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, (ulong)_entries);
        BinaryPrimitives.WriteUInt64LittleEndian(tail[8..], (ulong)_tombstones);
        BinaryPrimitives.WriteInt32LittleEndian(tail[16..], _bloom.Length);
        tail[20] = BloomHashes;
        index.Write(tail);
        Span<byte> word = stackalloc byte[8];
        foreach (var w in _bloom)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, w);
            index.Write(word);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(u32, Crc32.Compute(index.GetBuffer().AsSpan(0, (int)index.Length)));
        index.Write(u32);
        var indexOffset = _offset;
        var indexLength = WriteSealed(index.GetBuffer().AsSpan(0, (int)index.Length), IndexRun.IndexBlockNumber);
        Span<byte> footer = stackalloc byte[IndexRun.FooterSize];
        BinaryPrimitives.WriteUInt64LittleEndian(footer, (ulong)indexOffset);
        BinaryPrimitives.WriteInt32LittleEndian(footer[8..], indexLength);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[12..], Crc32.Append(Crc32.Compute(_header), footer[..12]));
        _file.Write(footer);
        _file.Flush(flushToDisk: true);
        _finished = true;
        _file.Dispose();
    }

    public void Dispose()
    {
        _file.Dispose();
        if (!_finished) File.Delete(_path);
    }
}

/// <summary>Positioned reads of the shared LEB128 varints (<see cref="VarInt"/>).</summary>
internal static class RunVarint
{
    public static int Write(Span<byte> into, ulong value) => VarInt.Write(into, value);

    public static ulong Read(ReadOnlySpan<byte> from, ref int pos)
    {
        pos += VarInt.Read(from[pos..], out var value);
        return value;
    }
}

/// <summary>The bloom filter's hash: FNV-1a over the key, then a 64-bit finaliser (stable across processes: persisted).</summary>
internal static class RunBloom
{
    public static ulong Hash(ReadOnlySpan<byte> key)
    {
        var h = 14695981039346656037UL;
        foreach (var b in key) h = (h ^ b) * 1099511628211UL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }
}
