using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;
using Serverless.IntegrationTests.Security;
using static Microsoft.Playwright.Assertions;

namespace Serverless.IntegrationTests.Console;

/// <summary>A host in Verify mode (alice's and bob's keys, KeyedHost.cs) for <see cref="ConsoleSigningTests"/>.</summary>
public sealed class VerifyingHostFixture : IAsyncLifetime
{
    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The verifying host has not started.");

    public async Task InitializeAsync() => _host = await HostProcess.StartAsync(new HostProcessOptions { Environment = KeyedHostFixture.Environment() });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

/// <summary>
/// The console against a host that verifies SigV4: the page is refused until the user enters a key, then signs
/// every DynamoDB call and the admin calls with it (WebCrypto in the browser), as any SDK would.
/// </summary>
[Collection(ChromiumCollection.Name)]
public sealed class ConsoleSigningTests(ChromiumFixture chromium, VerifyingHostFixture fixture) : IClassFixture<VerifyingHostFixture>
{
    private static readonly SigV4Key Alice = KeyedHostFixture.Alice;
    private static readonly SigV4Key Bob = KeyedHostFixture.Bob;

    [Fact]
    public async Task WithoutAKey_TheServerRefuses_AndTheConsoleAsksForOne_ThenSignsWithTheEnteredKey()
    {
        var name = "Signed" + Guid.NewGuid().ToString("N")[..8];
        using var client = new Amazon.DynamoDBv2.AmazonDynamoDBClient(new BasicAWSCredentials(Alice.AccessKeyId, Alice.SecretAccessKey),
            new Amazon.DynamoDBv2.AmazonDynamoDBConfig { ServiceURL = fixture.Host.ServiceUrl, AuthenticationRegion = "us-east-1" });
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", Amazon.DynamoDBv2.ScalarAttributeType.S)],
            KeySchema = [new("pk", Amazon.DynamoDBv2.KeyType.HASH)],
        });
        await client.PutItemAsync(name, new() { ["pk"] = new AttributeValue { S = "signed-item" } });

        await using var browser = await chromium.OpenAsync(fixture.Host.ServiceUrl);
        var page = browser.Page;
        await page.GotoAsync("/console/#/tables");

        // The placeholder key is not one of the server's: the console says so and shows the credentials form.
        await Expect(page.GetByTestId("auth-notice")).ToContainTextAsync("UnrecognizedClientException");

        // A wrong secret: the server's own InvalidSignatureException.
        await page.GetByTestId("access-key-id").FillAsync(Alice.AccessKeyId);
        await page.GetByTestId("secret-access-key").FillAsync("not-alices-secret");
        await page.GetByTestId("save-credentials").ClickAsync();
        await Expect(page.GetByTestId("credentials-error")).ToContainTextAsync("InvalidSignatureException");

        await page.GetByTestId("secret-access-key").FillAsync(Alice.SecretAccessKey);
        await page.GetByTestId("region").FillAsync("eu-west-1");
        await page.GetByTestId("save-credentials").ClickAsync();
        await Expect(page.GetByTestId("credentials-ok")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("auth-status")).ToContainTextAsync(Alice.AccessKeyId);
        await browser.ScreenshotAsync("credentials");

        await page.GotoAsync("/console/#/tables");
        await Expect(page.Locator($"[data-testid=table-row][data-table='{name}']")).ToContainTextAsync("ACTIVE");
        await page.GotoAsync($"/console/#/tables/{name}/items");
        await Expect(page.GetByTestId("items")).ToContainTextAsync("signed-item");

        // The admin route is signed the same way.
        await page.GotoAsync($"/console/#/tables/{name}/metrics");
        await Expect(page.GetByTestId("chart-ItemCount").Locator(".chart-value")).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("metrics-error")).ToHaveCountAsync(0);

        // The key lives in this tab's session storage, never in a cookie or local storage.
        var stored = await page.EvaluateAsync<string>("() => sessionStorage.getItem('serverless-console-credentials')");
        Assert.Contains(Alice.AccessKeyId, stored, StringComparison.Ordinal);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Empty(await page.Context.CookiesAsync());
        browser.AssertNoScriptErrors();
    }

    [Fact]
    public async Task TriggerStatus_NeedsASignature_LikeEveryAdminRoute()
    {
        using var http = fixture.Host.CreateHttpClient();
        using (var unsigned = await http.GetAsync(fixture.Host.ServiceUrl + "/admin/triggers"))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, unsigned.StatusCode);
            Assert.Contains("MissingAuthenticationTokenException", await unsigned.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var signed = new HttpRequestMessage(HttpMethod.Get, fixture.Host.ServiceUrl + "/admin/triggers");
        SigV4Signer.Sign(signed, [], Alice, "us-east-1", "dynamodb", DateTime.UtcNow);
        using var answer = await http.SendAsync(signed);
        Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal(System.Text.Json.JsonValueKind.Array, json.RootElement.GetProperty("Mappings").ValueKind); // this host has none
    }

    [Fact]
    public async Task ATemporaryKey_IsSentWithItsSessionToken()
    {
        await using var browser = await chromium.OpenAsync(fixture.Host.ServiceUrl);
        var page = browser.Page;
        await page.GotoAsync("/console/#/settings");
        await page.GetByTestId("access-key-id").FillAsync(Bob.AccessKeyId);
        await page.GetByTestId("secret-access-key").FillAsync(Bob.SecretAccessKey);
        await page.GetByTestId("save-credentials").ClickAsync();
        await Expect(page.GetByTestId("credentials-error")).ToBeVisibleAsync(); // the token is part of the key

        await page.GetByTestId("session-token").FillAsync(Bob.SessionToken!);
        await page.GetByTestId("save-credentials").ClickAsync();
        await Expect(page.GetByTestId("credentials-ok")).ToBeVisibleAsync();
        browser.AssertNoScriptErrors();
    }
}
