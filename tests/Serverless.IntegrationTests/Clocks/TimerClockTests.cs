using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Clocks;

/// <summary>
/// Timer functions follow the host's injected clock: moving it forward (<c>POST /admin/clock/advance</c>) brings a
/// scheduled run forward, so a test of an hourly function needs no hour and no sleeping.
/// </summary>
public sealed class TimerClockTests
{
    [Fact]
    public async Task HourlyTtlSweep_RunsWhenTheClockIsMovedPastItsHour()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            InMemory = true,
            Environment = new Dictionary<string, string>
            {
                ["TtlSweepSchedule"] = "01:00:00",
                ["LocalHost__ClockControl"] = "true",
            },
        });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "ttlclock");
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = table, TimeToLiveSpecification = new() { AttributeName = "expires", Enabled = true },
        });
        var expires = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        await client.PutItemAsync(table, new() { ["pk"] = S("k"), ["expires"] = new AttributeValue { N = expires.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        Assert.True((await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("k"), ConsistentRead = true })).IsItemSet);

        // An hour and a bit later on the host's clock: the item has expired and the hourly sweep is due.
        await host.AdvanceClockAsync(TimeSpan.FromSeconds(3700));
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("k"), ConsistentRead = true })).IsItemSet)
        {
            Assert.True(DateTime.UtcNow < deadline, "The hourly TtlSweep did not run after the clock was moved past its hour.\n" + host.Output);
            await Task.Delay(200);
        }
    }
}
