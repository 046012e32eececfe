using Serverless.IntegrationTests.Clients;
using static Serverless.IntegrationTests.Security.PolicyHostFixture;

namespace Serverless.IntegrationTests.Security;

/// <summary>Runs <c>Clients/policies_test.py</c> (boto3: an identity-policy denial, resource policies) against the policy host.</summary>
[Collection(PolicyHostCollection.Name)]
public sealed class PolicyBoto3Tests(PolicyHostFixture fixture)
{
    [Fact]
    public async Task Boto3_DenialsAndResourcePolicies()
    {
        var output = await PythonScript.RunWithPathPythonAsync("policies_test.py", fixture.Host, new Dictionary<string, string>
        {
            ["ADMIN_KEY"] = Admin.AccessKeyId, ["ADMIN_SECRET"] = Admin.SecretAccessKey,
            ["READER_KEY"] = Reader.AccessKeyId, ["READER_SECRET"] = Reader.SecretAccessKey,
            ["NOBODY_KEY"] = Nobody.AccessKeyId, ["NOBODY_SECRET"] = Nobody.SecretAccessKey,
            ["NOBODY_ARN"] = User(Nobody.User),
        });
        Assert.Contains("OK", output);
    }
}
