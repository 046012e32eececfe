using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Serverless.IntegrationTests.Console;

/// <summary>dynamodb-admin@5.3.3, unchanged, against the local host, looked at in Chromium.</summary>
[Collection(ChromiumCollection.Name)]
public sealed class DynamoDbAdminTests(ChromiumFixture chromium, SharedHostFixture fixture) : IClassFixture<SharedHostFixture>
{
    [Fact]
    public async Task DynamoDbAdmin_ListsOurTables_AndShowsAnItem()
    {
        var client = fixture.Host.CreateClient();
        var name = "AdminGui" + Guid.NewGuid().ToString("N")[..8];
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            KeySchema = [new("pk", KeyType.HASH)],
        });
        await client.PutItemAsync(name, new() { ["pk"] = new AttributeValue { S = "seen-by-dynamodb-admin" }, ["note"] = new AttributeValue { S = "hello from the engine" } });

        await using var admin = await DynamoDbAdminProcess.StartAsync(fixture.Host.ServiceUrl);
        await using var browser = await chromium.OpenAsync(admin.Url);
        var page = browser.Page;
        var response = await page.GotoAsync("/");
        Assert.True(response is { Ok: true }, admin.Output);
        var link = page.Locator($"a[href*='/tables/{name}']").First;
        await Expect(link).ToBeVisibleAsync();

        await page.GotoAsync($"/tables/{name}");
        await Expect(page.Locator("body")).ToContainTextAsync("seen-by-dynamodb-admin");
        await Expect(page.Locator("body")).ToContainTextAsync("hello from the engine");
        Assert.DoesNotContain("Error", await page.TitleAsync(), StringComparison.OrdinalIgnoreCase);
    }
}
