using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.Security;

/// <summary>The encryption primitives: formats (golden), round trips, tamper and truncation detection, nonce uniqueness.</summary>
public sealed class EncryptionPrimitivesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("crypto-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Seal(ReadOnlySpan<byte> plain, byte[] salt)
    {
        using var output = new MemoryStream();
        using (var writer = new SealedFileWriter(output, TestKeys.Cipher, SealedKind.Backup, salt, leaveOpen: true))
        {
            writer.Write(plain);
            writer.Finish();
        }

        return output.ToArray();
    }

    [Fact]
    public void SealedFile_MatchesTheDocumentedLayout()
    {
        byte[] salt = [9, 8, 7, 6, 5, 4, 3, 2];
        var plain = Encoding.UTF8.GetBytes("hello sealed world");
        var file = Seal(plain, salt);
        Assert.Equal("DDBSEAL1" + "02" + "000000" + "0908070605040302", Encoding.ASCII.GetString(file, 0, 8) + Convert.ToHexString(file, 8, 12));
        // One chunk, marked last: u32 length | ciphertext | tag; nonce = salt | u32 0; associated data = header | index | word.
        var word = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20));
        Assert.Equal(0x8000_0000u | (uint)plain.Length, word);
        Assert.Equal(20 + 4 + plain.Length + 16, file.Length);
        var nonce = salt.Concat(new byte[4]).ToArray();
        var aad = file[..20].Concat(new byte[4]).Concat(file[20..24]).ToArray();
        var opened = new byte[plain.Length];
        using (var gcm = new AesGcm(TestKeys.DataKey, 16)) gcm.Decrypt(nonce, file.AsSpan(24, plain.Length), file.AsSpan(24 + plain.Length, 16), opened, aad);
        Assert.Equal(plain, opened);
        Assert.Equal(plain, SealedFile.Open(file, TestKeys.Cipher, SealedKind.Backup, "f"));
    }

    [Fact]
    public void SealedFile_RoundTripsLargeContent_InChunks_AndEmptyContent()
    {
        var plain = RandomNumberGenerator.GetBytes(3 * SealedFile.ChunkBytes + 123);
        var file = SealedFile.Seal(TestKeys.Cipher, SealedKind.Snapshot, plain);
        Assert.Equal(20 + 4 * 20 + plain.Length, file.Length); // four chunks, each with a length word and a tag
        Assert.Equal(plain, SealedFile.Open(file, TestKeys.Cipher, SealedKind.Snapshot, "f"));
        Assert.Empty(SealedFile.Open(SealedFile.Seal(TestKeys.Cipher, SealedKind.Manifest, []), TestKeys.Cipher, SealedKind.Manifest, "f"));
    }

    [Fact]
    public void SealedFile_DetectsEveryFlippedByte_EveryTruncation_AndTheWrongKindOrKey()
    {
        var plain = RandomNumberGenerator.GetBytes(SealedFile.ChunkBytes + 50);
        var file = SealedFile.Seal(TestKeys.Cipher, SealedKind.Backup, plain);
        foreach (var at in new[] { 0, 8, 12, 19, 20, 23, 24, 1000, 24 + SealedFile.ChunkBytes + 3, file.Length - 1 })
        {
            var bad = (byte[])file.Clone();
            bad[at] ^= 0x10;
            var e = Assert.Throws<InvalidDataException>(() => SealedFile.Open(bad, TestKeys.Cipher, SealedKind.Backup, "the-file"));
            Assert.Contains("the-file is corrupt", e.Message);
        }

        // Cut at the chunk boundary (a whole, valid first chunk but no last chunk) and anywhere else.
        foreach (var length in new[] { 0, 19, 20, 24 + SealedFile.ChunkBytes + 16, file.Length - 1 })
            Assert.Throws<InvalidDataException>(() => SealedFile.Open(file.AsSpan(0, length), TestKeys.Cipher, SealedKind.Backup, "f"));
        Assert.Throws<InvalidDataException>(() => SealedFile.Open([.. file, 0], TestKeys.Cipher, SealedKind.Backup, "f"));
        Assert.Throws<InvalidDataException>(() => SealedFile.Open(file, TestKeys.Cipher, SealedKind.Snapshot, "f"));
        Assert.Throws<InvalidDataException>(() => SealedFile.Open(file, StoreCipher.Ephemeral(), SealedKind.Backup, "f"));
    }

    [Fact]
    public void SealedFile_DrawsAFreshSaltPerFile()
    {
        var salts = Enumerable.Range(0, 200).Select(_ => Convert.ToHexString(SealedFile.Seal(TestKeys.Cipher, SealedKind.Manifest, [1])[12..20])).ToHashSet();
        Assert.Equal(200, salts.Count);
    }

    [Fact]
    public void RecordCipher_NeverRepeatsANonce_AcrossInstancesOrWithinOne()
    {
        var nonces = new HashSet<string>();
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> tag = stackalloc byte[16];
        for (var instance = 0; instance < 20; instance++)
        {
            using var cipher = new RecordCipher(TestKeys.Cipher);
            for (var i = 0; i < 500; i++)
            {
                var data = new byte[8];
                cipher.Seal(nonce, data, tag, default);
                Assert.True(nonces.Add(Convert.ToHexString(nonce)));
            }
        }

        // The counter wrapping draws a new prefix instead of starting over.
        using var wrapping = new RecordCipher(TestKeys.Cipher, TestKeys.NoncePrefix, uint.MaxValue - 1);
        wrapping.Seal(nonce, new byte[1], tag, default);
        Assert.Equal("0102030405060708FEFFFFFF", Convert.ToHexString(nonce));
        wrapping.Seal(nonce, new byte[1], tag, default);
        Assert.NotEqual("0102030405060708", Convert.ToHexString(nonce[..8]));
        Assert.Equal("00000000", Convert.ToHexString(nonce[8..]));
    }

    [Fact]
    public void ChangeRecord_TamperedAnywhere_IsRefused()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteItemWrite(buffer, cipher, 1, 0, ChangeFlags.None, 1, [1, 2], false, default, true, [3, 4, 5]);
        for (var at = 0; at < buffer.WrittenCount; at++)
        {
            var bad = buffer.WrittenSpan.ToArray();
            bad[at] ^= 0x04;
            Assert.NotEqual(bad.Length, ChangeRecord.TryRead(bad, cipher, out _));
        }

        Assert.Equal(0, ChangeRecord.TryRead(buffer.WrittenSpan[..^1].ToArray(), cipher, out _)); // truncated: incomplete
        using var other = new RecordCipher(StoreCipher.Ephemeral());
        Assert.Equal(-1, ChangeRecord.TryRead(buffer.WrittenSpan.ToArray(), other, out _)); // another store's key
    }

    [Fact]
    public void StoreKeyFile_MatchesTheDocumentedLayout_AndUnwrapsWithTheRightKeyOnly()
    {
        var master = new MasterKey(Enumerable.Repeat((byte)7, 32).ToArray(), "test");
        byte[] nonce = [.. Enumerable.Range(0, 12).Select(i => (byte)i)];
        var file = StoreKeyFile.Wrap(master, TestKeys.DataKey, nonce);
        Assert.Equal(84, file.Length);
        Assert.Equal("DDBKEY01", Encoding.ASCII.GetString(file, 0, 8));
        Assert.Equal(HMACSHA256.HashData(master.Key, "serverless-ddb master key id v1"u8)[..16], file[8..24]);
        Assert.Equal(nonce, file[24..36]);
        var unwrapped = new byte[32];
        using (var gcm = new AesGcm(master.Key, 16)) gcm.Decrypt(nonce, file.AsSpan(36, 32), file.AsSpan(68, 16), unwrapped, file.AsSpan(0, 24));
        Assert.Equal(TestKeys.DataKey, unwrapped);

        var keys = MasterKeys.Resolve(new EncryptionOptions { Key = Convert.ToBase64String(master.Key) }, () => throw new InvalidOperationException());
        var cipher = StoreKeyFile.Open(file, keys, "k", out var rewrapped);
        Assert.Null(rewrapped);
        Assert.Equal(SealedFile.Seal(TestKeys.Cipher, SealedKind.Manifest, [1]).Length, SealedFile.Seal(cipher, SealedKind.Manifest, [1]).Length);
        Assert.Equal([1], SealedFile.Open(SealedFile.Seal(TestKeys.Cipher, SealedKind.Manifest, [1]), cipher, SealedKind.Manifest, "f"));

        var wrong = MasterKeys.Resolve(new EncryptionOptions { Key = Convert.ToBase64String(new byte[32]) }, () => throw new InvalidOperationException());
        Assert.Contains("wrong encryption key", Assert.Throws<InvalidOperationException>(() => StoreKeyFile.Open(file, wrong, "k", out _)).Message);

        var bad = (byte[])file.Clone();
        bad[50] ^= 1;
        Assert.Contains("damaged", Assert.Throws<InvalidOperationException>(() => StoreKeyFile.Open(bad, keys, "k", out _)).Message);
    }

    [Fact]
    public void StoreKeyFile_WrappedByAPreviousKey_IsRewrappedByTheCurrentOne()
    {
        var oldKey = RandomNumberGenerator.GetBytes(32);
        var newKey = RandomNumberGenerator.GetBytes(32);
        var file = StoreKeyFile.Wrap(new MasterKey(oldKey, "old"), TestKeys.DataKey, RandomNumberGenerator.GetBytes(12));
        var keys = MasterKeys.Resolve(new EncryptionOptions { Key = Convert.ToBase64String(newKey), PreviousKeys = [Convert.ToBase64String(oldKey)] }, () => null!);
        StoreKeyFile.Open(file, keys, "k", out var rewrapped);
        Assert.NotNull(rewrapped);
        Assert.Equal(new MasterKey(newKey, "new").Id, rewrapped![8..24]);
        var onlyNew = MasterKeys.Resolve(new EncryptionOptions { Key = Convert.ToBase64String(newKey) }, () => null!);
        var cipher = StoreKeyFile.Open(rewrapped, onlyNew, "k", out var again);
        Assert.Null(again);
        Assert.Equal([5], SealedFile.Open(SealedFile.Seal(TestKeys.Cipher, SealedKind.Manifest, [5]), cipher, SealedKind.Manifest, "f")); // the same data key
    }

    [Fact]
    public async Task ChangeLog_DamageBeforeIntactRecords_IsCorruption_NamingSegmentAndOffset()
    {
        var options = new ChangeLogOptions();
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore))
        {
            for (var i = 0; i < 20; i++) await log.AppendItemWrite(i, ChangeFlags.None, 1, [(byte)i], false, default, true, [1]).Committed;
        }

        var segment = Directory.GetFiles(_dir, "*.log").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var frame = bytes.Length / 20; // records are the same size
        var damaged = (byte[])bytes.Clone();
        damaged[5 * frame + 30] ^= 1; // in record 6's ciphertext
        await File.WriteAllBytesAsync(segment, damaged);
        var e = Assert.Throws<InvalidDataException>(() => ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore));
        Assert.Contains($"{segment} is corrupt at byte {5 * frame}", e.Message);
        Assert.Equal(damaged.Length, new FileInfo(segment).Length); // not truncated

        damaged = (byte[])bytes.Clone();
        damaged[5 * frame] ^= 0x40; // in record 6's length word: the next frame is found by its header checksum
        await File.WriteAllBytesAsync(segment, damaged);
        Assert.Throws<InvalidDataException>(() => ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore));

        damaged = (byte[])bytes.Clone();
        damaged[^3] ^= 1; // the last record: a torn tail, dropped
        await File.WriteAllBytesAsync(segment, damaged);
        var seen = 0;
        await using (ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, (in ChangeRecord _) => seen++))
        {
        }

        Assert.Equal(19, seen);
    }

    [Fact]
    public void EncryptedDevice_RoundTripsSectors_RefusesTamperedOnes_AndRewritesWithFreshNonces()
    {
        var path = Path.Combine(_dir, "dev.log");
        var data = new byte[2048];
        for (var i = 0; i < data.Length; i++) data[i] = (byte)(i % 251);
        using (var device = new EncryptedDevice(path, TestKeys.Cipher))
        {
            device.Initialize(1L << 20, null!, false);
            Write(device, data, 1024);
            Write(device, data, 1024); // the same sectors again: new nonces
            Assert.Equal(data, Read(device, 1024, 2048));
            Assert.Equal(new byte[512], Read(device, 0, 512)); // never written: zeros
            Assert.Equal(data[..700], Read(device, 1024, 700)); // a length inside a sector: its prefix, authenticated

            // A write larger than the device's sealing step (64 KiB) and not a multiple of it, as a page flush is.
            var big = new byte[3 * 65536 + 1536];
            new Random(5).NextBytes(big);
            Write(device, big, 8192);
            Assert.Equal(big, Read(device, 8192, big.Length));
            Assert.Equal(data, Read(device, 1024, 2048));
        }

        var stored = File.ReadAllBytes(path + ".0");
        Assert.Equal(-1, stored.AsSpan().IndexOf(data.AsSpan(0, 64))); // not in clear
        var tags = File.ReadAllBytes(path + ".0" + EncryptedDevice.TagSuffix);
        Assert.Equal((8192 + 3 * 65536 + 1536) / 512 * 32, tags.Length);
        stored[1024 + 700] ^= 1;
        File.WriteAllBytes(path + ".0", stored);
        using (var device = new EncryptedDevice(path, TestKeys.Cipher))
        {
            device.Initialize(1L << 20, null!, false);
            Assert.Equal(data[..512], Read(device, 1024, 512)); // the first sector is intact
            var e = Assert.Throws<InvalidDataException>(() => Read(device, 1024, 1024));
            Assert.Contains("sector at byte 1536 fails authentication", e.Message);
        }

        static void Write(EncryptedDevice device, byte[] bytes, ulong at)
        {
            using var done = new ManualResetEventSlim();
            uint error = 99;
            var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
            try
            {
                device.WriteAsync(handle.AddrOfPinnedObject(), 0, at, (uint)bytes.Length, (e, _, _) =>
                {
                    error = e;
                    done.Set();
                }, null!);
                Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
                Assert.Equal(0u, error);
            }
            finally
            {
                handle.Free();
            }
        }

        static byte[] Read(EncryptedDevice device, ulong at, int length)
        {
            var buffer = new byte[length];
            var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            try
            {
                device.ReadAsync(0, at, handle.AddrOfPinnedObject(), (uint)length, (_, _, _) => { }, null!);
            }
            finally
            {
                handle.Free();
            }

            return buffer;
        }
    }

    [Fact]
    public async Task ChangeLog_DamageInAnOlderSegment_IsCorruption_EvenAtItsEnd()
    {
        var options = new ChangeLogOptions { SegmentBytes = 1 }; // every record rolls a segment
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore))
        {
            for (var i = 0; i < 3; i++) await log.AppendItemWrite(i, ChangeFlags.None, 1, [(byte)i], false, default, true, [1]).Committed;
        }

        var segments = Directory.GetFiles(_dir, "*.log").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, segments.Count);
        var first = await File.ReadAllBytesAsync(segments[0]);
        first[^1] ^= 1; // the tag of the only record of a complete segment
        await File.WriteAllBytesAsync(segments[0], first);
        var e = Assert.Throws<InvalidDataException>(() => ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore));
        Assert.Contains($"{segments[0]} is corrupt at byte 0", e.Message);
        Assert.Contains("in a segment that was complete", e.Message);
    }

    [Fact]
    public void TransactionTokenFile_IsSealed_RoundTrips_AndADamagedOneIsRefused()
    {
        var path = Path.Combine(_dir, "transaction-tokens.bin");
        var tokens = new TransactionTokens();
        tokens.Restore("secret-token", [1, 2, 3], 1_000, 2_000);
        tokens.Save(path, TestKeys.Cipher, 2_000);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal((byte)SealedKind.TransactionTokens, bytes[8]);
        Assert.Equal(-1, bytes.AsSpan().IndexOf("secret-token"u8));
        var loaded = new TransactionTokens();
        loaded.Load(path, TestKeys.Cipher, 2_000);
        Assert.Equal(TokenClaim.Replay, loaded.Claim("secret-token", [1, 2, 3], 2_000));
        bytes[^5] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.Contains(path + " is corrupt", Assert.Throws<InvalidDataException>(() => new TransactionTokens().Load(path, TestKeys.Cipher, 2_000)).Message);
    }

    private static void Ignore(in ChangeRecord record)
    {
    }
}
