using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.DataModel;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

[DynamoDBTable("orders")]
public sealed class Order
{
    [DynamoDBHashKey("customer")]
    public string Customer { get; set; } = "";

    [DynamoDBRangeKey]
    public int OrderNumber { get; set; }

    [DynamoDBProperty("title")]
    public string? Title { get; set; }

    public List<string> Lines { get; set; } = [];

    public Dictionary<string, int> Quantities { get; set; } = [];

    public HashSet<string> Labels { get; set; } = [];

    public int? Discount { get; set; }

    public double? Weight { get; set; }

    public DateTime PlacedAt { get; set; }

    public bool Paid { get; set; }

    public decimal Total { get; set; }

    public byte[]? Signature { get; set; }

    [DynamoDBVersion]
    public int? Version { get; set; }

    [DynamoDBIgnore]
    public string Ignored { get; set; } = "";
}

/// <summary>The SDK's object persistence model (<see cref="DynamoDBContext"/>) against the service.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class DataModelTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    /// <summary>Creates "&lt;prefix&gt;orders" and a context that maps <see cref="Order"/> onto it.</summary>
    private async Task<(IAmazonDynamoDB Client, IDynamoDBContext Context, string Table)> SetUpAsync()
    {
        var client = _host.CreateClient();
        var prefix = $"ctx-{Guid.NewGuid():N}-";
        var table = prefix + "orders";
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("customer", KeyType.HASH), new KeySchemaElement("OrderNumber", KeyType.RANGE)],
            AttributeDefinitions = [new AttributeDefinition("customer", ScalarAttributeType.S), new AttributeDefinition("OrderNumber", ScalarAttributeType.N)],
        });
        var context = new DynamoDBContextBuilder()
            .WithDynamoDBClient(() => client)
            .ConfigureContext(c =>
            {
                c.TableNamePrefix = prefix;
                c.RetrieveDateTimeInUtc = true;
                c.Conversion = DynamoDBEntryConversion.V2; // lists as L, HashSet as SS (V1 would store List<string> as a set)
            })
            .Build();
        return (client, context, table);
    }

    private static Order NewOrder() => new()
    {
        Customer = "alice",
        OrderNumber = 42,
        Title = "First order",
        Lines = ["book", "pen", "book"],
        Quantities = new() { ["book"] = 2, ["pen"] = 1 },
        Labels = ["gift", "express"],
        Discount = null,
        Weight = 1.25,
        PlacedAt = new DateTime(2025, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc),
        Paid = true,
        Total = 19.99m,
        Signature = [1, 2, 3],
        Ignored = "not stored",
    };

    [Fact]
    public async Task SaveLoadDelete_RoundTripsEveryPropertyKind()
    {
        var (client, context, table) = await SetUpAsync();
        using var _ = (IDisposable)client;
        using var __ = (IDisposable)context;
        var order = NewOrder();

        await context.SaveAsync(order);
        var loaded = await context.LoadAsync<Order>("alice", 42);
        var raw = (await client.GetItemAsync(table, new() { ["customer"] = S("alice"), ["OrderNumber"] = N("42") })).Item;

        Assert.NotNull(loaded);
        Assert.Equal("First order", loaded.Title);
        Assert.Equal(["book", "pen", "book"], loaded.Lines);
        Assert.Equal(order.Quantities, loaded.Quantities);
        Assert.Equal(order.Labels.Order(), loaded.Labels.Order());
        Assert.Null(loaded.Discount);
        Assert.Equal(1.25, loaded.Weight);
        Assert.Equal(order.PlacedAt, loaded.PlacedAt);
        Assert.True(loaded.Paid);
        Assert.Equal(19.99m, loaded.Total);
        Assert.Equal(new byte[] { 1, 2, 3 }, loaded.Signature);
        Assert.Equal(0, loaded.Version);
        Assert.Equal("", loaded.Ignored);

        Assert.Equal("First order", raw["title"].S);
        Assert.Equal(["express", "gift"], raw["Labels"].SS.Order());
        Assert.True(raw["Lines"].IsLSet);
        Assert.True(raw["Quantities"].IsMSet);
        Assert.False(raw.ContainsKey("Ignored"));

        await context.DeleteAsync(loaded);
        Assert.Null(await context.LoadAsync<Order>("alice", 42));
    }

    [Fact]
    public async Task Save_WithStaleVersion_ThrowsConditionalCheckFailed()
    {
        var (client, context, _) = await SetUpAsync();
        using var c = (IDisposable)client;
        using var ctx = (IDisposable)context;
        var order = NewOrder();
        await context.SaveAsync(order);
        var first = await context.LoadAsync<Order>("alice", 42);
        var second = await context.LoadAsync<Order>("alice", 42);

        first!.Title = "first writer wins";
        await context.SaveAsync(first);
        second!.Title = "second writer loses";
        var e = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => context.SaveAsync(second));
        var current = await context.LoadAsync<Order>("alice", 42);

        Assert.Equal("ConditionalCheckFailedException", e.ErrorCode);
        Assert.Equal(1, first.Version);
        Assert.Equal("first writer wins", current!.Title);
        Assert.Equal(1, current.Version);
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => context.DeleteAsync(second));
        await context.DeleteAsync(current);
    }

    [Fact]
    public async Task Save_NewItemWithVersion_FailsWhenItemAlreadyExists()
    {
        var (client, context, _) = await SetUpAsync();
        using var c = (IDisposable)client;
        using var ctx = (IDisposable)context;
        await context.SaveAsync(NewOrder());

        // A fresh object (Version null) means "must not exist yet".
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => context.SaveAsync(NewOrder()));
    }
}
