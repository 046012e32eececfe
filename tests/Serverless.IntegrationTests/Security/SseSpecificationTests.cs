using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Security;

/// <summary>SSESpecification on CreateTable and UpdateTable, SSEDescription in DescribeTable, and AWS's validation errors.</summary>
public sealed class SseSpecificationTests
{
    private const string KeyId = "3f8fad5b-d9cb-469f-a165-70867728950e";
    private const string KeyArn = "arn:aws:kms:us-east-1:000000000000:key/" + KeyId;

    private static readonly Dictionary<string, string> Environment = new()
    {
        ["Encryption__KmsKeys__0__Id"] = KeyId,
        ["Encryption__KmsKeys__0__Alias"] = "alias/orders",
    };

    private static CreateTableRequest Table(string name, SSESpecification? sse) => new()
    {
        TableName = name,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
        AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
        SSESpecification = sse,
    };

    [Fact]
    public async Task SseSpecification_ReportsSseDescription_AsAwsDoes_AndSurvivesARestart()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Environment });
        using var client = host.CreateClient();

        // No specification, or Enabled false: the AWS owned key, reported as no SSEDescription.
        var owned = NewName("owned");
        Assert.Null((await client.CreateTableAsync(Table(owned, null))).TableDescription.SSEDescription);
        var disabled = NewName("disabled");
        await client.CreateTableAsync(Table(disabled, new SSESpecification { Enabled = false }));
        Assert.Null((await client.DescribeTableAsync(disabled)).Table.SSEDescription);

        // Enabled: KMS with the AWS managed key.
        var managed = NewName("managed");
        var created = (await client.CreateTableAsync(Table(managed, new SSESpecification { Enabled = true }))).TableDescription.SSEDescription;
        Assert.Equal("ENABLED", created.Status.Value);
        Assert.Equal("KMS", created.SSEType.Value);
        Assert.Matches("^arn:aws:kms:us-east-1:000000000000:key/[0-9a-f-]{36}$", created.KMSMasterKeyArn);
        var managedArn = created.KMSMasterKeyArn;

        // A configured key, by id, ARN or alias: the key's ARN.
        foreach (var id in new[] { KeyId, KeyArn, "alias/orders", "arn:aws:kms:us-east-1:000000000000:alias/orders" })
        {
            var name = NewName("cmk");
            await client.CreateTableAsync(Table(name, new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = id }));
            var described = (await client.DescribeTableAsync(name)).Table.SSEDescription;
            Assert.Equal(("ENABLED", "KMS", KeyArn), (described.Status.Value, described.SSEType.Value, described.KMSMasterKeyArn));
        }

        // UpdateTable switches between the owned key, the managed key and a configured key.
        var updated = await client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = owned, SSESpecification = new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = KeyId },
        });
        Assert.Equal(KeyArn, updated.TableDescription.SSEDescription.KMSMasterKeyArn);
        await client.UpdateTableAsync(new UpdateTableRequest { TableName = managed, SSESpecification = new SSESpecification { Enabled = false } });
        Assert.Null((await client.DescribeTableAsync(managed)).Table.SSEDescription);

        // The catalog keeps it.
        await host.RestartAsync();
        using var again = host.CreateClient();
        Assert.Equal(KeyArn, (await again.DescribeTableAsync(owned)).Table.SSEDescription.KMSMasterKeyArn);
        Assert.Null((await again.DescribeTableAsync(managed)).Table.SSEDescription);
        await again.UpdateTableAsync(new UpdateTableRequest { TableName = managed, SSESpecification = new SSESpecification { Enabled = true } });
        Assert.Equal(managedArn, (await again.DescribeTableAsync(managed)).Table.SSEDescription.KMSMasterKeyArn); // one managed key per account and region
    }

    [Fact]
    public async Task InvalidSseSpecifications_GetAwsErrors()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Environment });
        using var client = host.CreateClient();
        await ApiAssert.AssertValidationAsync("One or more parameter values were invalid: SSEType AES256 is not supported",
            () => client.CreateTableAsync(Table(NewName("t"), new SSESpecification { Enabled = true, SSEType = SSEType.AES256 })));
        await ApiAssert.AssertValidationAsync("One or more parameter values were invalid: SSEType AES256 is not supported",
            () => client.CreateTableAsync(Table(NewName("t"), new SSESpecification { Enabled = true, SSEType = SSEType.AES256, KMSMasterKeyId = KeyId })));
        await ApiAssert.AssertValidationAsync("SSEType KMS is required if KMSMasterKeyId is specified",
            () => client.CreateTableAsync(Table(NewName("t"), new SSESpecification { Enabled = true, KMSMasterKeyId = KeyId })));
        await ApiAssert.AssertValidationAsync(
            "KMS validation error: com.amazonaws.services.kms.model.NotFoundException: Key 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000' does not exist (Service: AWSKMS; Status Code: 400; Error Code: NotFoundException)",
            () => client.CreateTableAsync(Table(NewName("t"), new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = "00000000-0000-0000-0000-000000000000" })));
        await ApiAssert.AssertValidationAsync(
            "1 validation error detected: Value 'DES' at 'sSESpecification.sSEType' failed to satisfy constraint: Member must satisfy enum value set: [AES256, KMS]",
            () => client.CreateTableAsync(Table(NewName("t"), new SSESpecification { Enabled = true, SSEType = new SSEType("DES") })));

        var table = await CreateAsync(client, "upd");
        await ApiAssert.AssertValidationAsync("SSEType KMS is required if KMSMasterKeyId is specified",
            () => client.UpdateTableAsync(new UpdateTableRequest { TableName = table, SSESpecification = new SSESpecification { Enabled = true, KMSMasterKeyId = KeyArn } }));
        Assert.Null((await client.DescribeTableAsync(table)).Table.SSEDescription); // a refused update changes nothing
    }
}
