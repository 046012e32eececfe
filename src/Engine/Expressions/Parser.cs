using System.Globalization;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>Error categories, in the priority order DynamoDB reports them (lowest index wins).</summary>
internal static class Slots
{
    // Condition / filter / key condition.
    public const int CondParens = 0;
    public const int CondUnknownFunction = 1;
    public const int CondMisusedFunction = 2;
    public const int CondReserved = 3;
    public const int CondNameOrValue = 4;
    public const int CondOperandCount = 5;
    public const int CondDistinct = 6;
    public const int CondFunction = 7;

    // Update.
    public const int UpdReserved = 0;
    public const int UpdUnknownFunction = 1;
    public const int UpdSection = 2;
    public const int UpdName = 3;
    public const int UpdValue = 4;
    public const int UpdOverlap = 5;
    public const int UpdConflict = 6;
    public const int UpdOperand = 7;
    public const int UpdFunction = 8;

    // Projection.
    public const int ProjReserved = 0;
    public const int ProjName = 1;
    public const int ProjOverlap = 2;
    public const int ProjConflict = 3;

    public const int Count = 9;

    public static void Set(string?[] slots, int slot, string message) => slots[slot] ??= message;

    public static string? First(string?[] slots)
    {
        foreach (var s in slots)
            if (s != null) return s;
        return null;
    }
}

/// <summary>
/// Hand-written recursive-descent parser for DynamoDB condition, update and projection expressions. Syntax errors
/// throw at once; semantic errors that DynamoDB reports in a fixed priority order are collected in <see cref="Errors"/>.
/// </summary>
internal sealed class Parser
{
    private readonly string _src;
    private readonly List<Token> _tokens;
    private readonly string _label;
    private readonly bool _update;
    private readonly int _reservedSlot;
    private readonly int _unknownFunctionSlot;
    private int _pos;

    public Parser(string src, string label, bool update, bool projection = false)
    {
        _src = src;
        _label = label;
        _update = update;
        _tokens = Lexer.Tokenize(src);
        _reservedSlot = update ? Slots.UpdReserved : projection ? Slots.ProjReserved : Slots.CondReserved;
        _unknownFunctionSlot = update ? Slots.UpdUnknownFunction : Slots.CondUnknownFunction;
    }

    public string?[] Errors { get; } = new string?[Slots.Count];

    /// <summary>DynamoDB's limit on the operators (AND, OR, NOT, comparators, BETWEEN, IN) of one condition.</summary>
    public const int MaxOperators = 300;

    private int _operators;

    /// <summary>Counts one operator; the 301st fails at once, as DynamoDB reports it (parentheses and functions do not count).</summary>
    private void CountOperator()
    {
        if (++_operators > MaxOperators)
            throw DynamoErrors.Validation($"Invalid {_label}: The expression contains too many operators; operator count: {_operators}");
    }

    /// <summary>True when the text holds nothing but whitespace.</summary>
    public bool IsEmpty => _tokens.Count == 1;

    private Token Cur => _tokens[_pos];

    private Token Peek(int n) => _tokens[Math.Min(_pos + n, _tokens.Count - 1)];

    private string Text(Token t) => _src.Substring(t.Start, t.End - t.Start);

    private bool IsKeyword(Token t, string keyword) =>
        t.Kind == Tok.Word && t.End - t.Start == keyword.Length &&
        string.Compare(_src, t.Start, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0;

    private bool IsGrammarKeyword(Token t) => _update
        ? IsKeyword(t, "SET") || IsKeyword(t, "REMOVE") || IsKeyword(t, "ADD") || IsKeyword(t, "DELETE")
        : IsKeyword(t, "AND") || IsKeyword(t, "OR") || IsKeyword(t, "NOT") || IsKeyword(t, "BETWEEN") || IsKeyword(t, "IN");

    private Exception Syntax()
    {
        var tok = Cur;
        var tokenText = tok.Kind == Tok.Eof ? "<EOF>" : Text(tok);
        var from = _pos > 0 ? _tokens[_pos - 1].Start : tok.Start;
        int to;
        if (tok.Kind == Tok.Eof) to = tok.Start;
        else if (_tokens[_pos + 1].Kind != Tok.Eof) to = _tokens[_pos + 1].End;
        else to = tok.End;
        return DynamoErrors.Validation(
            $"Invalid {_label}: Syntax error; token: \"{tokenText}\", near: \"{_src.Substring(from, to - from)}\"");
    }

    private void Expect(Tok kind)
    {
        if (Cur.Kind != kind) throw Syntax();
        _pos++;
    }

    private void ExpectEnd()
    {
        if (Cur.Kind != Tok.Eof) throw Syntax();
    }

    // ---------------------------------------------------------------- paths

    private DocPath ParsePath()
    {
        var elems = new List<PathElem>(2);
        ParsePathName(elems);
        while (true)
        {
            if (Cur.Kind == Tok.Dot)
            {
                _pos++;
                ParsePathName(elems);
            }
            else if (Cur.Kind == Tok.LBracket)
            {
                _pos++;
                var tok = Cur;
                if (tok.Kind != Tok.Word) throw Syntax();
                var span = _src.AsSpan(tok.Start, tok.End - tok.Start);
                foreach (var ch in span)
                    if (ch is < '0' or > '9') throw Syntax();
                if (!int.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out var index)) throw Syntax();
                _pos++;
                Expect(Tok.RBracket);
                elems.Add(new PathElem(PathElemKind.Index, null, index));
            }
            else
            {
                return new DocPath([.. elems]);
            }
        }
    }

    private void ParsePathName(List<PathElem> elems)
    {
        var tok = Cur;
        if (tok.Kind == Tok.Name && tok.End - tok.Start > 1)
        {
            elems.Add(new PathElem(PathElemKind.Placeholder, Text(tok), -1));
        }
        else if (tok.Kind == Tok.Word && _src[tok.Start] is not (>= '0' and <= '9') && !IsGrammarKeyword(tok))
        {
            var name = Text(tok);
            if (ReservedWords.IsReserved(name))
                Slots.Set(Errors, _reservedSlot, "Attribute name is a reserved keyword; reserved keyword: " + name);
            elems.Add(PathElem.OfName(name));
        }
        else
        {
            throw Syntax();
        }

        _pos++;
    }

    private bool AtFunctionCall => Cur.Kind == Tok.Word && Peek(1).Kind == Tok.LParen && !IsGrammarKeyword(Cur);

    // ---------------------------------------------------------------- conditions

    public Node ParseConditionRoot()
    {
        var root = ParseOr();
        ExpectEnd();
        CheckCondition(root);
        return root;
    }

    private Node ParseOr()
    {
        var left = ParseAnd();
        while (IsKeyword(Cur, "OR"))
        {
            _pos++;
            CountOperator();
            var right = ParseAnd();
            CheckCondition(left);
            CheckCondition(right);
            left = new OrNode(left, right);
        }

        return left;
    }

    private Node ParseAnd()
    {
        var left = ParseNot();
        while (IsKeyword(Cur, "AND"))
        {
            _pos++;
            CountOperator();
            var right = ParseNot();
            CheckCondition(left);
            CheckCondition(right);
            left = new AndNode(left, right);
        }

        return left;
    }

    private Node ParseNot()
    {
        if (!IsKeyword(Cur, "NOT")) return ParseComparison();
        _pos++;
        CountOperator();
        var operand = ParseNot();
        CheckCondition(operand);
        return new NotNode(operand);
    }

    private static bool IsConditionNode(Node n) =>
        n is CompareNode or BetweenNode or InNode or AndNode or OrNode or NotNode;

    private CompareOp? ComparatorAt(Token t) => t.Kind switch
    {
        Tok.Eq => CompareOp.Eq,
        Tok.Ne => CompareOp.Ne,
        Tok.Lt => CompareOp.Lt,
        Tok.Le => CompareOp.Le,
        Tok.Gt => CompareOp.Gt,
        Tok.Ge => CompareOp.Ge,
        _ => null,
    };

    private Node ParseComparison()
    {
        var left = ParseUnit();
        var op = ComparatorAt(Cur);
        if (op is { } cmp)
        {
            if (IsConditionNode(left)) throw Syntax();
            _pos++;
            CountOperator();
            var right = ParseOperand();
            CheckOperands(left, right);
            return new CompareNode(cmp, left, right);
        }

        if (IsKeyword(Cur, "BETWEEN"))
        {
            if (IsConditionNode(left)) throw Syntax();
            _pos++;
            CountOperator();
            var low = ParseOperand();
            if (!IsKeyword(Cur, "AND")) throw Syntax();
            _pos++;
            var high = ParseOperand();
            CheckOperands(left, low, high);
            return new BetweenNode(left, low, high);
        }

        if (IsKeyword(Cur, "IN"))
        {
            if (IsConditionNode(left)) throw Syntax();
            _pos++;
            CountOperator();
            Expect(Tok.LParen);
            var list = new List<Node> { ParseOperand() };
            while (Cur.Kind == Tok.Comma)
            {
                _pos++;
                list.Add(ParseOperand());
            }

            Expect(Tok.RParen);
            if (list.Count > 100)
                throw DynamoErrors.Validation(
                    $"Invalid {_label}: The IN operator is provided with too many operands; number of operands: {list.Count}");
            CheckOperands(left);
            CheckOperands([.. list]);
            return new InNode(left, [.. list]);
        }

        if (left is FuncNode || IsConditionNode(left)) return left;
        throw Syntax();
    }

    /// <summary>An operand where a condition is not allowed.</summary>
    private Node ParseOperand()
    {
        var node = ParseUnit();
        if (IsConditionNode(node)) throw Syntax();
        return node;
    }

    /// <summary>A parenthesised condition, a function call, a :value or a document path.</summary>
    private Node ParseUnit()
    {
        var tok = Cur;
        if (tok.Kind == Tok.LParen)
        {
            _pos++;
            var inner = ParseOr();
            Expect(Tok.RParen);
            if (inner.Parens > 0) Slots.Set(Errors, Slots.CondParens, "The expression has redundant parentheses;");
            inner.Parens++;
            return inner;
        }

        if (tok.Kind == Tok.Value)
        {
            if (tok.End - tok.Start < 2) throw Syntax();
            _pos++;
            return new ValueNode(Text(tok));
        }

        if (AtFunctionCall)
        {
            var name = Text(tok);
            _pos += 2;
            var args = new List<Node> { ParseOperand() };
            while (Cur.Kind == Tok.Comma)
            {
                _pos++;
                args.Add(ParseOperand());
            }

            Expect(Tok.RParen);
            var fn = new FuncNode(name, [.. args]);
            CheckConditionFunction(fn);
            return fn;
        }

        if (tok.Kind is Tok.Word or Tok.Name) return new PathNode(ParsePath());
        throw Syntax();
    }

    private void CheckConditionFunction(FuncNode fn)
    {
        if (!Functions.IsConditionFunction(fn.Name))
        {
            Slots.Set(Errors, Slots.CondUnknownFunction, Functions.IsUpdateFunction(fn.Name)
                ? "The function is not allowed in a condition expression; function: " + fn.Name
                : "Invalid function name; function: " + fn.Name);
            return;
        }

        CheckOperands(fn.Args);
        if (fn.Args.Length != Functions.Arity(fn.Name))
        {
            Slots.Set(Errors, Slots.CondOperandCount,
                $"Incorrect number of operands for operator or function; operator or function: {fn.Name}, number of operands: {fn.Args.Length}");
            return;
        }

        if (fn.Name is Functions.AttributeExists or Functions.AttributeNotExists && fn.Args[0] is not PathNode)
            Slots.Set(Errors, Slots.CondFunction,
                "Operator or function requires a document path; operator or function: " + fn.Name);
    }

    /// <summary>Operands may be paths, values or size(); other functions yield booleans.</summary>
    private void CheckOperands(params Node[] operands)
    {
        foreach (var n in operands)
            if (n is FuncNode f && Functions.IsBoolean(f.Name))
                Slots.Set(Errors, Slots.CondMisusedFunction,
                    "The function is not allowed to be used this way in an expression; function: " + f.Name);
    }

    /// <summary>Where a condition is required, size() is a misuse (paths and values never get here).</summary>
    private void CheckCondition(Node n)
    {
        if (n is FuncNode { Name: Functions.Size })
            Slots.Set(Errors, Slots.CondMisusedFunction,
                "The function is not allowed to be used this way in an expression; function: size");
    }

    // ---------------------------------------------------------------- update

    public List<UpdateAction> ParseUpdateRoot()
    {
        var actions = new List<UpdateAction>();
        Span<bool> seen = stackalloc bool[4];
        do
        {
            var tok = Cur;
            int section;
            if (IsKeyword(tok, "SET")) section = 0;
            else if (IsKeyword(tok, "REMOVE")) section = 1;
            else if (IsKeyword(tok, "ADD")) section = 2;
            else if (IsKeyword(tok, "DELETE")) section = 3;
            else throw Syntax();
            if (seen[section])
            {
                var sectionName = section switch { 0 => "SET", 1 => "REMOVE", 2 => "ADD", _ => "DELETE" };
                Slots.Set(Errors, Slots.UpdSection,
                    $"The \"{sectionName}\" section can only be used once in an update expression;");
            }

            seen[section] = true;
            _pos++;
            while (true)
            {
                actions.Add(section switch
                {
                    0 => ParseSetAction(),
                    1 => new UpdateAction(UpdateKind.Remove, ParsePath(), null),
                    2 => ParseAddDelete(UpdateKind.Add),
                    _ => ParseAddDelete(UpdateKind.Delete),
                });
                if (Cur.Kind != Tok.Comma) break;
                _pos++;
            }
        }
        while (Cur.Kind != Tok.Eof);

        return actions;
    }

    private UpdateAction ParseSetAction()
    {
        var path = ParsePath();
        Expect(Tok.Eq);
        return new UpdateAction(UpdateKind.Set, path, ParseSetValue());
    }

    private UpdateAction ParseAddDelete(UpdateKind kind)
    {
        var path = ParsePath();
        var tok = Cur;
        if (tok.Kind != Tok.Value || tok.End - tok.Start < 2) throw Syntax();
        _pos++;
        return new UpdateAction(kind, path, new ValueNode(Text(tok)));
    }

    private Node ParseSetValue()
    {
        var left = ParseSetOperand();
        if (Cur.Kind is not (Tok.Plus or Tok.Minus)) return left;
        var plus = Cur.Kind == Tok.Plus;
        _pos++;
        var right = ParseSetOperand();
        return new ArithNode(plus, left, right);
    }

    private Node ParseSetOperand()
    {
        var tok = Cur;
        if (tok.Kind == Tok.LParen)
        {
            _pos++;
            var inner = ParseSetValue();
            Expect(Tok.RParen);
            return inner;
        }

        if (tok.Kind == Tok.Value)
        {
            if (tok.End - tok.Start < 2) throw Syntax();
            _pos++;
            return new ValueNode(Text(tok));
        }

        if (AtFunctionCall)
        {
            var name = Text(tok);
            _pos += 2;
            var args = new List<Node> { ParseSetOperand() };
            while (Cur.Kind == Tok.Comma)
            {
                _pos++;
                args.Add(ParseSetOperand());
            }

            Expect(Tok.RParen);
            var fn = new FuncNode(name, [.. args]);
            if (!Functions.IsUpdateFunction(name))
            {
                Slots.Set(Errors, Slots.UpdUnknownFunction, Functions.IsConditionFunction(name)
                    ? "The function is not allowed in an update expression; function: " + name
                    : "Invalid function name; function: " + name);
            }
            else if (args.Count != 2)
            {
                Slots.Set(Errors, Slots.UpdFunction,
                    $"Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {args.Count}");
            }
            else if (name == Functions.IfNotExists && args[0] is not PathNode)
            {
                Slots.Set(Errors, Slots.UpdFunction,
                    "Operator or function requires a document path; operator or function: " + name);
            }

            return fn;
        }

        if (tok.Kind is Tok.Word or Tok.Name) return new PathNode(ParsePath());
        throw Syntax();
    }

    // ---------------------------------------------------------------- projection

    public List<DocPath> ParseProjectionRoot()
    {
        var paths = new List<DocPath> { ParsePath() };
        while (Cur.Kind == Tok.Comma)
        {
            _pos++;
            paths.Add(ParsePath());
        }

        ExpectEnd();
        return paths;
    }
}
