using System.Text.Unicode;

namespace Serverless.Engine.Protocol;

/// <summary>
/// The one check that makes every string of a request body safe to read. System.Text.Json parses a body whose
/// strings hold bytes that are not UTF-8 (a raw 0xFF) or unpaired surrogate escapes (<c>"\ud800"</c>), and only
/// throws later, from whichever <c>GetString</c>, <c>Name</c> or base64 read meets them first. AWS's JSON layer refuses
/// such a body as a whole with a SerializationException, so the handler checks it once, right after the body parses
/// as JSON and before anything reads it: after that no string read of the request can fail on its encoding. Valid bodies cost one vectorised pass over the bytes
/// and a search for <c>\u</c>, which SDKs rarely send; nothing is allocated.
/// </summary>
internal static class RequestText
{
    /// <summary>True when every byte is well-formed UTF-8 and every <c>\u</c> surrogate escape is paired.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> body) => Utf8.IsValid(body) && SurrogateEscapesPaired(body);

    private static bool SurrogateEscapesPaired(ReadOnlySpan<byte> body)
    {
        var offset = 0;
        while (true)
        {
            var found = body[offset..].IndexOf("\\u"u8);
            if (found < 0) return true;
            var at = offset + found;
            offset = at + 2;

            // "\\u" is an escaped backslash followed by a letter: the escape is real only after an even run of backslashes before it.
            var run = 0;
            while (at - run - 1 >= 0 && body[at - run - 1] == (byte)'\\') run++;
            if ((run & 1) == 1) continue;
            if (!TryHex(body, at + 2, out var unit)) continue; // the parser rejects bad hex itself
            if (unit is < 0xD800 or > 0xDFFF) continue;
            if (unit >= 0xDC00) return false; // a low surrogate with no high one before it

            // A high surrogate must be followed at once by an escaped low one.
            if (at + 12 > body.Length) return false;
            if (body[at + 6] != (byte)'\\' || body[at + 7] != (byte)'u' || !TryHex(body, at + 8, out var low) || low is < 0xDC00 or > 0xDFFF) return false;
            offset = at + 12;
        }
    }

    private static bool TryHex(ReadOnlySpan<byte> body, int start, out int value)
    {
        value = 0;
        if (start + 4 > body.Length) return false;
        for (var i = start; i < start + 4; i++)
        {
            var b = body[i];
            int digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (digit < 0) return false;
            value = (value << 4) | digit;
        }

        return true;
    }
}
