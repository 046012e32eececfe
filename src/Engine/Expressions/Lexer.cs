namespace Serverless.Engine.Expressions;

internal enum Tok : byte
{
    Word,
    Name,
    Value,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Bad,
    Eof,
}

internal readonly record struct Token(Tok Kind, int Start, int End);

/// <summary>Splits expression text into tokens. Never fails: unknown characters become <see cref="Tok.Bad"/> tokens.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string src)
    {
        var tokens = new List<Token>(src.Length / 3 + 2);
        var i = 0;
        var lastEnd = 0;
        while (i < src.Length)
        {
            var c = src[i];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                i++;
                continue;
            }

            var start = i;
            Tok kind;
            if (IsWordChar(c))
            {
                while (i < src.Length && IsWordChar(src[i])) i++;
                kind = Tok.Word;
            }
            else if (c is '#' or ':')
            {
                i++;
                while (i < src.Length && IsWordChar(src[i])) i++;
                kind = c == '#' ? Tok.Name : Tok.Value;
            }
            else
            {
                i++;
                switch (c)
                {
                    case '(': kind = Tok.LParen; break;
                    case ')': kind = Tok.RParen; break;
                    case '[': kind = Tok.LBracket; break;
                    case ']': kind = Tok.RBracket; break;
                    case ',': kind = Tok.Comma; break;
                    case '.': kind = Tok.Dot; break;
                    case '+': kind = Tok.Plus; break;
                    case '-': kind = Tok.Minus; break;
                    case '=': kind = Tok.Eq; break;
                    case '<':
                        if (i < src.Length && src[i] == '=') { i++; kind = Tok.Le; }
                        else if (i < src.Length && src[i] == '>') { i++; kind = Tok.Ne; }
                        else kind = Tok.Lt;
                        break;
                    case '>':
                        if (i < src.Length && src[i] == '=') { i++; kind = Tok.Ge; }
                        else kind = Tok.Gt;
                        break;
                    default:
                        if (char.IsHighSurrogate(c) && i < src.Length && char.IsLowSurrogate(src[i])) i++;
                        kind = Tok.Bad;
                        break;
                }
            }

            tokens.Add(new Token(kind, start, i));
            lastEnd = i;
        }

        tokens.Add(new Token(Tok.Eof, lastEnd, lastEnd));
        return tokens;
    }

    public static bool IsWordChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';
}
