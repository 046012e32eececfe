using System.Buffers;
using System.Text;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// Builds the SigV4 canonical request of a received request, as AWS does for services other than S3, and hashes it:
/// <c>METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH</c>. The URI is the path as sent with
/// dot segments and repeated slashes removed, percent-encoded once more; the query's pairs are decoded,
/// re-encoded strictly and sorted; each signed header is <c>name:value</c> with its value trimmed and inner runs
/// of spaces collapsed.
/// </summary>
internal static class CanonicalRequest
{
    /// <summary>Writes SHA-256(canonical request) into <paramref name="hash"/> (32 bytes).</summary>
    /// <param name="signedHeaders">The SignedHeaders parameter as sent (names separated by ';').</param>
    /// <param name="payloadHashHex">The 64 lower-case hex digits of SHA-256 of the body.</param>
    /// <param name="presigned">True when the signature is in the query string: its X-Amz-Signature is left out.</param>
    public static void Hash(in ApiRequest request, ReadOnlySpan<char> signedHeaders, ReadOnlySpan<byte> payloadHashHex, bool presigned, Span<byte> hash)
    {
        var w = new Utf8Builder(stackalloc byte[1024]);
        try
        {
            w.Append(string.IsNullOrEmpty(request.Method) ? "POST" : request.Method);
            w.Append('\n');
            WriteUri(ref w, string.IsNullOrEmpty(request.RawPath) ? "/" : request.RawPath);
            w.Append('\n');
            if (!string.IsNullOrEmpty(request.RawQuery)) WriteQuery(ref w, request.RawQuery, presigned);
            w.Append('\n');

            var names = signedHeaders;
            while (true)
            {
                var semi = names.IndexOf(';');
                var name = semi < 0 ? names : names[..semi];
                if (name.Length > 0)
                {
                    w.AppendLower(name);
                    w.Append(':');
                    WriteHeaderValue(ref w, HeaderValue(request, name));
                    w.Append('\n');
                }

                if (semi < 0) break;
                names = names[(semi + 1)..];
            }

            w.Append('\n');
            w.AppendLower(signedHeaders);
            w.Append('\n');
            w.Append(payloadHashHex);
            Hashing.Sha256(w.Written, hash);
        }
        finally
        {
            w.Dispose();
        }
    }

    /// <summary>The headers SDKs sign, so that looking them up allocates no name.</summary>
    private static readonly string[] CommonNames =
    [
        "host", "x-amz-date", "x-amz-target", "content-type", "content-length", "x-amz-security-token", "x-amz-content-sha256",
        "accept-encoding", "user-agent", "x-amz-user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "content-encoding",
    ];

    private static string? HeaderValue(in ApiRequest request, ReadOnlySpan<char> name)
    {
        // The headers ApiRequest carries were read once already (joined the same way): no second lookup.
        var carried = name.Equals("x-amz-target", StringComparison.OrdinalIgnoreCase) ? request.Target
            : name.Equals("x-amz-date", StringComparison.OrdinalIgnoreCase) ? request.AmzDate
            : name.Equals("content-type", StringComparison.OrdinalIgnoreCase) ? request.ContentType
            : null;
        if (!string.IsNullOrEmpty(carried)) return carried;
        return request.Headers?.Get(NameString(name));
    }

    private static string NameString(ReadOnlySpan<char> name)
    {
        foreach (var common in CommonNames)
            if (name.Equals(common, StringComparison.OrdinalIgnoreCase)) return common;
        return name.ToString();
    }

    /// <summary>The value trimmed, with each run of spaces or tabs inside it written as one space.</summary>
    private static void WriteHeaderValue(ref Utf8Builder w, string? value)
    {
        if (value is null) return;
        var span = value.AsSpan().Trim(" \t");

        // Most values have no tab and no run of spaces to collapse: copy them whole.
        if (span.IndexOf('\t') < 0 && span.IndexOf("  ", StringComparison.Ordinal) < 0)
        {
            w.Append(span);
            return;
        }

        var space = false;
        foreach (var c in span)
        {
            if (c is ' ' or '\t')
            {
                space = true;
                continue;
            }

            if (space)
            {
                w.Append(' ');
                space = false;
            }

            w.Append(c);
        }
    }

    /// <summary>
    /// The path as sent, without "." and ".." segments or empty ones (a trailing slash is kept), each byte
    /// outside the unreserved set and '/' percent-encoded: a '%' of the sent encoding becomes "%25", which is
    /// the double encoding AWS specifies for every service but S3.
    /// </summary>
    private static void WriteUri(ref Utf8Builder w, string path)
    {
        var q = path.IndexOf('?');
        var span = q >= 0 ? path.AsSpan(0, q) : path.AsSpan();
        if (span.IndexOf('.') < 0 && span.IndexOf("//", StringComparison.Ordinal) < 0)
        {
            if (span.Length == 0 || span[0] != '/') w.Append('/');
            EncodeStrict(ref w, span, keepSlash: true);
            return;
        }

        // Rare for these APIs: resolve the segments.
        var segments = new List<Range>();
        var offset = 0;
        while (offset <= span.Length)
        {
            var slash = span[offset..].IndexOf('/');
            var end = slash < 0 ? span.Length : offset + slash;
            var segment = span[offset..end];
            if (segment.Length > 0 && !segment.SequenceEqual("."))
            {
                if (segment.SequenceEqual(".."))
                {
                    if (segments.Count > 0) segments.RemoveAt(segments.Count - 1);
                }
                else
                {
                    segments.Add(new Range(offset, end));
                }
            }

            if (slash < 0) break;
            offset = end + 1;
        }

        w.Append('/');
        for (var i = 0; i < segments.Count; i++)
        {
            if (i > 0) w.Append('/');
            EncodeStrict(ref w, span[segments[i]], keepSlash: false);
        }

        if (segments.Count > 0 && span.Length > 0 && span[^1] == '/') w.Append('/');
    }

    private static void WriteQuery(ref Utf8Builder w, string query, bool presigned)
    {
        var pairs = new List<(string Name, string Value)>();
        foreach (var part in query.Split('&'))
        {
            if (part.Length == 0) continue;
            var eq = part.IndexOf('=');
            var name = Encode(Decode(eq < 0 ? part : part[..eq]));
            var value = eq < 0 ? "" : Encode(Decode(part[(eq + 1)..]));
            if (presigned && name == "X-Amz-Signature") continue;
            pairs.Add((name, value));
        }

        pairs.Sort(static (a, b) =>
        {
            var c = string.CompareOrdinal(a.Name, b.Name);
            return c != 0 ? c : string.CompareOrdinal(a.Value, b.Value);
        });
        for (var i = 0; i < pairs.Count; i++)
        {
            if (i > 0) w.Append('&');
            w.Append(pairs[i].Name);
            w.Append('=');
            w.Append(pairs[i].Value);
        }
    }

    /// <summary>Percent-decodes <paramref name="s"/> as UTF-8; an invalid escape stays as written.</summary>
    internal static string Decode(string s)
    {
        if (s.IndexOf('%') < 0) return s;
        var bytes = new List<byte>(s.Length);
        Span<byte> one = stackalloc byte[4];
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
            {
                bytes.Add((byte)(HexValue(s[i + 1]) << 4 | HexValue(s[i + 2])));
                i += 2;
                continue;
            }

            var len = i + 1 < s.Length && char.IsSurrogatePair(s[i], s[i + 1]) ? 2 : 1;
            var n = Encoding.UTF8.GetBytes(s.AsSpan(i, len), one);
            for (var k = 0; k < n; k++) bytes.Add(one[k]);
            i += len - 1;
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static string Encode(string s)
    {
        var w = new Utf8Builder(stackalloc byte[256]);
        try
        {
            EncodeStrict(ref w, s, keepSlash: false);
            return Encoding.UTF8.GetString(w.Written);
        }
        finally
        {
            w.Dispose();
        }
    }

    /// <summary>Writes the UTF-8 of <paramref name="s"/> with every byte but A-Z a-z 0-9 - _ . ~ (and '/' if kept) as %XX.</summary>
    private static void EncodeStrict(ref Utf8Builder w, ReadOnlySpan<char> s, bool keepSlash)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c < 0x80)
            {
                if (IsUnreserved(c) || (keepSlash && c == '/')) w.Append(c);
                else w.AppendEscaped((byte)c);
                continue;
            }

            var len = i + 1 < s.Length && char.IsSurrogatePair(c, s[i + 1]) ? 2 : 1; // a lone surrogate is U+FFFD
            var n = Encoding.UTF8.GetBytes(s.Slice(i, len), utf8);
            for (var k = 0; k < n; k++) w.AppendEscaped(utf8[k]);
            i += len - 1;
        }
    }

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~';

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/// <summary>A growable UTF-8 buffer that starts on the stack and moves to a pooled array when it outgrows it.</summary>
internal ref struct Utf8Builder
{
    private const string HexUpper = "0123456789ABCDEF";

    private Span<byte> _buffer;
    private byte[]? _pooled;
    private int _length;

    public Utf8Builder(Span<byte> initial)
    {
        _buffer = initial;
        _pooled = null;
        _length = 0;
    }

    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    public void Append(char c)
    {
        if (c < 0x80)
        {
            Ensure(1);
            _buffer[_length++] = (byte)c;
            return;
        }

        Append([c]);
    }

    public void Append(scoped ReadOnlySpan<char> s)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(s.Length));
        _length += Encoding.UTF8.GetBytes(s, _buffer[_length..]);
    }

    public void Append(scoped ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer[_length..]);
        _length += bytes.Length;
    }

    /// <summary>ASCII letters lower-cased, everything else as UTF-8.</summary>
    public void AppendLower(scoped ReadOnlySpan<char> s)
    {
        // Header names are ASCII: one vectorised pass. Anything else goes character by character.
        Ensure(s.Length);
        if (System.Text.Ascii.ToLower(s, _buffer[_length..(_length + s.Length)], out var written) == OperationStatus.Done)
        {
            _length += written;
            return;
        }

        foreach (var c in s)
        {
            if (c < 0x80) Append(char.ToLowerInvariant(c));
            else Append(c);
        }
    }

    public void AppendEscaped(byte b)
    {
        Ensure(3);
        _buffer[_length++] = (byte)'%';
        _buffer[_length++] = (byte)HexUpper[b >> 4];
        _buffer[_length++] = (byte)HexUpper[b & 0xF];
    }

    public void Dispose()
    {
        if (_pooled != null) ArrayPool<byte>.Shared.Return(_pooled);
        _pooled = null;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length) return;
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer[.._length].CopyTo(next);
        if (_pooled != null) ArrayPool<byte>.Shared.Return(_pooled);
        _pooled = next;
        _buffer = next;
    }
}
