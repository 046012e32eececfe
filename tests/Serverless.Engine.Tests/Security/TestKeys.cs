using System.Buffers.Binary;
using System.Security.Cryptography;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Tests.Security;

/// <summary>A fixed data key and nonce source for golden tests, and an independent reader of the record frame.</summary>
internal static class TestKeys
{
    public static readonly byte[] DataKey = Enumerable.Range(0, 32).Select(i => (byte)(0x40 + i)).ToArray();

    public static readonly byte[] NoncePrefix = [1, 2, 3, 4, 5, 6, 7, 8];

    public static StoreCipher Cipher { get; } = StoreCipher.FromKey(DataKey);

    /// <summary>A record cipher whose nonces are <see cref="NoncePrefix"/> followed by 0, 1, 2, … (LE).</summary>
    public static RecordCipher FixedRecords() => new(Cipher, NoncePrefix, 0);

    /// <summary>
    /// Opens one change-log frame with System.Security.Cryptography directly, checking the documented layout:
    /// u32 length | u32 crc32(length | nonce) | nonce | ciphertext | tag, associated data = the length bytes.
    /// Returns (nonce, plaintext payload).
    /// </summary>
    public static (byte[] Nonce, byte[] Payload) OpenFrame(ReadOnlySpan<byte> frame)
    {
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(frame);
        Assert.Equal(20 + length + 16, frame.Length);
        var headerCrc = Crc32.Append(Crc32.Compute(frame[..4]), frame.Slice(8, 12));
        Assert.Equal(headerCrc, BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]));
        var nonce = frame.Slice(8, 12).ToArray();
        var payload = new byte[length];
        using var gcm = new AesGcm(DataKey, 16);
        gcm.Decrypt(nonce, frame.Slice(20, length), frame.Slice(20 + length, 16), payload, frame[..4]);
        return (nonce, payload);
    }
}
