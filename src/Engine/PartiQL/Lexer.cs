namespace Serverless.Engine.PartiQL;

internal enum PqTok : byte
{
    /// <summary>A bare word: a keyword or an unquoted name.</summary>
    Word,

    /// <summary>A double-quoted name, its text unescaped.</summary>
    Quoted,

    /// <summary>A single-quoted string, its text unescaped.</summary>
    String,
    Number,
    Param,
    Ion,
    Punct,
    Eof,
}

internal readonly record struct PqToken(PqTok Kind, string Text, int Position)
{
    public bool Is(string punct) => Kind == PqTok.Punct && Text == punct;

    public bool IsKeyword(string word) => Kind == PqTok.Word && string.Equals(Text, word, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Splits a PartiQL statement into tokens: words, "names", 'strings', numbers, <c>?</c>, `ion` and punctuation.
/// Comments (<c>--</c> to the end of the line and <c>/* */</c>) are skipped. Text it cannot read (an unterminated
/// string or comment, a stray character) fails with AWS's "wasn't well formed" envelope and no detail.
/// </summary>
internal static class PqLexer
{
    private static readonly string[] TwoCharPuncts = ["<=", ">=", "<>", "!=", "<<", ">>", "||"];

    public static List<PqToken> Tokenize(string src)
    {
        var tokens = new List<PqToken>(src.Length / 4 + 2);
        var i = 0;
        while (i < src.Length)
        {
            var c = src[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '-' && i + 1 < src.Length && src[i + 1] == '-')
            {
                while (i < src.Length && src[i] != '\n') i++;
                continue;
            }

            if (c == '/' && i + 1 < src.Length && src[i + 1] == '*')
            {
                var end = src.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (end < 0) throw PqErrors.Malformed("");
                i = end + 2;
                continue;
            }

            var start = i;
            if (char.IsAsciiLetter(c) || c == '_' || c == '$')
            {
                while (i < src.Length && (char.IsAsciiLetterOrDigit(src[i]) || src[i] is '_' or '$')) i++;
                tokens.Add(new PqToken(PqTok.Word, src[start..i], start));
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < src.Length && char.IsAsciiDigit(src[i + 1])))
            {
                i = ReadNumber(src, i);
                tokens.Add(new PqToken(PqTok.Number, src[start..i], start));
            }
            else if (c is '\'' or '"')
            {
                tokens.Add(new PqToken(c == '"' ? PqTok.Quoted : PqTok.String, ReadQuoted(src, ref i, c), start));
            }
            else if (c == '`')
            {
                var end = src.IndexOf('`', i + 1);
                if (end < 0) throw PqErrors.Malformed("");
                tokens.Add(new PqToken(PqTok.Ion, src[(i + 1)..end], start));
                i = end + 1;
            }
            else if (c == '?')
            {
                tokens.Add(new PqToken(PqTok.Param, "?", start));
                i++;
            }
            else
            {
                string? punct = null;
                if (i + 1 < src.Length)
                {
                    foreach (var p in TwoCharPuncts)
                    {
                        if (src[i] == p[0] && src[i + 1] == p[1]) punct = p;
                    }
                }

                if (punct == null)
                {
                    if ("(),.[]{}:;*=<>+-/%".IndexOf(c) < 0) throw PqErrors.Malformed("");
                    punct = c.ToString();
                }

                tokens.Add(new PqToken(PqTok.Punct, punct, start));
                i += punct.Length;
            }
        }

        tokens.Add(new PqToken(PqTok.Eof, "", src.Length));
        return tokens;
    }

    private static int ReadNumber(string src, int i)
    {
        while (i < src.Length && char.IsAsciiDigit(src[i])) i++;
        if (i < src.Length && src[i] == '.')
        {
            i++;
            while (i < src.Length && char.IsAsciiDigit(src[i])) i++;
        }

        if (i < src.Length && src[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < src.Length && src[j] is '+' or '-') j++;
            if (j < src.Length && char.IsAsciiDigit(src[j]))
            {
                while (j < src.Length && char.IsAsciiDigit(src[j])) j++;
                i = j;
            }
        }

        return i;
    }

    /// <summary>Reads a quoted string or name; a doubled quote stands for one.</summary>
    private static string ReadQuoted(string src, ref int i, char quote)
    {
        var sb = new System.Text.StringBuilder();
        i++;
        while (true)
        {
            if (i >= src.Length) throw PqErrors.Malformed("");
            var c = src[i++];
            if (c != quote)
            {
                sb.Append(c);
                continue;
            }

            if (i < src.Length && src[i] == quote)
            {
                sb.Append(quote);
                i++;
                continue;
            }

            return sb.ToString();
        }
    }
}
