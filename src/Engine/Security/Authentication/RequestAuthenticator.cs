using System.Globalization;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// Verifies a request's SigV4 signature against the configured keys, with DynamoDB's checks in DynamoDB's order
/// and its error for each (see docs/security.md, "Signature verification").
/// </summary>
public sealed class RequestAuthenticator
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>How far X-Amz-Date may be from the server's clock, either way.</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);

    private readonly TimeProvider _time;
    private readonly Dictionary<string, KeyEntry>.AlternateLookup<ReadOnlySpan<char>> _keys;

    internal RequestAuthenticator(EngineOptions options, TimeProvider time)
    {
        _time = time;
        var keys = new Dictionary<string, KeyEntry>(StringComparer.Ordinal);
        foreach (var key in options.Auth.Keys)
            if (!string.IsNullOrEmpty(key.AccessKeyId)) keys[key.AccessKeyId] = new KeyEntry(key);
        _keys = keys.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The caller whose key signed the request; throws the AWS authentication error otherwise.</summary>
    public Caller Authenticate(in ApiRequest request, ReadOnlySpan<byte> body) =>
        Authenticate(request, body, SigningNames.ForTarget(request.Target) ?? SigningNames.DynamoDb);

    /// <summary>
    /// As <see cref="Authenticate(in ApiRequest, ReadOnlySpan{byte})"/>, with the service the credential scope must
    /// name; null accepts any (the local host's admin routes, which are no AWS API).
    /// </summary>
    public Caller Authenticate(in ApiRequest request, ReadOnlySpan<byte> body, string? signingName)
    {
        var header = request.Authorization.AsSpan().Trim();
        var queryAuth = HasQueryParameter(request.RawQuery, "X-Amz-Algorithm");
        if (header.Length > 0 && queryAuth)
            throw DynamoErrors.InvalidSignature("Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");

        var parts = header.Length > 0 ? FromHeader(request, header) : queryAuth ? FromQuery(request) : throw DynamoErrors.MissingAuthenticationToken();
        var timestamp = ParseTimestamp(parts.TimestampText);
        CheckClock(timestamp);
        if (!SignsHost(parts.SignedHeaders))
            throw DynamoErrors.InvalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        if (!parts.Algorithm.SequenceEqual(Algorithm))
            throw DynamoErrors.IncompleteSignature($"Unsupported AWS 'algorithm': '{parts.Algorithm}' (only AWS4-HMAC-SHA256 for now). ");

        // keyid/date/region/service/aws4_request; trailing slashes are ignored.
        var credential = parts.Credential.TrimEnd('/');
        if (credential.Count('/') != 4)
            throw DynamoErrors.IncompleteSignature($"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{parts.Credential}'");
        var slash = credential.IndexOf('/');
        var accessKeyId = credential[..slash];
        var scope = credential[(slash + 1)..];
        CheckScope(scope, timestamp, signingName);

        if (!_keys.TryGetValue(accessKeyId, out var key)) throw DynamoErrors.UnrecognizedClient();
        var token = parts.SecurityToken;
        if (key.Options.SessionToken is { Length: > 0 } && token.IsEmpty) throw DynamoErrors.UnrecognizedClient();

        Span<byte> bodyHash = stackalloc byte[32];
        Hashing.Sha256(body, bodyHash);
        Span<byte> bodyHashHex = stackalloc byte[64];
        WriteHex(bodyHash, bodyHashHex);
        var contentSha = request.Headers?.Get("x-amz-content-sha256");
        if (contentSha != null && !System.Text.Ascii.EqualsIgnoreCase(bodyHashHex, contentSha)) throw DynamoErrors.SignatureMismatch();

        Span<byte> canonicalHash = stackalloc byte[32];
        CanonicalRequest.Hash(request, parts.SignedHeaders, bodyHashHex, parts.Presigned, canonicalHash);

        // AWS4-HMAC-SHA256 \n timestamp \n scope \n hex(canonical hash)
        var w = new Utf8Builder(stackalloc byte[256]);
        Span<byte> expected = stackalloc byte[64];
        try
        {
            w.Append(Algorithm);
            w.Append('\n');
            Span<char> stamp = stackalloc char[16];
            FormatTimestamp(timestamp, stamp);
            w.Append(stamp);
            w.Append('\n');
            w.Append(scope);
            w.Append('\n');
            Span<byte> hex = stackalloc byte[64];
            WriteHex(canonicalHash, hex);
            w.Append(hex);

            Span<byte> mac = stackalloc byte[32];
            Hashing.HmacSha256(key.SigningKey(scope), w.Written, mac);
            WriteHex(mac, expected);
        }
        finally
        {
            w.Dispose();
        }

        if (!SignatureEquals(expected, parts.Signature)) throw DynamoErrors.SignatureMismatch();

        if (!TokenMatches(key.Options.SessionToken, token)) throw DynamoErrors.InvalidSecurityToken();
        return key.Caller;
    }

    /// <summary>What the signature checks need, from the Authorization header or from a presigned query string.</summary>
    private readonly ref struct SignatureParts(
        ReadOnlySpan<char> algorithm,
        ReadOnlySpan<char> credential,
        ReadOnlySpan<char> signature,
        ReadOnlySpan<char> signedHeaders,
        string timestampText,
        ReadOnlySpan<char> securityToken,
        bool presigned)
    {
        public ReadOnlySpan<char> Algorithm { get; } = algorithm;

        public ReadOnlySpan<char> Credential { get; } = credential;

        public ReadOnlySpan<char> Signature { get; } = signature;

        public ReadOnlySpan<char> SignedHeaders { get; } = signedHeaders;

        public string TimestampText { get; } = timestampText;

        public ReadOnlySpan<char> SecurityToken { get; } = securityToken;

        public bool Presigned { get; } = presigned;
    }

    private static SignatureParts FromHeader(in ApiRequest request, ReadOnlySpan<char> header)
    {
        // DynamoDB treats anything but an AWS4-... scheme as no signature at all.
        if (!header.StartsWith("AWS4-", StringComparison.Ordinal)) throw DynamoErrors.MissingAuthenticationToken();

        var space = header.IndexOfAny(' ', ',');
        var algorithm = space < 0 ? header : header[..space];
        var rest = space < 0 ? [] : header[space..];
        ReadOnlySpan<char> credential = [], signature = [], signedHeaders = [];
        bool hasCredential = false, hasSignature = false, hasSignedHeaders = false;

        // Parameters are separated by commas or spaces; each must be name=value; a repeated one's last value wins.
        while (rest.Length > 0)
        {
            var start = rest.IndexOfAnyExcept(' ', ',');
            if (start < 0) break;
            rest = rest[start..];
            var end = rest.IndexOfAny(' ', ',');
            var token = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[end..];
            var eq = token.IndexOf('=');
            if (eq < 0)
                throw DynamoErrors.IncompleteSignature($"'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'.");
            var name = token[..eq];
            var value = token[(eq + 1)..];
            if (name.SequenceEqual("Credential"))
            {
                credential = value;
                hasCredential = value.Length > 0;
            }
            else if (name.SequenceEqual("Signature"))
            {
                signature = value;
                hasSignature = value.Length > 0;
            }
            else if (name.SequenceEqual("SignedHeaders"))
            {
                signedHeaders = value;
                hasSignedHeaders = true;
            }
        }

        var timestamp = HeaderOrNull(request, "x-amz-date") ?? HeaderOrNull(request, "date");
        if (!hasCredential || !hasSignature || !hasSignedHeaders || timestamp is null)
        {
            var message = (hasCredential ? "" : "Authorization header requires 'Credential' parameter. ")
                + (hasSignature ? "" : "Authorization header requires 'Signature' parameter. ")
                + (hasSignedHeaders ? "" : "Authorization header requires 'SignedHeaders' parameter. ")
                + (timestamp is not null ? "" : "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
                + "Authorization=" + header.ToString();
            throw DynamoErrors.IncompleteSignature(message);
        }

        return new SignatureParts(algorithm, credential, signature, signedHeaders, timestamp, HeaderOrNull(request, "x-amz-security-token"), presigned: false);
    }

    /// <summary>A presigned request: the X-Amz-* query parameters instead of the Authorization header.</summary>
    private static SignatureParts FromQuery(in ApiRequest request)
    {
        string? algorithm = null, credential = null, signature = null, signedHeaders = null, date = null, token = null;
        foreach (var part in request.RawQuery!.Split('&'))
        {
            var eq = part.IndexOf('=');
            var name = CanonicalRequest.Decode(eq < 0 ? part : part[..eq]);
            var value = eq < 0 ? "" : CanonicalRequest.Decode(part[(eq + 1)..]);
            switch (name)
            {
                case "X-Amz-Algorithm": algorithm = value; break;
                case "X-Amz-Credential": credential = value; break;
                case "X-Amz-Signature": signature = value; break;
                case "X-Amz-SignedHeaders": signedHeaders = value; break;
                case "X-Amz-Date": date = value; break;
                case "X-Amz-Security-Token": token = value; break;
            }
        }

        if (string.IsNullOrEmpty(algorithm) || string.IsNullOrEmpty(credential) || string.IsNullOrEmpty(signature)
            || string.IsNullOrEmpty(signedHeaders) || string.IsNullOrEmpty(date))
        {
            var message = Missing(algorithm, "X-Amz-Algorithm") + Missing(credential, "X-Amz-Credential") + Missing(signature, "X-Amz-Signature")
                + Missing(signedHeaders, "X-Amz-SignedHeaders") + Missing(date, "X-Amz-Date") + "Re-examine the query-string parameters.";
            throw DynamoErrors.IncompleteSignature(message);
        }

        return new SignatureParts(algorithm, credential, signature, signedHeaders, date, token, presigned: true);

        static string Missing(string? value, string name) => string.IsNullOrEmpty(value) ? $"AWS query-string parameters must include '{name}'. " : "";
    }

    private static string? HeaderOrNull(in ApiRequest request, string name)
    {
        var value = name == "x-amz-date" && !string.IsNullOrEmpty(request.AmzDate) ? request.AmzDate : request.Headers?.Get(name);
        return string.IsNullOrEmpty(value) ? null : value;
    }

    private static bool HasQueryParameter(string? query, string name)
    {
        if (string.IsNullOrEmpty(query)) return false;
        var span = query.AsSpan();
        while (true)
        {
            var amp = span.IndexOf('&');
            var part = amp < 0 ? span : span[..amp];
            var eq = part.IndexOf('=');
            if ((eq < 0 ? part : part[..eq]).SequenceEqual(name)) return true;
            if (amp < 0) return false;
            span = span[(amp + 1)..];
        }
    }

    /// <summary>X-Amz-Date's ISO-8601 basic format (20150830T123600Z); a Date header may also be RFC 1123.</summary>
    private static DateTimeOffset ParseTimestamp(string text)
    {
        if (TryParseBasic(text, out var basic)) return basic;
        if (DateTimeOffset.TryParseExact(text, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            || DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out t))
            return t;
        throw DynamoErrors.IncompleteSignature($"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601");
    }

    private void CheckClock(DateTimeOffset timestamp)
    {
        var now = _time.GetUtcNow();
        now = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        if (timestamp < now - MaxSkew)
            throw DynamoErrors.InvalidSignature($"Signature expired: {Format(timestamp)} is now earlier than {Format(now - MaxSkew)} ({Format(now)} - 15 min.)");
        if (timestamp > now + MaxSkew)
            throw DynamoErrors.InvalidSignature($"Signature not yet current: {Format(timestamp)} is still later than {Format(now + MaxSkew)} ({Format(now)} + 15 min.)");
    }

    private static bool SignsHost(ReadOnlySpan<char> signedHeaders)
    {
        foreach (var range in signedHeaders.Split(';'))
        {
            var name = signedHeaders[range];
            if (name.Equals("host", StringComparison.OrdinalIgnoreCase) || name.SequenceEqual(":authority")) return true;
        }

        return false;
    }

    /// <summary>date/region/service/aws4_request: every part that is wrong gets its sentence, in AWS's order.</summary>
    private static void CheckScope(ReadOnlySpan<char> scope, DateTimeOffset timestamp, string? signingName)
    {
        var s1 = scope.IndexOf('/');
        var date = scope[..s1];
        var afterDate = scope[(s1 + 1)..];
        var s2 = afterDate.IndexOf('/');
        var region = afterDate[..s2];
        var afterRegion = afterDate[(s2 + 1)..];
        var s3 = afterRegion.IndexOf('/');
        var service = afterRegion[..s3];
        var terminator = afterRegion[(s3 + 1)..];

        Span<char> stamp = stackalloc char[16];
        FormatTimestamp(timestamp, stamp);
        var regionOk = IsValidRegion(region);
        var serviceOk = signingName is null ? service.Length > 0 : service.SequenceEqual(signingName);
        var terminatorOk = terminator.SequenceEqual("aws4_request");
        var dateOk = date.SequenceEqual(stamp[..8]);
        if (regionOk && serviceOk && terminatorOk && dateOk) return;

        var message = (regionOk ? "" : "Credential should be scoped to a valid region. ")
            + (serviceOk ? "" : $"Credential should be scoped to correct service: '{signingName}'. ")
            + (terminatorOk ? "" : $"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")
            + (dateOk ? "" : $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{stamp[..8]}', from '{stamp}'.");
        throw DynamoErrors.InvalidSignature(message);
    }

    /// <summary>Any region name of lower-case letters, digits and hyphens (it ends up in ARNs): us-east-1, local.</summary>
    private static bool IsValidRegion(ReadOnlySpan<char> region)
    {
        if (region.Length is 0 or > 64) return false;
        foreach (var c in region)
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')) return false;
        return true;
    }

    /// <summary>
    /// Constant-time comparison of the expected lower-case hex signature with the one sent: every character is
    /// compared, with no branch on the data. (CryptographicOperations.FixedTimeEquals is compiled without
    /// optimisation on purpose and would also need the characters narrowed first; a signature is always 64
    /// characters, so eight vector compares do the same work.)
    /// </summary>
    internal static bool SignatureEquals(ReadOnlySpan<byte> expected, ReadOnlySpan<char> sent)
    {
        if (expected.Length != 64) throw new ArgumentException("A SigV4 signature is 64 hex characters.", nameof(expected));
        if (sent.Length != 64) return false;
        var chars = System.Runtime.InteropServices.MemoryMarshal.Cast<char, ushort>(sent);
        var difference = Vector128<ushort>.Zero;
        for (var i = 0; i < 64; i += 16)
        {
            var (low, high) = Vector128.Widen(Vector128.Create(expected.Slice(i, 16)));
            difference |= (low ^ Vector128.Create(chars.Slice(i, 8))) | (high ^ Vector128.Create(chars.Slice(i + 8, 8)));
        }

        return difference == Vector128<ushort>.Zero;
    }

    private static bool TokenMatches(string? expected, ReadOnlySpan<char> sent)
    {
        if (string.IsNullOrEmpty(expected)) return sent.IsEmpty;
        return CryptographicOperations.FixedTimeEquals(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan()),
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(sent));
    }

    private static string Format(DateTimeOffset t)
    {
        Span<char> stamp = stackalloc char[16];
        FormatTimestamp(t, stamp);
        return stamp.ToString();
    }

    /// <summary>
    /// The common case, 16 characters of <c>yyyyMMddTHHmmssZ</c>, read digit by digit: a custom-format
    /// TryParseExact costs more than a hash of the request. Anything else goes to the general parse.
    /// </summary>
    private static bool TryParseBasic(string text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length != 16 || text[8] != 'T' || text[15] != 'Z') return false;
        var span = text.AsSpan();
        if (!TryDigits(span[..4], out var year) || !TryDigits(span[4..6], out var month) || !TryDigits(span[6..8], out var day)
            || !TryDigits(span[9..11], out var hour) || !TryDigits(span[11..13], out var minute) || !TryDigits(span[13..15], out var second))
            return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return false;
        timestamp = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
        }

        return true;
    }

    /// <summary>yyyyMMddTHHmmssZ into 16 characters, written digit by digit (a custom format string is slow).</summary>
    private static void FormatTimestamp(DateTimeOffset t, Span<char> destination)
    {
        var u = t.UtcDateTime;
        WriteDigits(destination[..4], u.Year);
        WriteDigits(destination[4..6], u.Month);
        WriteDigits(destination[6..8], u.Day);
        destination[8] = 'T';
        WriteDigits(destination[9..11], u.Hour);
        WriteDigits(destination[11..13], u.Minute);
        WriteDigits(destination[13..15], u.Second);
        destination[15] = 'Z';
    }

    private static void WriteDigits(Span<char> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (char)('0' + value % 10);
            value /= 10;
        }
    }

    internal static void WriteHex(ReadOnlySpan<byte> bytes, Span<byte> destination) =>
        Convert.TryToHexStringLower(bytes, destination, out _);

    /// <summary>A configured key: its caller and its derived signing keys, cached per (date, region, service).</summary>
    private sealed class KeyEntry
    {
        private const int Slots = 8;
        private readonly byte[] _secret;
        private readonly DerivedKey?[] _derived = new DerivedKey?[Slots];
        private int _next;

        public KeyEntry(AccessKeyOptions options)
        {
            Options = options;
            Caller = new Caller(options);
            _secret = System.Text.Encoding.UTF8.GetBytes("AWS4" + options.SecretAccessKey);
        }

        public AccessKeyOptions Options { get; }

        public Caller Caller { get; }

        /// <summary>kSigning for <paramref name="scope"/> (date/region/service/aws4_request), derived once per scope.</summary>
        public byte[] SigningKey(ReadOnlySpan<char> scope)
        {
            foreach (var d in _derived)
                if (d != null && scope.SequenceEqual(d.Scope)) return d.Key;

            var key = Derive(scope);
            var slot = (Interlocked.Increment(ref _next) & int.MaxValue) % Slots;
            Volatile.Write(ref _derived[slot], new DerivedKey(scope.ToString(), key));
            return key;
        }

        private byte[] Derive(ReadOnlySpan<char> scope)
        {
            // kDate = HMAC("AWS4" + secret, date), then region, service and "aws4_request" in turn.
            Span<byte> a = stackalloc byte[32];
            Span<byte> b = stackalloc byte[32];
            scoped ReadOnlySpan<byte> current = _secret;
            var output = a;
            var rest = scope;
            for (var i = 0; i < 4; i++)
            {
                var slash = rest.IndexOf('/');
                var piece = slash < 0 ? rest : rest[..slash];
                HMACSHA256.HashData(current, System.Text.Encoding.UTF8.GetBytes(piece.ToString()), output);
                current = output;
                output = output == a ? b : a;
                rest = slash < 0 ? [] : rest[(slash + 1)..];
            }

            return current.ToArray();
        }
    }

    private sealed record DerivedKey(string Scope, byte[] Key);
}
