using Serverless.IntegrationTests.Clients;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Runs <c>Clients/auth_test.py</c> against the keyed host: right keys for DynamoDB and Streams, a wrong secret,
/// an unknown key and session tokens through boto3, each failure with its golden code, message and status.
/// </summary>
[Collection(KeyedHostCollection.Name)]
public sealed class Boto3AuthenticationTests(KeyedHostFixture fixture)
{
    [Fact]
    public async Task Boto3_SignaturesAndSessionTokens()
    {
        var output = await PythonScript.RunAsync("auth_test.py", fixture.Host, new Dictionary<string, string>
        {
            ["ALICE_KEY"] = KeyedHostFixture.Alice.AccessKeyId,
            ["ALICE_SECRET"] = KeyedHostFixture.Alice.SecretAccessKey,
            ["BOB_KEY"] = KeyedHostFixture.Bob.AccessKeyId,
            ["BOB_SECRET"] = KeyedHostFixture.Bob.SecretAccessKey,
            ["BOB_TOKEN"] = KeyedHostFixture.Bob.SessionToken!,
        });
        Assert.Contains("OK", output);
        Assert.Contains("test_session_tokens", output);
    }
}
