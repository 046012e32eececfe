using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Playwright;
using Serverless.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// The web console in a real browser (Debian's Chromium through Playwright) against the local host: every action is
/// done through the page, and its effect is checked with the AWS SDK, the way a second client would see it.
/// </summary>
[Collection(ChromiumCollection.Name)]
public sealed class ConsoleTests(ChromiumFixture chromium, ConsoleHostFixture fixture) : IClassFixture<ConsoleHostFixture>
{
    private HostProcess Host => fixture.Host;

    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private async Task<BrowserPage> OpenAsync(string hash)
    {
        var browser = await chromium.OpenAsync(Host.ServiceUrl);
        await browser.Page.GotoAsync("/console/#/" + hash);
        return browser;
    }

    private static async Task CreateTableAsync(IAmazonDynamoDB client, string name, bool stream = false, string sortKey = "sk")
    {
        var request = new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new(sortKey, ScalarAttributeType.S)],
            KeySchema = [new("pk", KeyType.HASH), new(sortKey, KeyType.RANGE)],
        };
        if (stream) request.StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_AND_OLD_IMAGES };
        await client.CreateTableAsync(request);
    }

    private static Dictionary<string, AttributeValue> Item(string pk, string sk, int total) => new()
    {
        ["pk"] = new AttributeValue { S = pk },
        ["sk"] = new AttributeValue { S = sk },
        ["total"] = new AttributeValue { N = total.ToString(CultureInfo.InvariantCulture) },
    };

    [Fact]
    public async Task Files_AreServedWithTypesAndETags_AndNothingOutsideTheSet()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(Host.ServiceUrl) };

        using (var redirect = await http.GetAsync("/console"))
        {
            Assert.Equal(System.Net.HttpStatusCode.MovedPermanently, redirect.StatusCode);
            Assert.Equal("console/", redirect.Headers.Location?.OriginalString);
        }

        using var index = await http.GetAsync("/console/");
        Assert.Equal(System.Net.HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html; charset=utf-8", index.Content.Headers.ContentType?.ToString());
        Assert.Contains("js/app.js", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("no-cache", index.Headers.CacheControl?.ToString());
        Assert.Contains("default-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var etag = index.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/index.html");
        again.Headers.IfNoneMatch.Add(etag);
        using (var notModified = await http.SendAsync(again))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Equal(etag, notModified.Headers.ETag);
        }

        foreach (var (path, type) in new[] { ("js/app.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml") })
        {
            using var file = await http.GetAsync("/console/" + path);
            Assert.Equal(System.Net.HttpStatusCode.OK, file.StatusCode);
            Assert.Equal(type, file.Content.Headers.ContentType?.ToString());
            Assert.Equal("nosniff", file.Headers.GetValues("X-Content-Type-Options").Single());
        }

        using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/console/js/sigv4.js")))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, head.StatusCode);
            Assert.True(head.Content.Headers.ContentLength > 0);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        // Sent byte for byte, so no client normalises the dots away first.
        foreach (var path in new[]
        {
            "/console/../Serverless.Host.dll", "/console/%2e%2e/Serverless.Host.dll", "/console/..%2fServerless.Host.dll", "/console/js/../../appsettings.json",
            "/console//etc/passwd", "/console/%2fetc%2fpasswd", "/console/js", "/console/missing.html", "/console/Serverless.Console.dll", "/console/INDEX.HTML",
        })
        {
            Assert.Equal(404, await RawStatusAsync(path));
        }
    }

    private async Task<int> RawStatusAsync(string path)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", Host.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{Host.Port}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync() ?? "";
        return int.Parse(status.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Signer_MatchesAnIndependentSigV4Implementation()
    {
        await using var browser = await OpenAsync("tables");
        var key = new SigV4Key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session/token+=");
        var body = """{"TableName":"Orders","Limit":5}""";
        var url = Host.ServiceUrl + "/admin/metrics?b=2&a=x%20y";
        var when = new DateTime(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc);

        var fromBrowser = await browser.Page.EvaluateAsync<string>("""
            async ([url, body, id, secret, token]) => {
              const { signRequest } = await import("./js/sigv4.js");
              const headers = await signRequest({
                method: "POST", url, body, service: "dynamodb", now: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
                headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query" },
                credentials: { accessKeyId: id, secretAccessKey: secret, sessionToken: token, region: "eu-west-1" },
              });
              return headers.authorization;
            }
            """, new object[] { url, body, key.AccessKeyId, key.SecretAccessKey, key.SessionToken! });

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "DynamoDB_20120810.Query");
        SigV4Signer.Sign(request, Encoding.UTF8.GetBytes(body), key, "eu-west-1", "dynamodb", when);
        Assert.Equal(request.Headers.GetValues("Authorization").Single(), fromBrowser);
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Tables_CreateWithGlobalAndLocalIndexes_ListAndDelete()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleCreate");
        await using var browser = await OpenAsync("tables");
        var page = browser.Page;

        await page.GetByTestId("new-table-name").FillAsync(name);
        await page.GetByTestId("table-pk").FillAsync("customer");
        await page.GetByTestId("table-sk").FillAsync("order");
        await page.GetByTestId("add-gsi").ClickAsync();
        var gsi = page.GetByTestId("gsi-row");
        await gsi.GetByTestId("gsi-name").FillAsync("byStatus");
        await gsi.GetByTestId("gsi-pk").FillAsync("status");
        await gsi.GetByTestId("gsi-sk").FillAsync("placed");
        await gsi.GetByTestId("gsi-sk-type").SelectOptionAsync("N");
        await page.GetByTestId("add-lsi").ClickAsync();
        var lsi = page.GetByTestId("lsi-row");
        await lsi.GetByTestId("lsi-name").FillAsync("byTotal");
        await lsi.GetByTestId("lsi-sk").FillAsync("total");
        await lsi.GetByTestId("lsi-sk-type").SelectOptionAsync("N");
        await lsi.GetByTestId("lsi-projection").SelectOptionAsync("KEYS_ONLY");
        await browser.ScreenshotAsync("create-table");
        await page.GetByTestId("create-table").ClickAsync();

        // The console opens the new table's overview.
        await Expect(page.GetByTestId("table-title")).ToHaveTextAsync(name);
        await Expect(page.GetByTestId("table-status")).ToHaveTextAsync("ACTIVE");
        await Expect(page.GetByTestId("indexes")).ToContainTextAsync("byStatus");

        var table = (await client.DescribeTableAsync(name)).Table;
        Assert.Equal(["customer", "order"], table.KeySchema.Select(k => k.AttributeName));
        var byStatus = Assert.Single(table.GlobalSecondaryIndexes);
        Assert.Equal("byStatus", byStatus.IndexName);
        Assert.Equal(["status", "placed"], byStatus.KeySchema.Select(k => k.AttributeName));
        var byTotal = Assert.Single(table.LocalSecondaryIndexes);
        Assert.Equal(["customer", "total"], byTotal.KeySchema.Select(k => k.AttributeName));
        Assert.Equal(ProjectionType.KEYS_ONLY, byTotal.Projection.ProjectionType);
        Assert.Equal(ScalarAttributeType.N, table.AttributeDefinitions.Single(d => d.AttributeName == "total").AttributeType);

        await page.GotoAsync("/console/#/tables");
        var row = page.Locator($"[data-testid=table-row][data-table='{name}']");
        await Expect(row).ToContainTextAsync("ACTIVE");
        await browser.ScreenshotAsync("tables");
        await row.GetByTestId("delete-table").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTableAsync(name));
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Items_CreateAsDynamoDbJson_EditAsPlainJson_QueryAndPage()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleItems");
        await CreateTableAsync(client, name);
        await using var browser = await OpenAsync($"tables/{name}/items");
        var page = browser.Page;

        // Create an item as DynamoDB JSON.
        await page.GetByTestId("new-item").ClickAsync();
        await page.GetByTestId("item-json").FillAsync("""{"pk":{"S":"c#1"},"sk":{"S":"o#1"},"total":{"N":"10"},"tags":{"SS":["gift","rush"]}}""");
        await page.GetByTestId("save-item").ClickAsync();
        await Expect(page.GetByTestId("item-saved")).ToBeVisibleAsync();
        var created = (await client.GetItemAsync(name, new() { ["pk"] = new() { S = "c#1" }, ["sk"] = new() { S = "o#1" } })).Item;
        Assert.Equal("10", created["total"].N);
        Assert.Equal(["gift", "rush"], created["tags"].SS.Order());

        // Edit it as plain JSON: the editor shows numbers as numbers, and says the set would become a list.
        await Expect(page.GetByTestId("item-row")).ToHaveCountAsync(1);
        await page.GetByTestId("item-row").ClickAsync();
        await page.GetByTestId("format-plain").ClickAsync();
        var plain = JsonDocument.Parse(await page.GetByTestId("item-json").InputValueAsync()).RootElement;
        Assert.Equal(10, plain.GetProperty("total").GetInt32());
        await Expect(page.GetByTestId("item-editor")).ToContainTextAsync("sets as lists");
        await browser.ScreenshotAsync("item-editor");
        await page.GetByTestId("item-json").FillAsync("""{"pk":"c#1","sk":"o#1","total":25,"status":"PAID","paid":true}""");
        await page.GetByTestId("save-item").ClickAsync();
        await Expect(page.GetByTestId("item-saved")).ToBeVisibleAsync();
        var edited = (await client.GetItemAsync(name, new() { ["pk"] = new() { S = "c#1" }, ["sk"] = new() { S = "o#1" } })).Item;
        Assert.Equal("25", edited["total"].N);
        Assert.Equal("PAID", edited["status"].S);
        Assert.True(edited["paid"].BOOL);
        Assert.False(edited.ContainsKey("tags"));

        // Query with a key condition and a filter.
        await client.PutItemAsync(name, Item("c#1", "o#2", 5));
        await client.PutItemAsync(name, Item("c#1", "o#3", 30));
        await client.PutItemAsync(name, Item("c#1", "x#1", 99));
        await client.PutItemAsync(name, Item("c#2", "o#1", 40));
        await page.GetByTestId("mode").SelectOptionAsync("query");
        await page.GetByTestId("pk-value").FillAsync("c#1");
        await page.GetByTestId("sk-operator").SelectOptionAsync("begins_with");
        await page.GetByTestId("sk-value").FillAsync("o#");
        await page.GetByTestId("add-filter").ClickAsync();
        await page.GetByTestId("filter-attribute").FillAsync("total");
        await page.GetByTestId("filter-operator").SelectOptionAsync(">=");
        await page.GetByTestId("filter-type").SelectOptionAsync("N");
        await page.GetByTestId("filter-value").FillAsync("20");
        await page.GetByTestId("run-query").ClickAsync();
        await Expect(page.GetByTestId("result-count")).ToHaveTextAsync("2 items on page 1");
        await Expect(page.GetByTestId("items")).ToContainTextAsync("o#3");
        await Expect(page.GetByTestId("items")).Not.ToContainTextAsync("o#2");
        var query = await page.GetByTestId("request-preview").TextContentAsync();
        Assert.Contains("begins_with(#n1, :v1)", query, StringComparison.Ordinal);
        Assert.Contains("\"FilterExpression\": \"#n2 >= :v2\"", query, StringComparison.Ordinal);
        await browser.ScreenshotAsync("items");

        // Paging: 12 items, 10 a page.
        for (var i = 0; i < 12; i++) await client.PutItemAsync(name, Item("c#3", $"p#{i:D2}", i));
        await page.GetByTestId("pk-value").FillAsync("c#3");
        await page.GetByTestId("sk-operator").SelectOptionAsync("");
        await page.GetByTestId("filter-row").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await page.GetByTestId("page-size").SelectOptionAsync("10");
        await page.GetByTestId("run-query").ClickAsync();
        await Expect(page.GetByTestId("result-count")).ToHaveTextAsync("10 items on page 1");
        await page.GetByTestId("next-page").ClickAsync();
        await Expect(page.GetByTestId("result-count")).ToHaveTextAsync("2 items on page 2");
        await Expect(page.GetByTestId("items")).ToContainTextAsync("p#11");
        await page.GetByTestId("previous-page").ClickAsync();
        await Expect(page.GetByTestId("result-count")).ToHaveTextAsync("10 items on page 1");

        // Delete from the editor.
        await page.GetByTestId("item-row").First.ClickAsync();
        await page.GetByTestId("delete-item").ClickAsync();
        await Expect(page.GetByTestId("item-deleted")).ToBeVisibleAsync();
        Assert.False((await client.GetItemAsync(name, new() { ["pk"] = new() { S = "c#3" }, ["sk"] = new() { S = "p#00" } })).IsItemSet);
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Stream_ShowsRecordsWrittenByAnotherClientWhileWatching()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleStream");
        await CreateTableAsync(client, name, stream: true);
        await using var browser = await OpenAsync($"tables/{name}/stream");
        var page = browser.Page;

        await Expect(page.GetByTestId("stream-toggle")).ToBeEnabledAsync();
        await page.GetByTestId("stream-toggle").ClickAsync();
        await Expect(page.GetByTestId("stream-state")).ToHaveTextAsync("watching");

        await client.PutItemAsync(name, Item("watched", "1", 7));
        var records = page.GetByTestId("stream-record");
        await Expect(records).ToHaveCountAsync(1);
        await Expect(records.First).ToHaveAttributeAsync("data-event", "INSERT");
        await Expect(records.First.GetByTestId("record-keys")).ToContainTextAsync("pk=watched");

        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = name,
            Key = new() { ["pk"] = new() { S = "watched" }, ["sk"] = new() { S = "1" } },
            UpdateExpression = "SET #t = :t",
            ExpressionAttributeNames = new() { ["#t"] = "total" },
            ExpressionAttributeValues = new() { [":t"] = new() { N = "8" } },
        });
        await client.DeleteItemAsync(name, new() { ["pk"] = new() { S = "watched" }, ["sk"] = new() { S = "1" } });
        await Expect(records).ToHaveCountAsync(3);
        await Expect(records.First).ToHaveAttributeAsync("data-event", "REMOVE"); // newest first
        await Expect(records.Nth(1)).ToHaveAttributeAsync("data-event", "MODIFY");
        await Expect(page.GetByTestId("stream-count")).ToHaveTextAsync("3");
        await browser.ScreenshotAsync("stream");
        browser.AssertNoScriptErrors();
    }

    private static string ConsoleTime(long seconds) =>
        DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static async Task<long> LatestRestorableAsync(IAmazonDynamoDB client, string table) =>
        (long)((await client.DescribeContinuousBackupsAsync(new() { TableName = table })).ContinuousBackupsDescription
            .PointInTimeRecoveryDescription.LatestRestorableDateTime!.Value - DateTime.UnixEpoch).TotalSeconds;

    private static async Task<long> WaitUntilRestorableAsync(IAmazonDynamoDB client, string table, long second)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var latest = await LatestRestorableAsync(client, table);
            if (latest >= second) return latest;
            Assert.True(DateTime.UtcNow < deadline, $"the restorable window of {table} did not reach {second}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task PointInTime_RestoreToAChosenSecond_ShowsProgressUntilActive()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsolePitr");
        var restored = name + "-at";
        await CreateTableAsync(client, name);
        await using var browser = await OpenAsync($"tables/{name}/recovery");
        var page = browser.Page;

        await page.GetByTestId("enable-pitr").ClickAsync();
        await Expect(page.GetByTestId("pitr-slider")).ToBeVisibleAsync();
        Assert.Equal("ENABLED", (await client.DescribeContinuousBackupsAsync(new() { TableName = name })).ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus.Value);

        // "before" is in the table at the chosen second; "after" is written in a later second.
        await client.PutItemAsync(name, Item("before", "1", 1));
        // The latest restorable second trails the clock by one: two seconds on, it is past the write's own second.
        var chosen = await WaitUntilRestorableAsync(client, name, await LatestRestorableAsync(client, name) + 2);
        await client.PutItemAsync(name, Item("after", "1", 2));
        var slider = page.GetByTestId("pitr-slider");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (long.Parse(await slider.GetAttributeAsync("max") ?? "0", CultureInfo.InvariantCulture) <= chosen)
        {
            Assert.True(DateTime.UtcNow < deadline, "the timeline did not move past the chosen second");
            await Task.Delay(250);
        }

        await slider.EvaluateAsync("(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', { bubbles: true })); }", chosen);
        await Expect(page.GetByTestId("pitr-chosen")).ToHaveTextAsync(ConsoleTime(chosen));
        await page.GetByTestId("restore-target").FillAsync(restored);
        await page.GetByTestId("restore-pitr").ClickAsync();

        var status = page.GetByTestId("restore-status");
        await Expect(status).ToHaveTextAsync("ACTIVE", new() { Timeout = 120_000 });
        await Expect(page.GetByTestId("restore-progress")).ToHaveAttributeAsync("value", "1");
        await browser.ScreenshotAsync("point-in-time");

        var description = (await client.DescribeTableAsync(restored)).Table;
        Assert.Equal(TableStatus.ACTIVE, description.TableStatus);
        Assert.Equal(chosen, (long)(description.RestoreSummary.RestoreDateTime!.Value - DateTime.UnixEpoch).TotalSeconds);
        var items = (await client.ScanAsync(new ScanRequest { TableName = restored, ConsistentRead = true })).Items;
        Assert.Equal(["before"], items.Select(i => i["pk"].S));
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Backups_CreateAndRestore_FromThePage()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleBackup");
        await CreateTableAsync(client, name);
        await client.PutItemAsync(name, Item("kept", "1", 1));
        await using var browser = await OpenAsync($"tables/{name}/backups");
        var page = browser.Page;

        await page.GetByTestId("backup-name").FillAsync("nightly");
        await page.GetByTestId("create-backup").ClickAsync();
        var row = page.Locator("[data-testid=backup-row][data-backup=nightly]");
        await Expect(row).ToContainTextAsync("AVAILABLE");
        Assert.Contains((await client.ListBackupsAsync(new ListBackupsRequest { TableName = name })).BackupSummaries, b => b.BackupName == "nightly");

        await client.PutItemAsync(name, Item("later", "1", 2));
        await row.GetByTestId("backup-restore-target").FillAsync(name + "-copy");
        await row.GetByTestId("restore-backup").ClickAsync();
        await Expect(page.GetByTestId("restore-status")).ToHaveTextAsync("ACTIVE", new() { Timeout = 120_000 });
        await browser.ScreenshotAsync("backups");
        var items = (await client.ScanAsync(new ScanRequest { TableName = name + "-copy", ConsistentRead = true })).Items;
        Assert.Equal(["kept"], items.Select(i => i["pk"].S));
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Overview_AddsAGlobalIndex_AndShowsItActiveWithItsItems()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleIndex");
        await CreateTableAsync(client, name);
        for (var i = 0; i < 20; i++)
        {
            var item = Item("p" + i, "s", i);
            item["color"] = new AttributeValue { S = i % 2 == 0 ? "red" : "blue" };
            await client.PutItemAsync(name, item);
        }

        await using var browser = await OpenAsync($"tables/{name}/overview");
        var page = browser.Page;
        await page.GetByTestId("add-index-name").FillAsync("byColor");
        await page.GetByTestId("add-index-pk").FillAsync("color");
        await page.GetByTestId("add-index-form").GetByRole(AriaRole.Button, new() { Name = "Create index" }).ClickAsync();
        var status = page.Locator("[data-testid=index-status][data-index=byColor]");
        await Expect(status).ToContainTextAsync("ACTIVE", new() { Timeout = 120_000 });
        await browser.ScreenshotAsync("overview");

        var index = Assert.Single((await client.DescribeTableAsync(name)).Table.GlobalSecondaryIndexes);
        Assert.Equal(IndexStatus.ACTIVE, index.IndexStatus);
        var red = await client.QueryAsync(new QueryRequest
        {
            TableName = name,
            IndexName = "byColor",
            KeyConditionExpression = "color = :c",
            ExpressionAttributeValues = new() { [":c"] = new() { S = "red" } },
        });
        Assert.Equal(10, red.Count);
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task TriggersAndMetrics_ShowTheMappingPositionAndTheTableFigures()
    {
        var client = Host.CreateClient();
        var name = ConsoleHostFixture.TriggeredTable;
        await CreateTableAsync(client, name, stream: true);
        for (var i = 0; i < 3; i++) await client.PutItemAsync(name, Item("t" + i, "1", i));

        await using var browser = await OpenAsync($"tables/{name}/triggers");
        var page = browser.Page;
        var row = page.Locator("[data-testid=trigger-row]");
        await Expect(row).ToContainTextAsync("audit-log");
        await Expect(row).ToContainTextAsync("@"); // a position, once the fan-out has started
        await Expect(row.GetByTestId("trigger-lag")).ToHaveTextAsync("caught up", new() { Timeout = 60_000 });
        await Expect(row.GetByTestId("trigger-behind")).ToHaveTextAsync("0 records");
        await page.GotoAsync("/console/#/triggers");
        await Expect(page.Locator($"[data-testid=trigger-row][data-mapping='{name}-audit-log']")).ToContainTextAsync(name);
        await Expect(page.GetByTestId("trigger-row")).ToHaveCountAsync(2); // every mapping of the host
        await browser.ScreenshotAsync("triggers");

        await page.GotoAsync($"/console/#/tables/{name}/metrics");
        await Expect(page.GetByTestId("chart-ItemCount").Locator(".chart-value")).ToHaveTextAsync("3"); // as the SDK wrote
        await Expect(page.GetByTestId("chart-ConsumedWriteCapacityUnits")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("chart-ConsumedWriteCapacityUnits").Locator("polyline")).ToHaveCountAsync(1); // three samples make a line of rates

        // Writes while the page samples: the write chart shows a rate above zero.
        var rate = page.GetByTestId("chart-ConsumedWriteCapacityUnits").Locator(".chart-value");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        for (var i = 3; (await rate.TextContentAsync())?.StartsWith("0.0 ", StringComparison.Ordinal) != false; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "the write rate stayed at zero while items were written");
            await client.PutItemAsync(name, Item("t" + i, "1", i));
            await Task.Delay(100);
        }

        Assert.True(double.Parse((await rate.TextContentAsync())!.Split(' ')[0], CultureInfo.InvariantCulture) > 0);
        await browser.ScreenshotAsync("metrics");
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Triggers_AMappingThatHoldsRecordsBack_ShowsRecordsBehindAndLag()
    {
        var client = Host.CreateClient();
        var name = ConsoleHostFixture.BatchedTable;
        await CreateTableAsync(client, name, stream: true);
        await using var browser = await OpenAsync($"tables/{name}/triggers");
        var row = browser.Page.Locator("[data-testid=trigger-row]");
        await Expect(row).ToContainTextAsync("@"); // started, at the stream's beginning
        for (var i = 0; i < 4; i++) await client.PutItemAsync(name, Item("held" + i, "1", i));

        await Expect(row.GetByTestId("trigger-behind")).ToHaveTextAsync("4 records");
        await Expect(row.GetByTestId("trigger-lag")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[1-9][0-9]*\.[0-9] s$"));
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Placeholders_ForReplicasAndCache_AreInPlace()
    {
        var client = Host.CreateClient();
        var name = NewName("ConsoleLater");
        await CreateTableAsync(client, name);
        await using var browser = await OpenAsync($"tables/{name}/replicas");
        await Expect(browser.Page.GetByTestId("placeholder")).ToContainTextAsync("Replicas");
        await browser.Page.GetByTestId("tab-link-cache").ClickAsync();
        await Expect(browser.Page.GetByTestId("placeholder")).ToContainTextAsync("Cache");
        browser.AssertNoScriptErrors();
    }
}
