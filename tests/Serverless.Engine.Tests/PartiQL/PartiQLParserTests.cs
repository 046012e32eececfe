using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.PartiQL;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.PartiQL;

public class PartiQLParserTests
{
    private static string Error(string statement) => Assert.Throws<DynamoException>(() => PqParser.Parse(statement)).Message;

    private static AttrValue N(string n)
    {
        DynamoNumber.TryParse(n, out var x);
        return AttrValue.FromN(x);
    }

    [Fact]
    public void Select_ParsesProjectionIndexWhereAndOrderBy()
    {
        var s = PqParser.Parse("select a, \"b\".c[2], d FROM \"Music\".\"ByArtist\" where Artist = ? and (x > 1 or not y between 1 and 2) order by SongTitle desc;");
        Assert.Equal(PqKind.Select, s.Kind);
        Assert.Equal("Music", s.Table);
        Assert.Equal("ByArtist", s.Index);
        Assert.Equal(["a", "b.c[2]", "d"], s.Projection!.Select(p => p.ToString()));
        Assert.Equal(1, s.ParameterCount);
        var order = Assert.Single(s.OrderBy!);
        Assert.Equal(("SongTitle", true), (order.Name, order.Descending));
        var and = Assert.IsType<PqAnd>(s.Where);
        Assert.IsType<PqOr>(and.Right);
    }

    [Fact]
    public void Literals_BecomeAttributeValues_AndConstantStructuresFold()
    {
        var s = PqParser.Parse("INSERT INTO t VALUE {'pk': 'a''b', 'n': -1.50e1, 'ok': TRUE, 'nil': NULL, 'l': [1, 'x'], 'ss': <<'p', 'q'>>, 'ns': <<1, 2>>, 'm': {'k': {}}}");
        var item = Assert.IsType<PqLiteral>(s.Value).Value.M;
        Assert.Equal("a'b", item["pk"].S);
        Assert.Equal("-15", item["n"].N);
        Assert.True(item["ok"].Bool);
        Assert.Equal(AttrType.Null, item["nil"].Type);
        Assert.Equal(2, item["l"].L.Count);
        Assert.Equal(AttrType.SS, item["ss"].Type);
        Assert.Equal(AttrType.NS, item["ns"].Type);
        Assert.Empty(item["m"].M["k"].M);
    }

    [Fact]
    public void Parameters_InsideStructures_AreBoundAtExecution()
    {
        var s = PqParser.Parse("INSERT INTO t VALUE {'pk': ?, 'm': {'x': ?}, 's': <<'a', 'b'>>}");
        Assert.Equal(2, s.ParameterCount);
        var value = PqValues.Build(s.Value!, [AttrValue.FromS("k"), N("3")]);
        Assert.Equal("k", value.M["pk"].S);
        Assert.Equal("3", value.M["m"].M["x"].N);
    }

    [Fact]
    public void UpdateAndDelete_ParseActionsAndReturning()
    {
        var u = PqParser.Parse("UPDATE t SET a = a + 1, b = list_append(b, [1]) SET c = set_add(c, <<'x'>>) REMOVE d, e[0] WHERE pk = 'k' RETURNING MODIFIED NEW *");
        Assert.Equal(5, u.Actions!.Count);
        Assert.Null(u.Actions[3].Value);
        Assert.Equal(PqReturning.ModifiedNew, u.Returning);
        var fromFirst = PqParser.Parse("FROM t WHERE pk = 'k' SET a = 1");
        Assert.Equal(PqKind.Update, fromFirst.Kind);
        var d = PqParser.Parse("DELETE FROM t WHERE pk = 'k' RETURNING ALL OLD *");
        Assert.Equal(PqReturning.AllOld, d.Returning);
        var e = PqParser.Parse("EXISTS(SELECT * FROM t WHERE pk = 'k' AND a > 1)");
        Assert.Equal(PqKind.Exists, e.Kind);
    }

    [Fact]
    public void Comments_AndCaseInsensitiveKeywords_AreAccepted()
    {
        var s = PqParser.Parse("-- leading\nSeLeCt * /* inline */ FROM t WHERE pk = 'x' -- trailing");
        Assert.Null(s.Projection);
        Assert.Same(s, PqParser.Parse("-- leading\nSeLeCt * /* inline */ FROM t WHERE pk = 'x' -- trailing"));
    }

    [Theory]
    [InlineData("SLECT * FROM t", "Statement wasn't well formed, can't be processed: Expected data manipulation")]
    [InlineData("SELECT * FROM t WHERE pk = 1 foo", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("SELECT * FROM t WHERE pk = 1 e5", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("SELECT * FROM t ORDER BY pk WHERE pk = 1", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("DELETE FROM t WHERE pk = 1 ORDER BY pk", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("INSERT INTO t x VALUE {'pk': 1}", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("SELECT * FROM t WHERE;", "Statement wasn't well formed, can't be processed: Unexpected term")]
    [InlineData("SELECT * FROM t WHERE NOT", "Statement wasn't well formed, can't be processed: Unexpected term")]
    [InlineData("SELECT * FROM t WHERE (", "Statement wasn't well formed, can't be processed: Unexpected term")]
    [InlineData("SELECT * FROM", "Statement wasn't well formed, can't be processed: Unexpected term")]
    [InlineData("SELECT * FROM t WHERE pk = 'p1' OR", "Statement wasn't well formed, can't be processed: Missing right-hand side expression of infix operator")]
    [InlineData("SELECT * FROM t WHERE pk = LIKE", "Statement wasn't well formed, can't be processed: Unexpected operator")]
    [InlineData("DELETE FROM;", "Statement wasn't well formed, can't be processed: Expected identifier for simple path")]
    [InlineData("DELETE FROM WHERE pk = 'a'", "Statement wasn't well formed, can't be processed: Expected identifier for simple path")]
    [InlineData("SELECT * FROM t WHERE pk = 1e2147483648", "Statement wasn't well formed, can't be processed: ")]
    [InlineData("SELECT * FROM t WHERE pk = 1 # note", "Statement wasn't well formed, can't be processed: ")]
    [InlineData("SELECT * FROM t AS x WHERE pk = 'x'", "Aliasing is not supported")]
    [InlineData("UPDATE t x SET a = 3 WHERE pk = 'x'", "Aliasing is not supported")]
    [InlineData("DELETE FROM t x WHERE pk = 'x'", "Aliasing is not supported")]
    [InlineData("SELECT * FROM t WHERE pk = 1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range under root")]
    [InlineData("SELECT * FROM t WHERE pk = 123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number under root")]
    [InlineData("INSERT INTO t VALUE {'pk': 1, 'l': [1, 1e126]}", "Number overflow. Attempting to store a number with magnitude larger than supported range under root.l[1]")]
    [InlineData("FROM t SET c = 1", "Where clause does not contain a mandatory equality on all key attributes")]
    [InlineData("FROM t SET c = 1 WHERE pk = 'a'", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("DELETE FROM t WHERE pk = 'a' RETURNING ALL NEW *", "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements.")]
    [InlineData("UPDATE t SET a = 1 WHERE pk = 'a' RETURNING ALL", "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause")]
    [InlineData("INSERT INTO t VALUE {'pk': 'a'} RETURNING ALL OLD *", "RETURNING is not supported in INSERT")]
    [InlineData("INSERT INTO t VALUE [1]", "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.")]
    [InlineData("INSERT INTO t VALUE <<{'pk': 'a'}, {'pk': 'b'}>>", "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead")]
    [InlineData("INSERT INTO t VALUE {'pk': 'a', 's': <<1, 'x'>>}", "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags")]
    [InlineData("INSERT INTO t VALUE {'pk': 'a', 's': <<'x', 'x'>>}", "Input collection contains duplicates")]
    [InlineData("INSERT INTO t VALUE {'pk': 'a', 'pk': 'b'}", "Duplicate keys in tuple. Key: pk under root")]
    [InlineData("SELECT * FROM t.i.j", "A path may contain at most 2 components in the FROM clause")]
    public void Refused_WithAwsMessage(string statement, string message) => Assert.Equal(message, Error(statement));

    [Fact]
    public void DeepNesting_IsRefused_NotAStackOverflow()
    {
        Assert.Equal("Statement wasn't well formed, can't be processed: ", Error("SELECT * FROM t WHERE " + new string('(', 5000) + "a = 1" + new string(')', 5000)));
        Assert.Equal("Statement wasn't well formed, can't be processed: ", Error("SELECT * FROM t WHERE " + string.Concat(Enumerable.Repeat("NOT ", 2000)) + "a = 1"));
        Assert.Equal("Statement wasn't well formed, can't be processed: ", Error("INSERT INTO t VALUE {'pk': " + new string('[', 3000) + new string(']', 3000) + "}"));
    }

    [Fact]
    public void StatementsCutShort_AreRefused_AtTheEnd()
    {
        Assert.Equal("Statement wasn't well formed, can't be processed: Expected type name", Error("SELECT * FROM t WHERE a IS"));
        Assert.Equal("Statement wasn't well formed, can't be processed: Unexpected term", Error("INSERT INTO t VALUE {'pk':"));
        Assert.Equal("Statement wasn't well formed, can't be processed: Unexpected term", Error("UPDATE t SET a = 1 WHERE pk = 'a' AND b IN ("));
    }

    [Theory]
    [InlineData("a = 1 AND (b = 2 OR c <> 3)", "#n0 = :v0 AND (#n1 = :v1 OR #n2 <> :v2)")]
    [InlineData("NOT (a = 1 AND b = 2) OR c != 3", "NOT (#n0 = :v0 AND #n1 = :v1) OR #n2 <> :v2")]
    [InlineData("a.b[1] IS MISSING AND c IS NOT MISSING", "attribute_not_exists(#n0.#n1[1]) AND attribute_exists(#n2)")]
    [InlineData("a IS NOT NULL AND b IS STRING", "NOT attribute_type(#n0, :v0) AND attribute_type(#n1, :v1)")]
    [InlineData("begins_with(a, 'x') AND contains(b, 1) AND size(c) >= 2 AND d IN (1, 2)", "begins_with(#n0, :v0) AND contains(#n1, :v1) AND size(#n2) >= :v2 AND #n3 IN (:v3, :v4)")]
    [InlineData("a NOT BETWEEN 1 AND 5", "NOT #n0 BETWEEN :v0 AND :v1")]
    public void Where_RendersAsJsonApiConditionText(string where, string expected)
    {
        var statement = PqParser.Parse("SELECT * FROM t WHERE " + where);
        var text = new PqExpressionText();
        var rendered = PqRenderer.Condition(statement.Where!, text, []);
        Assert.Equal(expected, rendered);
        // The JSON API's parser takes the text as it is.
        ExpressionParser.ParseCondition(rendered, text.ToAttributes());
    }

    [Fact]
    public void RenderedCondition_EvaluatesThroughTheJsonApiEvaluator()
    {
        var statement = PqParser.Parse("SELECT * FROM t WHERE n > ? AND tags IS NOT MISSING AND NOT begins_with(name, 'z')");
        var text = new PqExpressionText();
        var condition = ExpressionParser.ParseCondition(PqRenderer.Condition(statement.Where!, text, [N("3")]), text.ToAttributes());
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["n"] = N("5"), ["tags"] = AttrValue.FromL([]), ["name"] = AttrValue.FromS("alpha") };
        Assert.True(condition.Evaluate(item, text.ToAttributes()));
        item["n"] = N("2");
        Assert.False(condition.Evaluate(item, text.ToAttributes()));
    }

    [Theory]
    [InlineData("ExecuteStatement", "{\"Statement\":\"SELECT * FROM \\\"T\\\".\\\"I\\\" WHERE a = 1\"}", "dynamodb:PartiQLSelect T I")]
    [InlineData("BatchExecuteStatement", "{\"Statements\":[{\"Statement\":\"INSERT INTO T VALUE {'pk': 1}\"},{\"Statement\":\"UPDATE U SET a = 1 WHERE pk = 1\"},{\"Statement\":\"bad\"}]}",
        "dynamodb:PartiQLInsert T -|dynamodb:PartiQLUpdate U -")]
    [InlineData("ExecuteTransaction", "{\"TransactStatements\":[{\"Statement\":\"DELETE FROM T WHERE pk = 1\"},{\"Statement\":\"EXISTS(SELECT * FROM V WHERE pk = 1)\"}]}",
        "dynamodb:PartiQLDelete T -|dynamodb:PartiQLSelect V -")]
    [InlineData("GetItem", "{\"TableName\":\"T\"}", "")]
    public void Permissions_NameTheActionAndTableOfEachStatement(string operation, string json, string expected)
    {
        using var doc = JsonDocument.Parse(json);
        var permissions = PartiQLPermissions.ForRequest(operation, doc.RootElement);
        Assert.Equal(expected, string.Join("|", permissions.Select(p => $"{p.Action} {p.TableName} {p.IndexName ?? "-"}")));
    }
}
