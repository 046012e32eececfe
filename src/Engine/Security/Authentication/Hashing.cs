using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// SHA-256 and HMAC-SHA256 for signature verification, which hashes three small inputs per request (the body,
/// the canonical request, the string to sign).
/// <para>
/// On Linux, .NET's hashes go through OpenSSL 3's EVP layer, whose per-call set-up (provider lookup, context
/// reset, error-queue clearing) costs more than hashing a few hundred bytes. Where libcrypto is loadable this
/// class calls OpenSSL's SHA-256 block functions directly (the same SHA-NI/AVX code underneath) on a context
/// kept on the stack, and computes HMAC from inner and outer contexts precomputed once per signing key, which
/// also saves HMAC's two key blocks on every request. Elsewhere it falls back to <see cref="IncrementalHash"/>,
/// one reusable instance per thread. Both paths are checked against each other by the tests.
/// </para>
/// </summary>
internal static unsafe class Hashing
{
    /// <summary>Room for OpenSSL's SHA256_CTX (112 bytes: state, bit count, one block, two counters).</summary>
    private const int ContextBytes = 128;

    private const int BlockBytes = 64;

    /// <summary>Whether the direct libcrypto path is in use (false: IncrementalHash).</summary>
    public static bool UsesNativeBlocks { get; } = NativeSha256.Probe();

    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    [ThreadStatic]
    private static IncrementalHash? t_hmac;

    [ThreadStatic]
    private static byte[]? t_hmacKey;

    [ThreadStatic]
    private static byte[]? t_hmacState;

    public static void Sha256(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        if (UsesNativeBlocks)
        {
            var ctx = stackalloc byte[ContextBytes];
            NativeSha256.Init(ctx);
            NativeSha256.Update(ctx, data);
            NativeSha256.Final(ctx, hash);
            return;
        }

        var sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(data);
        sha.GetHashAndReset(hash);
    }

    /// <summary>HMAC-SHA256 under <paramref name="key"/>, which must not change after the call (a cached signing key).</summary>
    public static void HmacSha256(byte[] key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        if (UsesNativeBlocks)
        {
            var state = t_hmacState;
            if (state is null || !ReferenceEquals(t_hmacKey, key))
            {
                state = HmacState(key);
                t_hmacState = state;
                t_hmacKey = key;
            }

            var ctx = stackalloc byte[ContextBytes];
            Span<byte> inner = stackalloc byte[32];
            fixed (byte* s = state)
            {
                Buffer.MemoryCopy(s, ctx, ContextBytes, ContextBytes);
                NativeSha256.Update(ctx, data);
                NativeSha256.Final(ctx, inner);
                Buffer.MemoryCopy(s + ContextBytes, ctx, ContextBytes, ContextBytes);
                NativeSha256.Update(ctx, inner);
                NativeSha256.Final(ctx, mac);
            }

            return;
        }

        var hmac = t_hmac;
        if (hmac is null || !ReferenceEquals(t_hmacKey, key))
        {
            hmac?.Dispose();
            hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            t_hmac = hmac;
            t_hmacKey = key;
        }

        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }

    /// <summary>The SHA-256 contexts after absorbing key⊕ipad and key⊕opad (RFC 2104), side by side.</summary>
    private static byte[] HmacState(byte[] key)
    {
        Span<byte> block = stackalloc byte[BlockBytes];
        block.Clear();
        if (key.Length > BlockBytes) Sha256(key, block);
        else key.CopyTo(block);

        var state = new byte[2 * ContextBytes];
        Span<byte> pad = stackalloc byte[BlockBytes];
        fixed (byte* s = state)
        {
            for (var i = 0; i < BlockBytes; i++) pad[i] = (byte)(block[i] ^ 0x36);
            NativeSha256.Init(s);
            NativeSha256.Update(s, pad);
            for (var i = 0; i < BlockBytes; i++) pad[i] = (byte)(block[i] ^ 0x5c);
            NativeSha256.Init(s + ContextBytes);
            NativeSha256.Update(s + ContextBytes, pad);
        }

        return state;
    }

    /// <summary>
    /// OpenSSL's SHA-256 block API in libcrypto 3 (deprecated for new code in favour of EVP, still exported by every
    /// 3.x release). Small updates skip the GC transition: they run for well under a microsecond and never block.
    /// </summary>
    private static class NativeSha256
    {
        private const string Library = "libcrypto.so.3";

        /// <summary>Inputs up to this size are hashed without a GC transition (a few microseconds at most).</summary>
        private const int ShortInput = 4096;

        public static void Init(byte* ctx) => SHA256_Init(ctx);

        public static void Update(byte* ctx, ReadOnlySpan<byte> data)
        {
            fixed (byte* d = data)
            {
                if (data.Length <= ShortInput) SHA256_Update(ctx, d, (nuint)data.Length);
                else SHA256_UpdateLong(ctx, d, (nuint)data.Length);
            }
        }

        public static void Final(byte* ctx, Span<byte> hash)
        {
            fixed (byte* h = hash) SHA256_Final(h, ctx);
        }

        /// <summary>True when libcrypto loads and its SHA-256 agrees with .NET's on a test vector.</summary>
        public static bool Probe()
        {
            if (!OperatingSystem.IsLinux()) return false;
            try
            {
                ReadOnlySpan<byte> input = "serverless dynamodb sigv4 probe"u8;
                var ctx = stackalloc byte[ContextBytes];
                Span<byte> native = stackalloc byte[32];
                Init(ctx);
                Update(ctx, input);
                Final(ctx, native);
                return native.SequenceEqual(SHA256.HashData(input));
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                return false;
            }
        }

        [DllImport(Library), SuppressGCTransition]
        private static extern int SHA256_Init(byte* ctx);

        [DllImport(Library), SuppressGCTransition]
        private static extern int SHA256_Update(byte* ctx, byte* data, nuint length);

        [DllImport(Library, EntryPoint = "SHA256_Update")]
        private static extern int SHA256_UpdateLong(byte* ctx, byte* data, nuint length);

        [DllImport(Library), SuppressGCTransition]
        private static extern int SHA256_Final(byte* hash, byte* ctx);
    }
}
