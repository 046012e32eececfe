using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// A host in Verify mode with one key per policy under test (<c>Auth__Keys__N__*</c>), and the tables they act on,
/// created by the allow-all admin key.
/// </summary>
public sealed class PolicyHostFixture : IAsyncLifetime
{
    public const string Account = "000000000000";
    public const string Music = "pol-music";
    public const string Secret = "pol-secret";
    public const string Feed = "pol-feed";
    public const string Shared = "pol-shared";

    public static string Arn(string table) => $"arn:aws:dynamodb:us-east-1:{Account}:table/{table}";

    public static string User(string name) => $"arn:aws:iam::{Account}:user/{name}";

    public static readonly PolicyKey Admin = new("AKIAPOLADMIN0EXAMPLE", "admin", """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""");

    /// <summary>Reads with wildcards (Get*, Describe*), queries and scans anything, but is explicitly denied Scan on the secret table.</summary>
    public static readonly PolicyKey Reader = new("AKIAPOLREADER0EXAMPL", "reader", """
        {"Version":"2012-10-17","Statement":[
          {"Sid":"Read","Effect":"Allow","Action":["dynamodb:Get*","dynamodb:Describe*","dynamodb:Query","dynamodb:Scan"],"Resource":"arn:aws:dynamodb:*:*:table/pol-*"},
          {"Sid":"NoSecretScan","Effect":"Deny","Action":"dynamodb:Scan","Resource":"arn:aws:dynamodb:*:*:table/pol-secret"}]}
        """);

    /// <summary>Everything except deletes, through NotAction.</summary>
    public static readonly PolicyKey Ops = new("AKIAPOLOPS000EXAMPLE", "ops", """
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["dynamodb:Delete*"],"Resource":"*"}]}
        """);

    /// <summary>Fine-grained access: only items whose partition key is the user name ("alice").</summary>
    public static readonly PolicyKey Alice = new("AKIAPOLALICE0EXAMPLE", "alice", """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:Query","dynamodb:BatchGetItem","dynamodb:BatchWriteItem"],
           "Resource":"arn:aws:dynamodb:*:*:table/pol-music",
           "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:username}"]}}}]}
        """);

    /// <summary>No identity policy at all: only resource policies can let it in.</summary>
    public static readonly PolicyKey Nobody = new("AKIAPOLNOBODY0EXAMPL", "nobody", null);

    /// <summary>Allowed everything by its identity policy; the stream's resource policy denies it.</summary>
    public static readonly PolicyKey Streamer = new("AKIAPOLSTREAM0EXAMPL", "streamer", """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}""");

    public static readonly PolicyKey[] Keys = [Admin, Reader, Ops, Alice, Nobody, Streamer];

    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The policy host has not started.");

    public string FeedStreamArn { get; private set; } = "";

    public static Dictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>();
        for (var i = 0; i < Keys.Length; i++)
        {
            env[$"Auth__Keys__{i}__AccessKeyId"] = Keys[i].AccessKeyId;
            env[$"Auth__Keys__{i}__SecretAccessKey"] = Keys[i].SecretAccessKey;
            env[$"Auth__Keys__{i}__Principal"] = User(Keys[i].User);
            if (Keys[i].Policy is { } policy) env[$"Auth__Keys__{i}__Policy"] = policy;
        }

        return env;
    }

    public async Task InitializeAsync()
    {
        _host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = false, Environment = Environment() });
        using var admin = Client(Admin);
        foreach (var name in new[] { Music, Secret, Shared })
        {
            await admin.CreateTableAsync(new CreateTableRequest
            {
                TableName = name,
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N)],
                BillingMode = BillingMode.PAY_PER_REQUEST,
            });
        }

        var feed = await admin.CreateTableAsync(new CreateTableRequest
        {
            TableName = Feed,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_IMAGE },
        });
        FeedStreamArn = feed.TableDescription.LatestStreamArn;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    public AmazonDynamoDBClient Client(PolicyKey key) => new(new BasicAWSCredentials(key.AccessKeyId, key.SecretAccessKey), new AmazonDynamoDBConfig
    {
        ServiceURL = Host.ServiceUrl,
        AuthenticationRegion = "us-east-1",
        Timeout = TimeSpan.FromSeconds(10),
        MaxErrorRetry = 0,
    });

    /// <summary>
    /// Calls the Streams API (<c>DynamoDBStreams_20120810.*</c>) with a request signed by <paramref name="key"/>
    /// (the SDK for .NET ships its Streams client in another package); returns the status and the parsed body.
    /// </summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> StreamsAsync(PolicyKey key, string operation, object request)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request));
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(Host.ServiceUrl + "/")) { Content = new ByteArrayContent(body) };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", RawApi.ContentType);
        message.Headers.TryAddWithoutValidation("X-Amz-Target", "DynamoDBStreams_20120810." + operation);
        SigV4Signer.Sign(message, body, new SigV4Key(key.AccessKeyId, key.SecretAccessKey), "us-east-1", "dynamodb", SignedRequests.Now());
        using var http = Host.CreateHttpClient();
        using var response = await http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}

/// <summary>One configured key: its id, a secret derived from it, the IAM user it stands for and its policy.</summary>
public sealed record PolicyKey(string AccessKeyId, string User, string? Policy)
{
    public string SecretAccessKey => "secret/" + AccessKeyId;
}

/// <summary>Test classes marked <c>[Collection(PolicyHostCollection.Name)]</c> share one policy host.</summary>
[CollectionDefinition(Name)]
public sealed class PolicyHostCollection : ICollectionFixture<PolicyHostFixture>
{
    public const string Name = "Policy host";
}
