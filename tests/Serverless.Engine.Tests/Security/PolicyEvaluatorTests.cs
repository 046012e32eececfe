using System.Text.Json;
using Serverless.Engine.Security;
using Serverless.Engine.Security.Authorization;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.Security;

/// <summary>Policy parsing and single-policy evaluation: wildcards, NotAction, NotResource, Deny, conditions.</summary>
public class PolicyEvaluatorTests
{
    private const string Table = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    private static readonly Caller Alice = new(new AccessKeyOptions { AccessKeyId = "AKIDALICE", Principal = "arn:aws:iam::000000000000:user/alice" });
    private static readonly Caller Bob = new(new AccessKeyOptions { AccessKeyId = "AKIDBOB", Principal = "arn:aws:iam::000000000000:user/bob" });

    private static Decision Eval(string policy, string action, string resource, Caller? caller = null, RequestFacts? facts = null, bool resourcePolicy = false) =>
        PolicyEvaluator.Evaluate(PolicyDocument.Parse(policy, resourcePolicy ? PolicyKind.Resource : PolicyKind.Identity), action, resource,
            new PolicyVariables(caller ?? Alice, "000000000000"), facts ?? RequestFacts.Empty, resourcePolicy);

    private static string Statement(string body) => $"{{\"Version\":\"2012-10-17\",\"Statement\":[{body}]}}";

    [Theory]
    [InlineData("dynamodb:*", "dynamodb:PutItem", true)]
    [InlineData("dynamodb:Get*", "dynamodb:GetItem", true)]
    [InlineData("dynamodb:Get*", "dynamodb:PutItem", false)]
    [InlineData("DynamoDB:getitem", "dynamodb:GetItem", true)]
    [InlineData("dynamodb:?etItem", "dynamodb:GetItem", true)]
    [InlineData("*", "dynamodb:Scan", true)]
    [InlineData("dynamodb:*Item", "dynamodb:BatchWriteItem", true)]
    [InlineData("s3:*", "dynamodb:GetItem", false)]
    public void Action_Wildcards_MatchCaseInsensitively(string pattern, string action, bool allowed)
    {
        var policy = Statement($"{{\"Effect\":\"Allow\",\"Action\":\"{pattern}\",\"Resource\":\"*\"}}");
        Assert.Equal(allowed ? Decision.Allow : Decision.NotApplicable, Eval(policy, action, Table));
    }

    [Theory]
    [InlineData("arn:aws:dynamodb:*:*:table/Music", Table, true)]
    [InlineData("arn:aws:dynamodb:*:*:table/Music", Table + "/index/byYear", false)]
    [InlineData("arn:aws:dynamodb:*:*:table/Music/index/*", Table + "/index/byYear", true)]
    [InlineData("arn:aws:dynamodb:*:*:table/Music/stream/*", Table + "/stream/2026-12-01T00:00:00.000", true)]
    [InlineData("arn:aws:dynamodb:us-east-1:000000000000:table/M*", Table, true)]
    [InlineData("arn:aws:dynamodb:us-east-1:000000000000:table/music", Table, false)]
    [InlineData("arn:aws:dynamodb:eu-west-1:*:table/Music", Table, false)]
    public void Resource_Wildcards_AreCaseSensitive(string pattern, string resource, bool allowed)
    {
        var policy = Statement($"{{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"{pattern}\"}}");
        Assert.Equal(allowed ? Decision.Allow : Decision.NotApplicable, Eval(policy, "dynamodb:Query", resource));
    }

    [Fact]
    public void NotAction_AppliesToEveryOtherAction()
    {
        var policy = Statement("{\"Effect\":\"Allow\",\"NotAction\":[\"dynamodb:DeleteTable\",\"dynamodb:Delete*Item\"],\"Resource\":\"*\"}");
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:PutItem", Table));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:DeleteTable", Table));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:DeleteItem", Table));
    }

    [Fact]
    public void NotResource_AppliesToEveryOtherResource()
    {
        var policy = Statement("{\"Effect\":\"Deny\",\"Action\":\"dynamodb:*\",\"NotResource\":\"arn:aws:dynamodb:*:*:table/Music*\"}");
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:PutItem", Table));
        Assert.Equal(Decision.Deny, Eval(policy, "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:000000000000:table/Other"));
    }

    [Fact]
    public void Deny_BeatsAllow_InAnyOrder()
    {
        const string allow = "{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}";
        const string deny = "{\"Effect\":\"Deny\",\"Action\":\"dynamodb:PutItem\",\"Resource\":\"*\"}";
        Assert.Equal(Decision.Deny, Eval(Statement(allow + "," + deny), "dynamodb:PutItem", Table));
        Assert.Equal(Decision.Deny, Eval(Statement(deny + "," + allow), "dynamodb:PutItem", Table));
        Assert.Equal(Decision.Allow, Eval(Statement(deny + "," + allow), "dynamodb:GetItem", Table));
    }

    [Fact]
    public void StatementObject_AndStringActionsAndSingleStatement_Parse()
    {
        var policy = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"one\",\"Effect\":\"Allow\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + Table + "\"}}";
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", Table));
    }

    [Theory]
    [InlineData("not json", "This policy contains invalid Json")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[]}", "Could not parse the policy: Statement is empty!")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\"}]}", "Missing required field Resource")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}]}", "Invalid effect: Maybe")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\",\"Condition\":{\"StringSortOf\":{\"a\":\"b\"}}}]}", "Invalid Condition type: StringSortOf")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}]}", "Policy document should not specify a principal.")]
    public void InvalidIdentityPolicies_FailWithTheReason(string policy, string message)
    {
        var e = Assert.Throws<PolicyFormatException>(() => PolicyDocument.Parse(policy, PolicyKind.Identity));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void LeadingKeys_ForAllValues_WithUsername()
    {
        var policy = Statement("{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:GetItem\",\"dynamodb:PutItem\",\"dynamodb:Scan\"],\"Resource\":\"*\","
            + "\"Condition\":{\"ForAllValues:StringEquals\":{\"dynamodb:LeadingKeys\":[\"${aws:username}\"]}}}");
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", Table, Alice, Facts("GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"alice\"}}}")));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", Table, Bob, Facts("GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"alice\"}}}")));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:PutItem", Table, Alice, Facts("PutItem", "{\"TableName\":\"Music\",\"Item\":{\"Artist\":{\"S\":\"carol\"},\"x\":{\"N\":\"1\"}}}")));

        // ForAllValues over an absent key holds, as in IAM: a Scan names no partition key.
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:Scan", Table, Alice, Facts("Scan", "{\"TableName\":\"Music\"}")));
    }

    [Fact]
    public void LeadingKeys_OfQuery_ComeFromTheKeyCondition()
    {
        var policy = Statement("{\"Effect\":\"Allow\",\"Action\":\"dynamodb:Query\",\"Resource\":\"*\","
            + "\"Condition\":{\"ForAllValues:StringEquals\":{\"dynamodb:LeadingKeys\":[\"${aws:username}\"]},\"Null\":{\"dynamodb:LeadingKeys\":\"false\"}}}");
        var mine = Facts("Query", "{\"TableName\":\"Music\",\"KeyConditionExpression\":\"#a = :a AND #y > :y\",\"ExpressionAttributeNames\":{\"#a\":\"Artist\",\"#y\":\"Year\"},\"ExpressionAttributeValues\":{\":a\":{\"S\":\"alice\"},\":y\":{\"N\":\"1\"}}}");
        var theirs = Facts("Query", "{\"TableName\":\"Music\",\"KeyConditionExpression\":\":a = Artist\",\"ExpressionAttributeValues\":{\":a\":{\"S\":\"bob\"}}}");
        var legacy = Facts("Query", "{\"TableName\":\"Music\",\"KeyConditions\":{\"Artist\":{\"ComparisonOperator\":\"EQ\",\"AttributeValueList\":[{\"S\":\"alice\"}]}}}");
        Assert.Equal(["alice"], mine.LeadingKeys!);
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:Query", Table, Alice, mine));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:Query", Table, Alice, theirs));
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:Query", Table, Alice, legacy));
    }

    [Fact]
    public void Attributes_AreTheTopLevelNamesReadOrWritten()
    {
        var update = Facts("UpdateItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}},"
            + "\"UpdateExpression\":\"SET #t = :t, Info.Rating = :r REMOVE Old[0] ADD Plays :one\",\"ConditionExpression\":\"attribute_exists(Artist) AND size(Tracks) > :z\","
            + "\"ExpressionAttributeNames\":{\"#t\":\"Title\"},\"ExpressionAttributeValues\":{\":t\":{\"S\":\"x\"}}}");
        Assert.Equal(["Artist", "Year", "Title", "Info", "Old", "Plays", "Tracks"], update.Attributes!);
        var get = Facts("GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"}},\"ProjectionExpression\":\"Title, #i.Rating\",\"ExpressionAttributeNames\":{\"#i\":\"Info\"}}");
        Assert.Equal(["Artist", "Title", "Info"], get.Attributes!);
        Assert.Equal("SPECIFIC_ATTRIBUTES", get.Select);

        var policy = Statement("{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\",\"Condition\":{"
            + "\"ForAllValues:StringEquals\":{\"dynamodb:Attributes\":[\"Artist\",\"Year\",\"Title\",\"Info\"]},"
            + "\"StringEqualsIfExists\":{\"dynamodb:Select\":\"SPECIFIC_ATTRIBUTES\"}}}");
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", Table, Alice, get));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:UpdateItem", Table, Alice, update));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", Table, Alice, Facts("GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"}}}")));
    }

    [Fact]
    public void Select_ReturnValues_AndNegatedOperators()
    {
        var policy = Statement("{\"Effect\":\"Deny\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\",\"Condition\":{\"StringNotEquals\":{\"dynamodb:ReturnValues\":[\"NONE\",\"UPDATED_OLD\"]}}}");
        Assert.Equal(Decision.Deny, Eval(policy, "dynamodb:UpdateItem", Table, facts: Facts("UpdateItem", "{\"TableName\":\"Music\",\"ReturnValues\":\"ALL_NEW\"}")));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:UpdateItem", Table, facts: Facts("UpdateItem", "{\"TableName\":\"Music\",\"ReturnValues\":\"NONE\"}")));

        // A negated operator over an absent key holds (the key "is not" any of the values).
        Assert.Equal(Decision.Deny, Eval(policy, "dynamodb:UpdateItem", Table, facts: Facts("UpdateItem", "{\"TableName\":\"Music\"}")));
        var count = Statement("{\"Effect\":\"Allow\",\"Action\":\"dynamodb:Query\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"dynamodb:Select\":\"COUNT\"}}}");
        Assert.Equal(Decision.Allow, Eval(count, "dynamodb:Query", Table, facts: Facts("Query", "{\"TableName\":\"Music\",\"Select\":\"COUNT\"}")));
        Assert.Equal(Decision.NotApplicable, Eval(count, "dynamodb:Query", Table, facts: Facts("Query", "{\"TableName\":\"Music\"}")));
    }

    [Fact]
    public void GlobalKeys_PrincipalArn_Username_AndStringLike()
    {
        var policy = Statement("{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"arn:aws:dynamodb:*:*:table/${aws:username}-*\","
            + "\"Condition\":{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:user/a*\"},\"StringEqualsIgnoreCase\":{\"aws:username\":\"ALICE\"}}}");
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/alice-notes"));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/bob-notes"));
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/bob-notes", Bob));
    }

    [Fact]
    public void PolicyVariables_AreLiteral_InVersion2008()
    {
        var policy = "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"arn:aws:dynamodb:*:*:table/${aws:username}\"}]}";
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/alice"));
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/${aws:username}"));
    }

    [Fact]
    public void ResourcePolicy_Principals()
    {
        var named = Statement("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::000000000000:user/alice\"]},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"*\"}");
        Assert.Equal(Decision.Allow, Eval(named, "dynamodb:GetItem", Table, Alice, resourcePolicy: true));
        Assert.Equal(Decision.NotApplicable, Eval(named, "dynamodb:GetItem", Table, Bob, resourcePolicy: true));

        // The account principal delegates to the account: it grants nobody by itself, but its Deny covers everyone in it.
        var allowAccount = Statement("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"000000000000\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"*\"}");
        var denyAccount = Statement("{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:root\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"*\"}");
        Assert.Equal(Decision.NotApplicable, Eval(allowAccount, "dynamodb:GetItem", Table, Alice, resourcePolicy: true));
        Assert.Equal(Decision.Deny, Eval(denyAccount, "dynamodb:GetItem", Table, Bob, resourcePolicy: true));

        var notBob = Statement("{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::000000000000:user/bob\"},\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}");
        Assert.Equal(Decision.Deny, Eval(notBob, "dynamodb:GetItem", Table, Alice, resourcePolicy: true));
        Assert.Equal(Decision.NotApplicable, Eval(notBob, "dynamodb:GetItem", Table, Bob, resourcePolicy: true));
        Assert.Equal(Decision.Deny, Eval(Statement("{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}"), "dynamodb:GetItem", Table, Bob, resourcePolicy: true));
    }

    [Fact]
    public void Glob_BacktracksAndKeepsSubstitutedTextLiteral()
    {
        Assert.True(Pattern.Glob("a*b*c", "axxbyybzc", ignoreCase: false));
        Assert.False(Pattern.Glob("a*b*c", "axxbyybz", ignoreCase: false));
        Assert.True(Pattern.Glob("*", "", ignoreCase: false));
        var star = new Caller(new AccessKeyOptions { AccessKeyId = "K", Principal = "arn:aws:iam::000000000000:user/a*" });
        var policy = Statement("{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"arn:aws:dynamodb:*:*:table/${aws:username}\"}");
        Assert.Equal(Decision.NotApplicable, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/anything", star));
        Assert.Equal(Decision.Allow, Eval(policy, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/a*", star));
    }

    private static readonly TableDefinition Music = new()
    {
        Name = "Music", TableNumber = 1, TableId = "id", Region = "us-east-1", AccountId = "000000000000",
        HashKey = new KeyAttribute("Artist", "S"), RangeKey = new KeyAttribute("Year", "N"),
        AttributeDefinitions = [new KeyAttribute("Artist", "S"), new KeyAttribute("Year", "N")], CreationDateTime = 0,
    };

    private static RequestFacts Facts(string operation, string json)
    {
        var request = JsonDocument.Parse(json).RootElement;
        var mode = operation is "GetItem" or "Query" or "Scan" ? FactsMode.Read : FactsMode.Write;
        return RequestFacts.Build(mode, request, request, Music, null);
    }
}
