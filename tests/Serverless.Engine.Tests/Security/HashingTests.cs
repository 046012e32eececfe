using System.Security.Cryptography;
using Serverless.Engine.Security.Authentication;

namespace Serverless.Engine.Tests.Security;

/// <summary>The verifier's hashes (libcrypto's block functions where loadable) agree with .NET's own.</summary>
public class HashingTests
{
    [Fact]
    public void Linux_UsesTheDirectLibcryptoPath()
    {
        // The test machines run Linux with OpenSSL 3: the fast path must be the one under test.
        if (OperatingSystem.IsLinux()) Assert.True(Hashing.UsesNativeBlocks);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(1 << 20)]
    public void Sha256_MatchesDotNet(int length)
    {
        var data = RandomBytes(length, seed: length);
        Span<byte> hash = stackalloc byte[32];
        Hashing.Sha256(data, hash);
        Assert.Equal(SHA256.HashData(data), hash.ToArray());
    }

    [Theory]
    [InlineData(32, 0)]
    [InlineData(32, 130)]
    [InlineData(64, 64)]
    [InlineData(65, 10)] // a key longer than a block is hashed first
    [InlineData(200, 5000)]
    public void HmacSha256_MatchesDotNet(int keyLength, int length)
    {
        var data = RandomBytes(length, seed: length + 1);
        Span<byte> mac = stackalloc byte[32];
        // Two keys in turn: the per-thread precomputed state must follow the key.
        for (var round = 0; round < 2; round++)
        {
            var key = RandomBytes(keyLength, seed: keyLength * 7 + round);
            Hashing.HmacSha256(key, data, mac);
            Assert.Equal(HMACSHA256.HashData(key, data), mac.ToArray());
            Hashing.HmacSha256(key, data, mac);
            Assert.Equal(HMACSHA256.HashData(key, data), mac.ToArray());
        }
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
