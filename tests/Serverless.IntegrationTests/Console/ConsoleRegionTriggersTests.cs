using Serverless.IntegrationTests.Infrastructure;
using Serverless.IntegrationTests.Triggers;
using static Microsoft.Playwright.Assertions;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// The console's Triggers views on a host serving two regions, with a mapping on the same table name in each: the
/// Triggers page lists both with their region, and a table's Triggers tab only the one of the region it signs for.
/// </summary>
[Collection(ChromiumCollection.Name)]
public sealed class ConsoleRegionTriggersTests(ChromiumFixture chromium)
{
    private const string Table = "ConsoleRegional";

    [Fact]
    public async Task TriggerViews_ShowEachMappingsRegion_AndATablesTabTheSignedRegionsMapping()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["LocalHost__Regions"] = "us-east-1,eu-west-1",
                ["Triggers__0__Table"] = Table,
                ["Triggers__0__Queue"] = "audit-log",
                ["Triggers__1__Table"] = Table,
                ["Triggers__1__Queue"] = "audit-log",
                ["Triggers__1__Region"] = "eu-west-1",
            },
        });
        using (var east = host.CreateClient()) await TriggerTests.CreateStreamTableAsync(east, Table);
        using (var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1")) await TriggerTests.CreateStreamTableAsync(west, Table);

        await using var browser = await chromium.OpenAsync(host.ServiceUrl);
        var page = browser.Page;
        await page.GotoAsync("/console/#/triggers");
        var rows = page.GetByTestId("trigger-row");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.GetByTestId("trigger-region")).ToHaveTextAsync(["us-east-1", "eu-west-1"]);

        // The placeholder credentials sign for us-east-1.
        await page.GotoAsync($"/console/#/tables/{Table}/triggers");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToHaveAttributeAsync("data-region", "us-east-1");

        await page.EvaluateAsync("""() => sessionStorage.setItem("serverless-console-credentials", JSON.stringify({ accessKeyId: "console", secretAccessKey: "console", region: "eu-west-1" }))""");
        await page.ReloadAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToHaveAttributeAsync("data-region", "eu-west-1");
        await Expect(rows).ToContainTextAsync("@"); // eu-west-1's fan-out has started on eu-west-1's table
        browser.AssertNoScriptErrors();
    }
}
