using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// A host in Verify mode with two keys from the environment: alice's long-term key and bob's temporary one
/// (with a session token), both with an allow-all policy.
/// </summary>
public sealed class KeyedHostFixture : IAsyncLifetime
{
    public const string AllowAll = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""";

    public static readonly SigV4Key Alice = new("AKIAALICE0000EXAMPLE", "alice/K7MDENG+bPxRfiCYEXAMPLEKEY0000000");
    public static readonly SigV4Key Bob = new("ASIABOB00000EXAMPLE", "bob/K7MDENG+bPxRfiCYEXAMPLEKEY00000000", "IQoJb3JpZ2luX2VjEXAMPLE//session+token=");

    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The keyed host has not started.");

    public static Dictionary<string, string> Environment() => new()
    {
        ["Auth__Keys__0__AccessKeyId"] = Alice.AccessKeyId,
        ["Auth__Keys__0__SecretAccessKey"] = Alice.SecretAccessKey,
        ["Auth__Keys__0__Principal"] = "arn:aws:iam::000000000000:user/alice",
        ["Auth__Keys__0__Policy"] = AllowAll,
        ["Auth__Keys__1__AccessKeyId"] = Bob.AccessKeyId,
        ["Auth__Keys__1__SecretAccessKey"] = Bob.SecretAccessKey,
        ["Auth__Keys__1__SessionToken"] = Bob.SessionToken!,
        ["Auth__Keys__1__Principal"] = "arn:aws:iam::000000000000:user/bob",
        ["Auth__Keys__1__Policy"] = AllowAll,
        ["LocalHost__ClockControl"] = "true",
    };

    // With a data directory: streams need the change log.
    public async Task InitializeAsync() => _host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Environment() });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    /// <summary>An SDK client of <see cref="Host"/> with the given credentials.</summary>
    public AmazonDynamoDBClient Client(AWSCredentials credentials) => new(credentials, new AmazonDynamoDBConfig
    {
        ServiceURL = Host.ServiceUrl,
        AuthenticationRegion = "us-east-1",
        Timeout = TimeSpan.FromSeconds(10),
        MaxErrorRetry = 0,
    });
}

/// <summary>Test classes marked <c>[Collection(KeyedHostCollection.Name)]</c> share one keyed host.</summary>
[CollectionDefinition(Name)]
public sealed class KeyedHostCollection : ICollectionFixture<KeyedHostFixture>
{
    public const string Name = "Keyed host";
}
