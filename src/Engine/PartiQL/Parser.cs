using System.Collections.Concurrent;
using System.Globalization;
using Serverless.Engine.Model;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// Recursive-descent parser for DynamoDB's PartiQL dialect (docs/partiql.md has the grammar). It only parses:
/// the table schema is applied later, by <see cref="PqPlanner"/>. Literals become attribute values here, so a bad
/// number fails at parse time with AWS's message ("... under root.m[1]").
/// </summary>
internal sealed class PqParser
{
    private const int MaxCachedStatements = 4096;

    /// <summary>Deeper than any item DynamoDB stores (32 levels) or any sensible condition.</summary>
    private const int MaxDepth = 100;

    private static readonly ConcurrentDictionary<string, PqStatement> Cache = new(StringComparer.Ordinal);

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "BETWEEN", "IS", "INSERT", "INTO", "VALUE", "VALUES", "UPDATE", "SET",
        "REMOVE", "DELETE", "RETURNING", "ORDER", "BY", "ASC", "DESC", "EXISTS", "AS", "LIKE", "TRUE", "FALSE", "NULL", "MISSING",
    };

    private static readonly HashSet<string> TypeNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "MISSING", "NULL", "BOOLEAN", "BOOL", "BLOB", "STRING", "NUMERIC", "STRUCT", "TUPLE", "LIST", "BAG", "SEXP", "INT", "INTEGER", "INT2", "INT4",
        "INT8", "FLOAT", "DOUBLE", "DECIMAL", "REAL", "SMALLINT", "BIGINT", "CHAR", "CHARACTER", "VARCHAR", "CLOB", "SYMBOL", "TIMESTAMP", "DATE", "TIME",
    };

    private readonly List<PqToken> _tokens;
    private int _pos;
    private int _params;
    private int _depth;

    private PqParser(string text)
    {
        _tokens = PqLexer.Tokenize(text);
    }

    /// <summary>Parses a statement, or returns the one parsed before from the same text.</summary>
    public static PqStatement Parse(string text)
    {
        if (Cache.TryGetValue(text, out var cached)) return cached;
        var statement = new PqParser(text).ParseStatement();
        if (Cache.Count >= MaxCachedStatements) Cache.Clear();
        Cache.TryAdd(text, statement);
        return statement;
    }

    private PqToken Peek => _tokens[_pos];

    private PqToken PeekAt(int offset) => _tokens[Math.Min(_pos + offset, _tokens.Count - 1)];

    /// <summary>Takes the current token; the end token is never passed.</summary>
    private PqToken Next()
    {
        var t = _tokens[_pos];
        if (_pos < _tokens.Count - 1) _pos++;
        return t;
    }

    /// <summary>Bounds the recursion of parentheses, NOT and nested literals, so no statement can exhaust the stack.</summary>
    private void Enter()
    {
        if (++_depth > MaxDepth) throw PqErrors.Malformed("");
    }

    private bool AcceptKeyword(string word)
    {
        if (!Peek.IsKeyword(word)) return false;
        _pos++;
        return true;
    }

    private bool AcceptPunct(string punct)
    {
        if (!Peek.Is(punct)) return false;
        _pos++;
        return true;
    }

    private void ExpectPunct(string punct)
    {
        if (!AcceptPunct(punct)) throw Unexpected();
    }

    private void ExpectKeyword(string word)
    {
        if (!AcceptKeyword(word)) throw Unexpected();
    }

    private PqStatement ParseStatement()
    {
        var first = Peek;
        PqStatement statement;
        if (first.IsKeyword("SELECT")) statement = ParseSelect();
        else if (first.IsKeyword("INSERT")) statement = ParseInsert();
        else if (first.IsKeyword("UPDATE")) statement = ParseUpdate();
        else if (first.IsKeyword("DELETE")) statement = ParseDelete();
        else if (first.IsKeyword("FROM")) statement = ParseFromFirstUpdate();
        else if (first.IsKeyword("EXISTS")) statement = ParseExists();
        else throw PqErrors.Malformed(PqErrors.ExpectedDataManipulation);

        AcceptPunct(";");
        if (Peek.Kind != PqTok.Eof) throw PqErrors.Malformed(PqErrors.LeftoverToken);
        return statement;
    }

    private PqStatement ParseSelect()
    {
        ExpectKeyword("SELECT");
        List<PqPath>? projection = null;
        var star = false;
        do
        {
            if (AcceptPunct("*"))
            {
                star = true;
                continue;
            }

            var term = ParsePrimary();
            if (term is not PqPath path) throw PqErrors.UnsupportedOperation(term.GetType().Name[2..]);
            (projection ??= []).Add(path);
        }
        while (AcceptPunct(","));

        if (star && projection != null) throw PqErrors.Validation(PqErrors.StarAndOthers);
        if (!AcceptKeyword("FROM")) throw Unexpected();
        if (Peek.Kind is PqTok.Eof || Peek.Is(";")) throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
        var (table, index) = ParseSource(allowIndex: true);
        RejectAlias();
        var where = AcceptKeyword("WHERE") ? ParseCondition() : null;
        List<PqOrderBy>? orderBy = null;
        if (AcceptKeyword("ORDER"))
        {
            ExpectKeyword("BY");
            orderBy = [];
            do
            {
                var name = ParseName();
                var descending = false;
                if (AcceptKeyword("DESC")) descending = true;
                else AcceptKeyword("ASC");
                orderBy.Add(new PqOrderBy(name, descending));
            }
            while (AcceptPunct(","));
        }

        return new PqStatement
        {
            Kind = PqKind.Select, Table = table, Index = index, Projection = projection, Where = where, OrderBy = orderBy, ParameterCount = _params,
        };
    }

    private PqStatement ParseExists()
    {
        ExpectKeyword("EXISTS");
        ExpectPunct("(");
        var inner = ParseSelect();
        ExpectPunct(")");
        return new PqStatement { Kind = PqKind.Exists, Table = inner.Table, Index = inner.Index, Where = inner.Where, ParameterCount = _params };
    }

    private PqStatement ParseInsert()
    {
        ExpectKeyword("INSERT");
        ExpectKeyword("INTO");
        var (table, _) = ParseSource(allowIndex: false);
        if (!AcceptKeyword("VALUE")) throw PqErrors.Malformed(PqErrors.LeftoverToken);
        if (Peek.Is("<<")) throw PqErrors.Validation(PqErrors.InsertMultiple);
        var value = ParseValue();
        if (value is PqCollection { Bag: true } || value is PqLiteral { Value.Type: AttrType.SS or AttrType.NS or AttrType.BS })
            throw PqErrors.Validation(PqErrors.InsertMultiple);
        if (value is not (PqTuple or PqLiteral { Value.Type: AttrType.M })) throw PqErrors.Validation(PqErrors.InsertNotTuple);
        if (Peek.IsKeyword("RETURNING")) throw PqErrors.Validation(PqErrors.InsertReturning);
        return new PqStatement { Kind = PqKind.Insert, Table = table, Value = value, ParameterCount = _params };
    }

    private PqStatement ParseUpdate()
    {
        ExpectKeyword("UPDATE");
        var (table, _) = ParseSource(allowIndex: false);
        RejectAlias();
        var actions = ParseUpdateActions();
        if (!AcceptKeyword("WHERE")) throw PqErrors.Validation(PqErrors.IncompleteKey);
        var where = ParseCondition();
        var returning = ParseReturning();
        return new PqStatement { Kind = PqKind.Update, Table = table, Actions = actions, Where = where, Returning = returning, ParameterCount = _params };
    }

    /// <summary><c>FROM t WHERE ... SET ...</c>, the other order AWS accepts for an UPDATE.</summary>
    private PqStatement ParseFromFirstUpdate()
    {
        ExpectKeyword("FROM");
        var (table, _) = ParseSource(allowIndex: false);
        RejectAlias();
        PqExpr? where = AcceptKeyword("WHERE") ? ParseCondition() : null;
        var actions = ParseUpdateActions();
        if (where == null && Peek.IsKeyword("WHERE")) throw PqErrors.Malformed(PqErrors.LeftoverToken);
        if (where == null) throw PqErrors.Validation(PqErrors.IncompleteKey);
        var returning = ParseReturning();
        return new PqStatement { Kind = PqKind.Update, Table = table, Actions = actions, Where = where, Returning = returning, ParameterCount = _params };
    }

    private List<PqUpdateAction> ParseUpdateActions()
    {
        var actions = new List<PqUpdateAction>();
        while (true)
        {
            if (AcceptKeyword("SET"))
            {
                do
                {
                    var target = ParsePath();
                    ExpectPunct("=");
                    actions.Add(new PqUpdateAction(target, ParseSetValue()));
                }
                while (AcceptPunct(","));
            }
            else if (AcceptKeyword("REMOVE"))
            {
                do actions.Add(new PqUpdateAction(ParsePath(), null));
                while (AcceptPunct(","));
            }
            else break;
        }

        if (actions.Count == 0) throw Unexpected();
        return actions;
    }

    private PqStatement ParseDelete()
    {
        ExpectKeyword("DELETE");
        if (!AcceptKeyword("FROM")) throw Unexpected();
        if (Peek.Kind is not (PqTok.Word or PqTok.Quoted) || Peek.IsKeyword("WHERE")) throw PqErrors.Malformed(PqErrors.ExpectedIdentifier);
        var (table, _) = ParseSource(allowIndex: false);
        RejectAlias();
        if (!AcceptKeyword("WHERE")) throw PqErrors.Validation(PqErrors.IncompleteKey);
        var where = ParseCondition();
        var returningStart = _pos;
        var returning = ParseReturning();
        if (returning is not (PqReturning.None or PqReturning.AllOld))
        {
            var clause = string.Join(' ', _tokens.GetRange(returningStart + 1, _pos - returningStart - 1).Select(t => t.Text.ToUpperInvariant()));
            throw PqErrors.InvalidDeleteReturning(clause);
        }

        return new PqStatement { Kind = PqKind.Delete, Table = table, Where = where, Returning = returning, ParameterCount = _params };
    }

    private PqReturning ParseReturning()
    {
        if (!AcceptKeyword("RETURNING")) return PqReturning.None;
        bool all;
        if (AcceptKeyword("ALL")) all = true;
        else if (AcceptKeyword("MODIFIED")) all = false;
        else throw PqErrors.Validation(PqErrors.ReturningSyntax);
        bool old;
        if (AcceptKeyword("OLD")) old = true;
        else if (AcceptKeyword("NEW")) old = false;
        else throw PqErrors.Validation(PqErrors.ReturningSyntax);
        if (!AcceptPunct("*")) throw PqErrors.Validation(PqErrors.ReturningSyntax);
        return (all, old) switch
        {
            (true, true) => PqReturning.AllOld,
            (false, true) => PqReturning.ModifiedOld,
            (true, false) => PqReturning.AllNew,
            _ => PqReturning.ModifiedNew,
        };
    }

    private (string Table, string? Index) ParseSource(bool allowIndex)
    {
        if (Peek.Kind is not (PqTok.Word or PqTok.Quoted) || (Peek.Kind == PqTok.Word && Keywords.Contains(Peek.Text)))
            throw PqErrors.Malformed(PqErrors.ExpectedIdentifier);
        var table = Next().Text;
        string? index = null;
        if (AcceptPunct("."))
        {
            index = ParseName();
            if (Peek.Is(".")) throw PqErrors.Validation(PqErrors.FromPathTooLong);
            if (!allowIndex) throw PqErrors.Validation(PqErrors.OperationOnIndex);
        }

        return (table, index);
    }

    private void RejectAlias()
    {
        if (Peek.IsKeyword("AS") || Peek.Kind == PqTok.Quoted || (Peek.Kind == PqTok.Word && !Keywords.Contains(Peek.Text)))
            throw PqErrors.Validation(PqErrors.Aliasing);
    }

    private string ParseName()
    {
        var t = Peek;
        if (t.Kind == PqTok.Quoted || (t.Kind == PqTok.Word && !Keywords.Contains(t.Text)))
        {
            _pos++;
            return t.Text;
        }

        throw PqErrors.Malformed(PqErrors.ExpectedIdentifier);
    }

    private PqPath ParsePath()
    {
        var steps = new List<PqPathStep> { new(ParseName(), 0) };
        ParsePathSteps(steps);
        return new PqPath(steps);
    }

    private void ParsePathSteps(List<PqPathStep> steps)
    {
        while (true)
        {
            if (Peek.Is(".") && PeekAt(1).Kind is PqTok.Word or PqTok.Quoted)
            {
                _pos++;
                steps.Add(new PqPathStep(Next().Text, 0));
            }
            else if (Peek.Is("["))
            {
                _pos++;
                var t = Next();
                if (t.Kind != PqTok.Number || !int.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    throw PqErrors.Malformed(t.Is("*") ? "Wildcard path component like a[*].b are not supported" : PqErrors.UnexpectedTerm);
                ExpectPunct("]");
                steps.Add(new PqPathStep(null, index));
            }
            else return;
        }
    }

    // ---- conditions: OR < AND < NOT < predicate

    private PqExpr ParseCondition()
    {
        var left = ParseAnd();
        while (AcceptKeyword("OR")) left = new PqOr(left, RightOperand(ParseAnd));
        return left;
    }

    private PqExpr ParseAnd()
    {
        var left = ParseNot();
        while (AcceptKeyword("AND")) left = new PqAnd(left, RightOperand(ParseNot));
        return left;
    }

    private PqExpr RightOperand(Func<PqExpr> parse)
    {
        if (Peek.Kind == PqTok.Eof || Peek.Is(";") || Peek.Is(")")) throw PqErrors.Malformed(PqErrors.MissingRightHandSide);
        return parse();
    }

    private PqExpr ParseNot()
    {
        if (!AcceptKeyword("NOT")) return ParsePredicate();
        Enter();
        var operand = ParseNot();
        _depth--;
        return new PqNot(operand);
    }

    private PqExpr ParsePredicate()
    {
        var left = ParsePrimary();
        var t = Peek;
        if (t.Kind == PqTok.Punct && t.Text is "=" or "<>" or "!=" or "<" or "<=" or ">" or ">=")
        {
            _pos++;
            return new PqBinary(t.Text == "!=" ? "<>" : t.Text, left, ParsePrimary());
        }

        var negated = false;
        if (t.IsKeyword("NOT") && (PeekAt(1).IsKeyword("BETWEEN") || PeekAt(1).IsKeyword("IN")))
        {
            _pos++;
            negated = true;
        }

        if (AcceptKeyword("BETWEEN"))
        {
            var low = ParsePrimary();
            ExpectKeyword("AND");
            var between = new PqBetween(left, low, ParsePrimary());
            return negated ? new PqNot(between) : between;
        }

        if (AcceptKeyword("IN"))
        {
            string close;
            if (AcceptPunct("(")) close = ")";
            else if (AcceptPunct("[")) close = "]";
            else throw PqErrors.Validation(PqErrors.InOperator);
            var values = new List<PqExpr>();
            if (!Peek.Is(close))
            {
                do values.Add(ParsePrimary());
                while (AcceptPunct(","));
            }

            ExpectPunct(close);
            if (values.Count == 0 || left is not PqPath) throw PqErrors.Validation(PqErrors.InOperator);
            var inList = new PqIn(left, values);
            return negated ? new PqNot(inList) : inList;
        }

        if (AcceptKeyword("IS"))
        {
            var not = AcceptKeyword("NOT");
            var typeToken = Next();
            if (typeToken.Kind != PqTok.Word || !TypeNames.Contains(typeToken.Text)) throw PqErrors.Malformed(PqErrors.ExpectedTypeName);
            var type = typeToken.Text.ToUpperInvariant();
            // Two-word type names (DOUBLE PRECISION, CHARACTER VARYING) parse, and are then refused as types.
            if (Peek.Kind == PqTok.Word && (Peek.IsKeyword("PRECISION") || Peek.IsKeyword("VARYING"))) type += " " + Next().Text.ToUpperInvariant();
            return new PqIs(left, type, not);
        }

        return left;
    }

    /// <summary>A term: a parenthesised condition, a literal, a parameter, a path or a function call.</summary>
    private PqExpr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case PqTok.Eof:
                throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
            case PqTok.Punct when t.Text == "(":
            {
                _pos++;
                if (Peek.Kind == PqTok.Eof) throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
                Enter();
                var inner = ParseCondition();
                _depth--;
                ExpectPunct(")");
                return inner;
            }

            case PqTok.Punct when t.Text is "{" or "[" or "<<":
                return ParseValue();
            case PqTok.Punct when t.Text is "-" or "+" && PeekAt(1).Kind == PqTok.Number:
                return ParseValue();
            case PqTok.Punct when t.Text is ";" or ")" or "," or "]" or "}" or ">>":
                throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
            case PqTok.Punct:
                throw PqErrors.Malformed(PqErrors.UnexpectedOperator);
            case PqTok.String or PqTok.Number or PqTok.Param or PqTok.Ion:
                return ParseValue();
            case PqTok.Quoted:
                return ParsePath();
        }

        // A word.
        if (t.IsKeyword("TRUE") || t.IsKeyword("FALSE") || t.IsKeyword("NULL") || t.IsKeyword("MISSING")) return ParseValue();
        if (t.IsKeyword("IS") || t.IsKeyword("LIKE")) throw PqErrors.Malformed(PqErrors.UnexpectedOperator);
        if (Keywords.Contains(t.Text)) throw PqErrors.Malformed(PqErrors.UnexpectedKeyword);
        if (PeekAt(1).Is("("))
        {
            _pos += 2;
            var args = new List<PqExpr>();
            if (!Peek.Is(")"))
            {
                do args.Add(ParseSetValue());
                while (AcceptPunct(","));
            }

            ExpectPunct(")");
            return new PqCall(t.Text.ToLowerInvariant(), args);
        }

        return ParsePath();
    }

    /// <summary>A SET value: terms joined by <c>+</c> and <c>-</c>.</summary>
    private PqExpr ParseSetValue()
    {
        var left = ParsePrimary();
        while (Peek.Kind == PqTok.Punct && Peek.Text is "+" or "-")
        {
            var op = Next().Text;
            left = new PqBinary(op, left, ParsePrimary());
        }

        return left;
    }

    // ---- literals

    /// <summary>A literal or parameter; constant structures fold into one <see cref="PqLiteral"/>.</summary>
    private PqExpr ParseValue() => ParseValue("root");

    private PqExpr ParseValue(string path)
    {
        var t = Next();
        switch (t.Kind)
        {
            case PqTok.String:
                return new PqLiteral(AttrValue.FromS(t.Text));
            case PqTok.Number:
                return new PqLiteral(Number(t.Text, path));
            case PqTok.Param:
                return new PqParam(_params++);
            case PqTok.Ion:
                throw PqErrors.Validation($"Ion Literals are not supported: `{t.Text}` under key {path}");
            case PqTok.Punct when t.Text is "-" or "+":
            {
                var n = Next();
                if (n.Kind != PqTok.Number) throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
                return new PqLiteral(Number(t.Text == "-" ? "-" + n.Text : n.Text, path));
            }

            case PqTok.Punct when t.Text is "{" or "[" or "<<":
            {
                Enter();
                var nested = t.Text switch
                {
                    "{" => ParseTuple(path),
                    "[" => ParseCollection(path, "]", bag: false),
                    _ => ParseCollection(path, ">>", bag: true),
                };
                _depth--;
                return nested;
            }

            case PqTok.Word when t.IsKeyword("TRUE"):
                return new PqLiteral(AttrValue.True);
            case PqTok.Word when t.IsKeyword("FALSE"):
                return new PqLiteral(AttrValue.False);
            case PqTok.Word when t.IsKeyword("NULL"):
                return new PqLiteral(AttrValue.Null);
            case PqTok.Word when t.IsKeyword("MISSING"):
                return new PqMissing();
        }

        _pos--;
        throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
    }

    private PqExpr ParseTuple(string path)
    {
        var members = new List<KeyValuePair<string, PqExpr>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!Peek.Is("}"))
        {
            do
            {
                var key = Next();
                if (key.Kind is not (PqTok.String or PqTok.Quoted)) throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
                ExpectPunct(":");
                var value = ParseValue(path + "." + key.Text);
                if (!seen.Add(key.Text)) throw PqErrors.DuplicateTupleKey(key.Text, path);
                members.Add(new(key.Text, value));
            }
            while (AcceptPunct(","));
        }

        ExpectPunct("}");
        foreach (var m in members)
        {
            if (m.Value is not PqLiteral) return new PqTuple(members);
        }

        var map = new Dictionary<string, AttrValue>(members.Count, StringComparer.Ordinal);
        foreach (var m in members) map[m.Key] = ((PqLiteral)m.Value).Value;
        return new PqLiteral(AttrValue.FromM(map));
    }

    private PqExpr ParseCollection(string path, string close, bool bag)
    {
        var elements = new List<PqExpr>();
        if (!Peek.Is(close))
        {
            do elements.Add(ParseValue(path + "[" + elements.Count.ToString(CultureInfo.InvariantCulture) + "]"));
            while (AcceptPunct(","));
        }

        ExpectPunct(close);
        var collection = new PqCollection(elements, bag);
        foreach (var e in elements)
        {
            if (e is not PqLiteral)
            {
                if (bag) throw PqErrors.Validation(PqErrors.BagType);
                return collection;
            }
        }

        return new PqLiteral(PqValues.Build(collection, []));
    }

    private static AttrValue Number(string text, string path)
    {
        // An exponent that does not fit a 32-bit integer is a literal the parser cannot read at all.
        var e = text.AsSpan().IndexOfAny('e', 'E');
        if (e >= 0 && !int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw PqErrors.Malformed("");
        var suffix = " under " + path;
        return DynamoNumber.TryParse(text, out var n) switch
        {
            DynamoNumber.ParseStatus.Ok => AttrValue.FromN(n),
            DynamoNumber.ParseStatus.TooManyDigits => throw PqErrors.Validation("Attempting to store more than 38 significant digits in a Number" + suffix),
            DynamoNumber.ParseStatus.Overflow => throw PqErrors.Validation("Number overflow. Attempting to store a number with magnitude larger than supported range" + suffix),
            DynamoNumber.ParseStatus.Underflow => throw PqErrors.Validation("Number underflow. Attempting to store a number with magnitude smaller than supported range" + suffix),
            _ => throw PqErrors.Malformed(""),
        };
    }

    private Protocol.DynamoException Unexpected()
    {
        var t = Peek;
        if (t.Kind == PqTok.Eof || t.Is(";")) return PqErrors.Malformed(PqErrors.UnexpectedTerm);
        if (t.Kind == PqTok.Word && Keywords.Contains(t.Text)) return PqErrors.Malformed(PqErrors.UnexpectedKeyword);
        return PqErrors.Malformed(PqErrors.LeftoverToken);
    }
}
