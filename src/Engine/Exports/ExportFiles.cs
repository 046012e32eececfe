using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Exports;

/// <summary>One data file of an export as manifest-files.json lists it.</summary>
internal sealed record DataFileEntry(long ItemCount, string Md5Checksum, string Etag, string DataFileS3Key);

/// <summary>
/// Writes an export's data files: JSON lines (or Ion lines), gzip-compressed, each closed once it holds
/// <see cref="ExportOptions.DataFileBytes"/> of uncompressed text, so neither a file nor a buffer grows with the table.
/// Each file's MD5 (base64, as <c>md5Checksum</c>) and its S3 multipart ETag (hex MD5 of the part MD5s, <c>-1</c>: one
/// part) are computed over the compressed bytes as they are written.
/// </summary>
internal sealed class DataFileWriter : IDisposable
{
    private readonly IObjectStore _store;
    private readonly string _bucket;
    private readonly string _dataKey;
    private readonly string _extension;
    private readonly long _fileBytes;
    private readonly List<DataFileEntry> _files = [];
    private Md5Stream? _hashed;
    private GZipStream? _gzip;
    private string? _key;
    private long _fileItems;
    private long _fileUncompressed;

    public DataFileWriter(IObjectStore store, string bucket, string dataKey, bool ion, long fileBytes)
    {
        _store = store;
        _bucket = bucket;
        _dataKey = dataKey;
        _extension = ion ? ".ion.gz" : ".json.gz";
        _fileBytes = fileBytes;
    }

    public IReadOnlyList<DataFileEntry> Files => _files;

    /// <summary>Appends one line (the text must end with a newline).</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        if (_gzip == null) Open();
        _gzip!.Write(line);
        _fileItems++;
        _fileUncompressed += line.Length;
        if (_fileUncompressed >= _fileBytes) Close();
    }

    /// <summary>Closes the open file; with nothing written at all, writes one empty file (as AWS does for an empty partition).</summary>
    public void Finish()
    {
        if (_gzip == null && _files.Count == 0) Open();
        Close();
    }

    public void Dispose()
    {
        _gzip?.Dispose();
        _hashed?.Dispose();
    }

    private void Open()
    {
        _key = _dataKey + "/" + NewName() + _extension;
        _hashed = new Md5Stream(_store.Create(_bucket, _key));
        _gzip = new GZipStream(_hashed, CompressionLevel.Fastest, leaveOpen: true);
        _fileItems = 0;
        _fileUncompressed = 0;
    }

    private void Close()
    {
        if (_gzip == null) return;
        _gzip.Dispose();
        var md5 = _hashed!.Finish();
        _hashed.Dispose();
        _files.Add(new DataFileEntry(_fileItems, Convert.ToBase64String(md5), Checksums.MultipartEtag([md5]), _key!));
        _gzip = null;
        _hashed = null;
    }

    /// <summary>26 lowercase base32 characters, like AWS's data file names.</summary>
    private static string NewName()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> random = stackalloc byte[26];
        RandomNumberGenerator.Fill(random);
        var chars = new char[26];
        for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[random[i] & 31];
        return new string(chars);
    }

    /// <summary>Passes writes through to the object while hashing them.</summary>
    private sealed class Md5Stream(Stream inner) : Stream
    {
        private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public byte[] Finish()
        {
            inner.Flush();
            return _md5.GetHashAndReset();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _md5.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _md5.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>The checksums AWS writes with an export.</summary>
public static class Checksums
{
    /// <summary>The ETag S3 gives a multipart object: hex MD5 of the concatenated part MD5s, a dash and the part count.</summary>
    public static string MultipartEtag(IReadOnlyList<byte[]> partMd5s)
    {
        var all = new byte[partMd5s.Count * 16];
        for (var i = 0; i < partMd5s.Count; i++) partMd5s[i].CopyTo(all, i * 16);
        return Convert.ToHexStringLower(MD5.HashData(all)) + "-" + partMd5s.Count.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The content of a <c>.checksum</c> file: the hex MD5 of the manifest it accompanies.</summary>
    public static string ManifestChecksum(ReadOnlySpan<byte> manifest) => Convert.ToHexStringLower(MD5.HashData(manifest));
}

/// <summary>Formats exported items as lines of DynamoDB JSON or Ion.</summary>
internal sealed class ExportLineFormatter(bool ion)
{
    private readonly PooledBufferWriter _buffer = new(4096);
    private readonly StringBuilder _text = new(1024);

    /// <summary><c>{"Item":{…}}</c> (or <c>$ion_1_0 {Item:{…}}</c>) and a newline, from a stored value.</summary>
    public ReadOnlySpan<byte> FullExportLine(ReadOnlySpan<byte> stored)
    {
        _buffer.Clear();
        var item = StoredValue.Item(stored);
        if (!ion)
        {
            Write("{\"Item\":"u8);
            ItemCodec.WriteJson(item, _buffer);
            Write("}\n"u8);
            return _buffer.WrittenSpan;
        }

        _text.Clear();
        _text.Append(IonText.VersionMarker).Append(" {Item:");
        IonText.WriteStruct(_text, ItemCodec.Decode(item));
        _text.Append("}\n");
        return Utf8(_text);
    }

    /// <summary>
    /// An incremental export's line: <c>Metadata.WriteTimestampMicros</c>, <c>Keys</c>, then <c>NewImage</c> unless the
    /// item was deleted, and <c>OldImage</c> when asked for and the item existed at the start of the window.
    /// </summary>
    public ReadOnlySpan<byte> IncrementalLine(IReadOnlyDictionary<string, AttrValue> keys, long writeMicros, byte[]? newStored, byte[]? oldStored)
    {
        _buffer.Clear();
        var micros = writeMicros.ToString(CultureInfo.InvariantCulture);
        if (!ion)
        {
            using (var w = new Utf8JsonWriter(_buffer))
            {
                w.WriteStartObject();
                w.WriteStartObject("Metadata"u8);
                w.WriteStartObject("WriteTimestampMicros"u8);
                w.WriteString("N"u8, micros);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WritePropertyName("Keys"u8);
                AttrJson.WriteItem(w, keys);
                if (newStored != null)
                {
                    w.WritePropertyName("NewImage"u8);
                    ItemCodec.WriteJson(StoredValue.Item(newStored), w);
                }

                if (oldStored != null)
                {
                    w.WritePropertyName("OldImage"u8);
                    ItemCodec.WriteJson(StoredValue.Item(oldStored), w);
                }

                w.WriteEndObject();
            }

            Write("\n"u8);
            return _buffer.WrittenSpan;
        }

        _text.Clear();
        _text.Append(IonText.VersionMarker).Append(" {Metadata:{WriteTimestampMicros:").Append(micros).Append("},Keys:");
        IonText.WriteStruct(_text, keys);
        if (newStored != null)
        {
            _text.Append(",NewImage:");
            IonText.WriteStruct(_text, ItemCodec.Decode(StoredValue.Item(newStored)));
        }

        if (oldStored != null)
        {
            _text.Append(",OldImage:");
            IonText.WriteStruct(_text, ItemCodec.Decode(StoredValue.Item(oldStored)));
        }

        _text.Append("}\n");
        return Utf8(_text);
    }

    private void Write(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    private ReadOnlySpan<byte> Utf8(StringBuilder text)
    {
        foreach (var chunk in text.GetChunks())
        {
            var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
            _buffer.Advance(Encoding.UTF8.GetBytes(chunk.Span, span));
        }

        return _buffer.WrittenSpan;
    }
}
