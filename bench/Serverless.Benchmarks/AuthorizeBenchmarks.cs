using System.Text.Json;
using Serverless.Engine;
using Serverless.Engine.Operations;
using Serverless.Engine.Security;

namespace Serverless.Benchmarks;

/// <summary>
/// The cost of authorization alone: <c>Authorizer.Authorize</c> for one PutItem and one GetItem request, already
/// parsed, with three identity policies: allow-all, a table-scoped allow with a Deny of other actions, and
/// fine-grained LeadingKeys (a condition, so the request's keys are read).
/// </summary>
[Config(typeof(ItemConfig))]
[MemoryDiagnoser]
public class AuthorizeBenchmarks
{
    private const int Ops = 1000;

    private static readonly Dictionary<string, string> Policies = new()
    {
        ["AllowAll"] = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""",
        ["TableScoped"] = """
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:*:*:table/items"},
              {"Effect":"Deny","Action":"dynamodb:Delete*","Resource":"*"}]}
            """,
        ["LeadingKeys"] = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:*:table/items",
              "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:username}"]}}}]}
            """,
    };

    private DynamoEngine _engine = null!;
    private OperationContext _context = null!;
    private JsonDocument _put = null!;
    private JsonDocument _get = null!;

    [Params("AllowAll", "TableScoped", "LeadingKeys")]
    public string Policy { get; set; } = "AllowAll";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _) = await ApiClient.OpenEngineAsync(durable: false);
        await new ApiClient(_engine).CallAsync(Targets.CreateTable, Requests.CreateHashTable("items"));
        var caller = new Caller(new AccessKeyOptions { AccessKeyId = "AKIDBENCH", Principal = "arn:aws:iam::000000000000:user/bench", Policy = Policies[Policy] });
        _context = new OperationContext(_engine, "us-east-1", "bench") { Caller = caller };
        _put = JsonDocument.Parse("""{"TableName":"items","Item":{"pk":{"S":"bench"},"v":{"S":"0123456789012345678901234567890123456789"}}}""");
        _get = JsonDocument.Parse("""{"TableName":"items","Key":{"pk":{"S":"bench"}}}""");
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    [Benchmark(OperationsPerInvoke = Ops)]
    public void AuthorizePutItem()
    {
        for (var i = 0; i < Ops; i++) _engine.Security.Authorizer.Authorize(_context, "DynamoDB_20120810.PutItem", _put.RootElement);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public void AuthorizeGetItem()
    {
        for (var i = 0; i < Ops; i++) _engine.Security.Authorizer.Authorize(_context, "DynamoDB_20120810.GetItem", _get.RootElement);
    }
}
