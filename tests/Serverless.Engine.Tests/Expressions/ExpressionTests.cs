using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Expressions;

public class ExpressionTests
{
    private static AttrValue S(string s) => AttrValue.FromS(s);

    private static AttrValue N(string n)
    {
        DynamoNumber.TryParse(n, out var x);
        return AttrValue.FromN(x);
    }

    private static AttrValue L(params AttrValue[] v) => AttrValue.FromL([.. v]);

    private static AttrValue M(params (string K, AttrValue V)[] kv) =>
        AttrValue.FromM(kv.ToDictionary(p => p.K, p => p.V, StringComparer.Ordinal));

    private static Dictionary<string, AttrValue> Item(params (string K, AttrValue V)[] kv) =>
        kv.ToDictionary(p => p.K, p => p.V, StringComparer.Ordinal);

    private static ExpressionAttributes Attrs(object?[]? names = null, params (string K, AttrValue V)[] values)
    {
        Dictionary<string, string>? n = null;
        if (names != null)
        {
            n = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < names.Length; i += 2) n[(string)names[i]!] = (string)names[i + 1]!;
        }

        return new ExpressionAttributes(n, values.Length == 0 ? null : Item(values));
    }

    private static string Error(Action a) => Assert.Throws<DynamoException>(a).Message;

    private static bool Cond(string text, Dictionary<string, AttrValue>? item, params (string K, AttrValue V)[] values)
    {
        var attrs = Attrs(null, values);
        var c = ExpressionParser.ParseCondition(text, attrs);
        return c.Evaluate(item, attrs);
    }

    private static readonly Dictionary<string, AttrValue> Sample = Item(
        ("s", S("hello")), ("n", N("5")), ("b", AttrValue.FromB([1, 2, 3])), ("t", AttrValue.True),
        ("ss", AttrValue.FromSS(["x", "y"])), ("ns", AttrValue.FromNS(["1", "2"])),
        ("l", L(S("a"), N("1"))), ("m", M(("k", S("v")), ("deep", M(("z", N("9")))))));

    // ------------------------------------------------------------ conditions

    [Theory]
    [InlineData("n = :five", true)]
    [InlineData("n <> :five", false)]
    [InlineData("n < :ten", true)]
    [InlineData("n <= :five", true)]
    [InlineData("n > :five", false)]
    [InlineData("n >= :five", true)]
    [InlineData("n = :str", false)]
    [InlineData("n < :str", false)]
    [InlineData("nope <> :five", true)]
    [InlineData("nope = :five", false)]
    [InlineData("n BETWEEN :five AND :ten", true)]
    [InlineData("n between :one AND :five", true)]
    [InlineData("n IN (:one, :five)", true)]
    [InlineData("n IN (:one, :ten)", false)]
    public void Comparisons(string text, bool expected) =>
        Assert.Equal(expected, Cond(text, Sample, (":five", N("5.0")), (":ten", N("10")), (":one", N("1")), (":str", S("5"))));

    [Fact]
    public void StringAndBinaryOrdering()
    {
        Assert.True(Cond("s < :v", Sample, (":v", S("help"))));
        Assert.True(Cond("b < :v", Sample, (":v", AttrValue.FromB([1, 2, 4]))));
        Assert.False(Cond("t < :v", Sample, (":v", AttrValue.True)));
        // U+FFFF sorts before a supplementary character in UTF-8 byte order (unlike UTF-16 ordinal).
        Assert.True(Evaluator.CompareUtf8("\uFFFF", "\U0001F600") < 0);
    }

    [Fact]
    public void Precedence_NotBindsTighterThanAnd_AndTighterThanOr()
    {
        // true OR (false AND false) -> true ; (true OR false) AND false would be false.
        Assert.True(Cond("n = :five OR n = :one AND n = :one", Sample, (":five", N("5")), (":one", N("1"))));
        Assert.False(Cond("(n = :five OR n = :one) AND n = :one", Sample, (":five", N("5")), (":one", N("1"))));
        Assert.True(Cond("NOT n = :one AND n = :five", Sample, (":five", N("5")), (":one", N("1"))));
        Assert.False(Cond("NOT (n = :five AND n = :five)", Sample, (":five", N("5"))));
    }

    [Fact]
    public void Functions()
    {
        Assert.True(Cond("attribute_exists(m.deep.z)", Sample));
        Assert.False(Cond("attribute_exists(l[5])", Sample));
        Assert.True(Cond("attribute_not_exists(nope)", null));
        Assert.True(Cond("attribute_type(ss, :t)", Sample, (":t", S("SS"))));
        Assert.False(Cond("attribute_type(s, :t)", Sample, (":t", S("N"))));
        Assert.True(Cond("begins_with(s, :p)", Sample, (":p", S("hel"))));
        Assert.True(Cond("begins_with(b, :p)", Sample, (":p", AttrValue.FromB([1, 2]))));
        Assert.True(Cond("contains(s, :p)", Sample, (":p", S("ell"))));
        Assert.True(Cond("contains(ss, :p)", Sample, (":p", S("y"))));
        Assert.True(Cond("contains(ns, :p)", Sample, (":p", N("2.0"))));
        Assert.False(Cond("contains(ns, :p)", Sample, (":p", S("2"))));
        Assert.True(Cond("contains(l, :p)", Sample, (":p", S("a"))));
        Assert.True(Cond("size(s) = :v", Sample, (":v", N("5"))));
        Assert.True(Cond("size(l) = :v AND size(m) = :v AND size(ss) = :v", Sample, (":v", N("2"))));
        Assert.True(Cond("size(b) > :v", Sample, (":v", N("2"))));
        Assert.False(Cond("size(n) = :v", Sample, (":v", N("1"))));
    }

    [Fact]
    public void NamePlaceholdersAndNestedPaths()
    {
        var attrs = Attrs(["#m", "m", "#k", "k"], (":v", S("v")));
        var c = ExpressionParser.ParseCondition("#m.#k = :v AND l[0] <> #m.#k", attrs);
        Assert.True(c.Evaluate(Sample, attrs));
        attrs.ThrowIfUnused();
    }

    [Theory]
    [InlineData("a = ", "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"")]
    [InlineData("foo", "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\"")]
    [InlineData(":a a", "Invalid ConditionExpression: Syntax error; token: \"a\", near: \":a a\"")]
    [InlineData("a = :a b = :a", "Invalid ConditionExpression: Syntax error; token: \"b\", near: \":a b =\"")]
    [InlineData("a ! :a", "Invalid ConditionExpression: Syntax error; token: \"!\", near: \"a ! :a\"")]
    [InlineData("", "Invalid ConditionExpression: The expression can not be empty;")]
    [InlineData("((a = :a))", "Invalid ConditionExpression: The expression has redundant parentheses;")]
    [InlineData("foo(a)", "Invalid ConditionExpression: Invalid function name; function: foo")]
    [InlineData("if_not_exists(a, :a) = :a", "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists")]
    [InlineData("size(a)", "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size")]
    [InlineData("attribute_exists(a) = :a", "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists")]
    [InlineData("name = :a", "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name")]
    [InlineData("a.Size = :a", "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Size")]
    [InlineData("a = :x", "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x")]
    [InlineData("#x = :a", "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x")]
    [InlineData("attribute_exists(a, b)", "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2")]
    [InlineData("attribute_exists(:a)", "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists")]
    [InlineData("a = a", "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]")]
    [InlineData("begins_with(a, :n)", "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")]
    [InlineData("size(:n) = :n", "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N")]
    [InlineData("attribute_type(a, :n)", "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N")]
    [InlineData("attribute_type(a, :a)", "Invalid ConditionExpression: Invalid attribute type name found; type: x, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")]
    [InlineData("a BETWEEN :n AND :one", "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}")]
    [InlineData("a BETWEEN :n AND :a", "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:x}")]
    public void ConditionErrors(string text, string message)
    {
        var attrs = Attrs(null, (":a", S("x")), (":n", N("5")), (":one", N("1")));
        Assert.Equal(message, Error(() => ExpressionParser.ParseCondition(text, attrs)));
    }

    [Fact]
    public void InLimitAndSizeLimit()
    {
        var many = "a IN (" + string.Join(", ", Enumerable.Repeat(":a", 101)) + ")";
        Assert.Equal("Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101",
            Error(() => ExpressionParser.ParseCondition(many, Attrs(null, (":a", S("x"))))));
        var big = "attribute_exists(a" + new string('z', 4096) + ")";
        Assert.Equal($"Invalid FilterExpression: Expression size has exceeded the maximum allowed size; expression size: {big.Length}",
            Error(() => ExpressionParser.ParseFilter(big, ExpressionAttributes.Empty)));
        Assert.Equal("Invalid UpdateExpression: Expression size has exceeded the maximum allowed size;",
            Error(() => ExpressionParser.ParseUpdate("REMOVE a" + new string('z', 4096), ExpressionAttributes.Empty)));
    }

    [Fact]
    public void UnusedPlaceholders_CheckedAcrossExpressions()
    {
        var attrs = Attrs(["#a", "a", "#b", "b"], (":x", S("x")), (":y", S("y")), (":z", S("z")));
        ExpressionParser.ParseCondition("#a = :x", attrs);
        ExpressionParser.ParseUpdate("SET c = :y", attrs);
        Assert.Equal("Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}", Error(attrs.ThrowIfUnused));
        var values = Attrs(null, (":x", S("x")), (":y", S("y")), (":z", S("z")));
        ExpressionParser.ParseCondition("a = :y", values);
        Assert.Equal("Value provided in ExpressionAttributeValues unused in expressions: keys: {:x, :z}", Error(values.ThrowIfUnused));
    }

    [Fact]
    public void CompiledTreesAreCachedAndBoundPerRequest()
    {
        var a1 = Attrs(null, (":v", S("hello")));
        var a2 = Attrs(null, (":v", S("other")));
        var c1 = ExpressionParser.ParseCondition("s = :v", a1);
        var c2 = ExpressionParser.ParseCondition("s = :v", a2);
        Assert.Same(c1.Root, c2.Root);
        Assert.True(c1.Evaluate(Sample, a1));
        Assert.False(c2.Evaluate(Sample, a2));
    }

    // ------------------------------------------------------------ key conditions

    [Fact]
    public void KeyConditions()
    {
        var attrs = Attrs(["#s", "sk"], (":p", S("p")), (":a", N("1")), (":b", N("2")));
        var k = ExpressionParser.ParseKeyCondition("pk = :p AND #s BETWEEN :a AND :b", attrs);
        Assert.Equal(2, k.Count);
        Assert.Equal(new KeyCondition("pk", KeyConditionOperator.EQ, [S("p")]).AttributeName, k[0].AttributeName);
        Assert.Equal(KeyConditionOperator.BETWEEN, k[1].Operator);
        Assert.Equal("sk", k[1].AttributeName);
        Assert.Equal([N("1"), N("2")], k[1].Values);

        var flipped = ExpressionParser.ParseKeyCondition(":a < sk", Attrs(null, (":a", N("1"))));
        Assert.Equal(KeyConditionOperator.GT, flipped[0].Operator);
        Assert.Equal(KeyConditionOperator.BEGINS_WITH,
            ExpressionParser.ParseKeyCondition("begins_with(sk, :p)", Attrs(null, (":p", S("p"))))[0].Operator);
    }

    [Theory]
    [InlineData("pk = :p OR sk = :p", "Invalid operator used in KeyConditionExpression: OR")]
    [InlineData("pk <> :p", "Invalid operator used in KeyConditionExpression: <>")]
    [InlineData("contains(pk, :p)", "Invalid operator used in KeyConditionExpression: contains")]
    [InlineData("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key")]
    [InlineData("pk.x = :p", "KeyConditionExpressions cannot have conditions on nested attributes")]
    public void KeyConditionErrors(string text, string message) =>
        Assert.Equal(message, Error(() => ExpressionParser.ParseKeyCondition(text, Attrs(null, (":p", S("p"))))));

    // ------------------------------------------------------------ update

    private static Dictionary<string, AttrValue> Update(string text, IReadOnlyDictionary<string, AttrValue>? item, params (string K, AttrValue V)[] values)
    {
        var attrs = Attrs(null, values);
        return ExpressionParser.ParseUpdate(text, attrs).Apply(item, attrs);
    }

    [Fact]
    public void Set_ValuesArithmeticFunctionsAndSwap()
    {
        var before = Item(("a", N("1")), ("b", N("2")), ("l", L(N("1"))));
        var r = Update("SET a = b, b = a, c = a + :one, d = if_not_exists(nope, :one) - :one, e = if_not_exists(a, :one), " +
                       "l = list_append(l, :l), f = (:one)", before, (":one", N("1")), (":l", L(S("x"))));
        Assert.Equal(N("2"), r["a"]);
        Assert.Equal(N("1"), r["b"]);
        Assert.Equal(N("2"), r["c"]);
        Assert.Equal(N("0"), r["d"]);
        Assert.Equal(N("1"), r["e"]);
        Assert.Equal(L(N("1"), S("x")), r["l"]);
        Assert.Equal(N("1"), r["f"]);
        Assert.Equal(N("1"), before["a"]); // input untouched
    }

    [Fact]
    public void Set_NestedPathsAndListIndexes()
    {
        var before = Item(("m", M(("x", L(N("0"), N("1"))))));
        var r = Update("SET m.x[1] = :v, m.x[9] = :w, m.y = :v", before, (":v", S("v")), (":w", S("w")));
        Assert.Equal(M(("x", L(N("0"), S("v"), S("w"))), ("y", S("v"))), r["m"]);
        Assert.Equal(M(("x", L(N("0"), N("1")))), before["m"]);
        Assert.Equal("The document path provided in the update expression is invalid for update",
            Error(() => Update("SET nope.x = :v", before, (":v", S("v")))));
        Assert.Equal("The document path provided in the update expression is invalid for update",
            Error(() => Update("SET m[0] = :v", before, (":v", S("v")))));
    }

    [Fact]
    public void Set_RuntimeErrors()
    {
        var item = Item(("s", S("x")), ("n", N("9E+125")));
        Assert.Equal("The provided expression refers to an attribute that does not exist in the item",
            Error(() => Update("SET a = nope", item)));
        Assert.Equal("An operand in the update expression has an incorrect data type",
            Error(() => Update("SET a = s + s", item)));
        Assert.Equal("An operand in the update expression has an incorrect data type",
            Error(() => Update("SET a = list_append(s, :l)", item, (":l", L()))));
        Assert.Equal("Number overflow. Attempting to store a number with magnitude larger than supported range",
            Error(() => Update("SET n = n + n", item)));
    }

    [Fact]
    public void Remove_ShiftsListsAndIgnoresMissing()
    {
        var before = Item(("l", L(N("0"), N("1"), N("2"), N("3"))), ("m", M(("a", N("1")), ("b", N("2")))), ("x", N("1")));
        var r = Update("REMOVE l[1], l[2], l[10], m.a, x, nothing", before);
        Assert.Equal(L(N("0"), N("3")), r["l"]);
        Assert.Equal(M(("b", N("2"))), r["m"]);
        Assert.False(r.ContainsKey("x"));
        Assert.Equal(4, before["l"].L.Count);
    }

    [Fact]
    public void AddAndDelete()
    {
        var before = Item(("n", N("1")), ("ss", AttrValue.FromSS(["a", "b"])), ("s", S("x")));
        var r = Update("ADD n :two, ss :cd, newn :two, newset :cd", before,
            (":two", N("2")), (":cd", AttrValue.FromSS(["c", "d"])));
        Assert.Equal(N("3"), r["n"]);
        Assert.Equal(AttrValue.FromSS(["a", "b", "c", "d"]), r["ss"]);
        Assert.Equal(AttrValue.FromSS(["b"]), Update("DELETE ss :az", before, (":az", AttrValue.FromSS(["a", "z"])))["ss"]);
        Assert.Equal(N("2"), r["newn"]);
        Assert.Equal(AttrValue.FromSS(["c", "d"]), r["newset"]);

        var emptied = Update("DELETE ss :ab", before, (":ab", AttrValue.FromSS(["a", "b"])));
        Assert.False(emptied.ContainsKey("ss"));
        Assert.Equal("An operand in the update expression has an incorrect data type",
            Error(() => Update("ADD s :two", before, (":two", N("2")))));
        Assert.Equal("An operand in the update expression has an incorrect data type",
            Error(() => Update("DELETE n :ab", before, (":ab", AttrValue.FromSS(["a"])))));
    }

    [Fact]
    public void Update_ApplyToNullItemAndTopLevelNames()
    {
        var attrs = Attrs(["#k", "pk"], (":v", S("v")));
        var u = ExpressionParser.ParseUpdate("SET #k = :v, a.b = :v REMOVE c", attrs);
        Assert.Equal(["pk", "a", "c"], u.GetTopLevelAttributeNames(attrs));
        Assert.Equal(S("v"), ExpressionParser.ParseUpdate("SET x = :v", attrs).Apply(null, attrs)["x"]);
    }

    [Theory]
    [InlineData("SET a = :v SET b = :v", "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;")]
    [InlineData("SET a = :v, a.b = :v", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")]
    [InlineData("SET a = :v REMOVE a", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]")]
    [InlineData("SET a[1] = :v, a.b = :v", "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, b]")]
    [InlineData("SET MyStr = myNum + 1", "Invalid UpdateExpression: Syntax error; token: \"1\", near: \"+ 1\"")]
    [InlineData("SET MyStr = myNum Mystr2 myNum2", "Invalid UpdateExpression: Syntax error; token: \"Mystr2\", near: \"myNum Mystr2 myNum2\"")]
    [InlineData("SET a = size(b)", "Invalid UpdateExpression: The function is not allowed in an update expression; function: size")]
    [InlineData("SET a = foo(b)", "Invalid UpdateExpression: Invalid function name; function: foo")]
    [InlineData("SET a = if_not_exists(:v, :v)", "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists")]
    [InlineData("SET a = list_append(b)", "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1")]
    [InlineData("SET a = list_append(b, :v)", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S")]
    [InlineData("SET a = b + :v", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S")]
    [InlineData("ADD a :v", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING")]
    [InlineData("DELETE a :n", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER")]
    [InlineData("SET #x = :v", "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #x")]
    [InlineData("SET a = :x", "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :x")]
    [InlineData("REMOVE size", "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size")]
    [InlineData("set", "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"set\"")]
    public void UpdateErrors(string text, string message) =>
        Assert.Equal(message, Error(() => ExpressionParser.ParseUpdate(text, Attrs(null, (":v", S("v")), (":n", N("1"))))));

    // ------------------------------------------------------------ projection

    [Fact]
    public void Projection_KeepsStructureAndCompactsLists()
    {
        var item = Item(("a", N("1")), ("l", L(S("x"), S("y"), S("z"), M(("q", N("1")), ("r", N("2"))))),
            ("m", M(("k", S("v")), ("o", S("w")))));
        var attrs = Attrs(["#m", "m"]);
        var p = ExpressionParser.ParseProjection("l[3].r, l[1], #m.k, nope, l[20]", attrs);
        var r = p.Apply(item, attrs);
        Assert.Equal(2, r.Count);
        Assert.Equal(L(S("y"), M(("r", N("2")))), r["l"]);
        Assert.Equal(M(("k", S("v"))), r["m"]);
        Assert.Equal(["l", "m", "nope"], p.GetTopLevelAttributeNames(attrs));
    }

    [Theory]
    [InlineData("a, a.b", "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")]
    [InlineData("a[0], a.b", "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [0]], path two: [a, b]")]
    [InlineData("a,", "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"")]
    [InlineData("status", "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status")]
    [InlineData("#n", "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #n")]
    public void ProjectionErrors(string text, string message) =>
        Assert.Equal(message, Error(() => ExpressionParser.ParseProjection(text, ExpressionAttributes.Empty)));

    [Fact]
    public void ReservedWordList_IsComplete()
    {
        Assert.Equal(573, ReservedWords.Count);
        Assert.True(ReservedWords.IsReserved("zone"));
        Assert.False(ReservedWords.IsReserved("zones"));
    }

    // ------------------------------------------------------------ legacy

    [Fact]
    public void Legacy_Expected()
    {
        var c = LegacyParameters.FromExpected(
        [
            new ExpectedCondition("n", null, N("5"), null, null),
            new ExpectedCondition("gone", false, null, null, null),
            new ExpectedCondition("s", null, null, "BEGINS_WITH", [S("he")]),
            new ExpectedCondition("n", null, null, "BETWEEN", [N("1"), N("9")]),
            new ExpectedCondition("ss", null, null, "NOT_CONTAINS", [S("q")]),
        ], null);
        Assert.True(c.Evaluate(Sample, ExpressionAttributes.Empty));
        var or = LegacyParameters.FromExpected(
            [new ExpectedCondition("n", null, null, "EQ", [N("6")]), new ExpectedCondition("s", null, null, "NOT_NULL", null)], "OR");
        Assert.True(or.Evaluate(Sample, ExpressionAttributes.Empty));
        Assert.True(LegacyParameters.FromExpected([], null).Evaluate(null, ExpressionAttributes.Empty));
    }

    [Theory]
    [InlineData("EQ", true, "One or more parameter values were invalid: Exists and ComparisonOperator cannot be used together for Attribute: a")]
    [InlineData("NULL", null, "One or more parameter values were invalid: Invalid number of argument(s) for the NULL ComparisonOperator")]
    [InlineData("CONTAINS", null, "One or more parameter values were invalid: ComparisonOperator CONTAINS is not valid for SS AttributeValue type")]
    public void Legacy_ExpectedErrors(string op, bool? exists, string message) =>
        Assert.Equal(message, Error(() => LegacyParameters.FromExpected(
            [new ExpectedCondition("a", exists, null, op, [AttrValue.FromSS(["x"])])], null)));

    [Fact]
    public void Legacy_ExpectedValueErrors()
    {
        Assert.Equal("One or more parameter values were invalid: Value must be provided when Exists is null for Attribute: a",
            Error(() => LegacyParameters.FromExpected([new ExpectedCondition("a", null, null, null, null)], null)));
        Assert.Equal("One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a",
            Error(() => LegacyParameters.FromExpected([new ExpectedCondition("a", false, S("x"), null, null)], null)));
        Assert.Equal("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
            Error(() => LegacyParameters.FromExpected([new ExpectedCondition("a", null, null, "BETWEEN", [N("5"), N("1")])], null)));
    }

    [Fact]
    public void Legacy_AttributeUpdatesAndAttributesToGet()
    {
        var u = LegacyParameters.FromAttributeUpdates(
        [
            new AttributeUpdate("s", null, S("new")),
            new AttributeUpdate("n", "ADD", N("2")),
            new AttributeUpdate("l", "ADD", L(S("b"))),
            new AttributeUpdate("ss", "DELETE", AttrValue.FromSS(["x"])),
            new AttributeUpdate("t", "DELETE", null),
        ]);
        var r = u.Apply(Sample, ExpressionAttributes.Empty);
        Assert.Equal(S("new"), r["s"]);
        Assert.Equal(N("7"), r["n"]);
        Assert.Equal(L(S("a"), N("1"), S("b")), r["l"]);
        Assert.Equal(AttrValue.FromSS(["y"]), r["ss"]);
        Assert.False(r.ContainsKey("t"));
        Assert.Equal("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified",
            Error(() => LegacyParameters.FromAttributeUpdates([new AttributeUpdate("a", "PUT", null)])));
        Assert.Equal("One or more parameter values were invalid: ADD action is not supported for the type S",
            Error(() => LegacyParameters.FromAttributeUpdates([new AttributeUpdate("a", "ADD", S("x"))])));
        Assert.Equal("Type mismatch for attribute to update",
            Error(() => LegacyParameters.FromAttributeUpdates([new AttributeUpdate("s", "ADD", N("1"))]).Apply(Sample, ExpressionAttributes.Empty)));

        var p = LegacyParameters.FromAttributesToGet(["s", "name", "missing"]);
        Assert.Equal(["s"], p.Apply(Sample, ExpressionAttributes.Empty).Keys);
    }
}
