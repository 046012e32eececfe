using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Cloud;

/// <summary>
/// infra/bicep/main.bicep compiles and lints cleanly with the pinned Bicep CLI, and the ARM template it produces
/// deploys the service locked down: HTTPS only, TLS 1.2, SigV4 keys and the master key as Key Vault references.
/// </summary>
public sealed partial class BicepTemplateTests
{
    private const string KeyVaultReference = "[format('@Microsoft.KeyVault(SecretUri={0})', reference(resourceId('Microsoft.KeyVault/vaults/secrets', ";

    private static readonly string Template = Path.Combine(RepositoryLayout.Root, "infra", "bicep", "main.bicep");

    /// <summary>The compiled template, built once for all the tests of this class.</summary>
    private static readonly Lazy<Task<JsonElement>> Arm = new(BuildAsync);

    [Fact]
    public async Task Lint_ReportsNothing()
    {
        var lint = await RunBicepAsync("lint", Template);

        Assert.True(lint.ExitCode == 0 && lint.StandardOutput.Trim().Length == 0 && lint.StandardError.Trim().Length == 0, $"bicep lint:\n{lint.StandardOutput}{lint.StandardError}");
    }

    /// <summary><c>bicep build</c> succeeds with nothing on stderr, where Bicep reports warnings (checked in <see cref="BuildAsync"/>).</summary>
    [Fact]
    public async Task Build_ReportsNothing_AndProducesAnArmTemplate()
    {
        var arm = await Arm.Value;

        Assert.StartsWith("https://schema.management.azure.com/schemas/", arm.GetProperty("$schema").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(Resources(arm, type: null));
    }

    [Fact]
    public async Task FunctionApp_IsHttpsOnly_WithTls12_AndNoBasicAuthPublishing()
    {
        var arm = await Arm.Value;
        var app = Resource(arm, "Microsoft.Web/sites").GetProperty("properties");
        var site = app.GetProperty("siteConfig");

        Assert.True(app.GetProperty("httpsOnly").GetBoolean());
        Assert.Equal("1.2", site.GetProperty("minTlsVersion").GetString());
        Assert.Equal("1.2", site.GetProperty("scmMinTlsVersion").GetString());
        Assert.Equal("Disabled", site.GetProperty("ftpsState").GetString());
        var policies = Resources(arm, "Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToList();
        Assert.Equal(2, policies.Count);
        Assert.All(policies, p => Assert.False(p.GetProperty("properties").GetProperty("allow").GetBoolean()));
    }

    [Fact]
    public async Task StorageAccount_RefusesHttp_OldTls_AndPublicBlobs()
    {
        var storage = Resource(await Arm.Value, "Microsoft.Storage/storageAccounts").GetProperty("properties");

        Assert.True(storage.GetProperty("supportsHttpsTrafficOnly").GetBoolean());
        Assert.Equal("TLS1_2", storage.GetProperty("minimumTlsVersion").GetString());
        Assert.False(storage.GetProperty("allowBlobPublicAccess").GetBoolean());
    }

    [Fact]
    public async Task AppSettings_VerifySignatures_WithSecretsAsKeyVaultReferences()
    {
        var arm = await Arm.Value;
        var settings = AppSettings(arm);

        Assert.Equal("Verify", settings["Auth__Mode"]);
        Assert.Equal("[parameters('accessKeyId')]", settings["Auth__Keys__0__AccessKeyId"]);
        Assert.Equal(KeyVaultReference + "take(format('{0}kv{1}', parameters('namePrefix'), variables('suffix')), 24), 'ddb-access-key-secret'), '2023-07-01').secretUri)]",
            settings["Auth__Keys__0__SecretAccessKey"]);
        Assert.Equal(KeyVaultReference + "take(format('{0}kv{1}', parameters('namePrefix'), variables('suffix')), 24), 'ddb-encryption-key'), '2023-07-01').secretUri)]",
            settings["Encryption__Key"]);
        Assert.StartsWith(KeyVaultReference, settings["AzureWebJobsStorage"], StringComparison.Ordinal);
        Assert.StartsWith(KeyVaultReference, settings["WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"], StringComparison.Ordinal);
        Assert.Equal("[variables('adminPrincipal')]", settings["Auth__Keys__0__Principal"]);
        Assert.Equal("[format('arn:aws:iam::{0}:user/admin', parameters('accountId'))]", arm.GetProperty("variables").GetProperty("adminPrincipal").GetString());
        Assert.Equal("000000000000", arm.GetProperty("parameters").GetProperty("accountId").GetProperty("defaultValue").GetString());

        // The admin key's policy allows everything.
        Assert.Equal("[string(variables('adminPolicy'))]", settings["Auth__Keys__0__Policy"]);
        var statement = Assert.Single(arm.GetProperty("variables").GetProperty("adminPolicy").GetProperty("Statement").EnumerateArray());
        Assert.Equal(("Allow", "*", "*"), (statement.GetProperty("Effect").GetString(), statement.GetProperty("Action").GetString(), statement.GetProperty("Resource").GetString()));

        // The store lives in blob storage; the data directory is only the instance's cache of it.
        Assert.Equal("/tmp/ddb", settings["Engine__DataDirectory"]);
    }

    [Fact]
    public async Task KeyVault_IsReadByTheAppsIdentity_WithSecretsUserOnly()
    {
        var arm = await Arm.Value;
        var vault = Resource(arm, "Microsoft.KeyVault/vaults").GetProperty("properties");
        var app = Resource(arm, "Microsoft.Web/sites");
        var role = Resource(arm, "Microsoft.Authorization/roleAssignments").GetProperty("properties");

        Assert.True(vault.GetProperty("enableRbacAuthorization").GetBoolean());
        Assert.Equal(
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('keyVaultSecretsUserRoleId'))]",
            role.GetProperty("roleDefinitionId").GetString());
        Assert.Equal("4633458b-17de-408a-b874-0445c86b69e6", arm.GetProperty("variables").GetProperty("keyVaultSecretsUserRoleId").GetString());
        Assert.Equal("UserAssigned", app.GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal(
            "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('{0}-id-{1}', parameters('namePrefix'), variables('suffix')))]",
            app.GetProperty("properties").GetProperty("keyVaultReferenceIdentity").GetString());
        // Global tables add one secret per peer region (a resource loop, none by default).
        Assert.Equal(["ddb-access-key-secret", "ddb-encryption-key", "ddb-storage-connection"],
            Resources(arm, "Microsoft.KeyVault/vaults/secrets").Where(s => !s.TryGetProperty("copy", out _)).Select(s => SecretName().Match(s.GetProperty("name").GetString()!).Groups[1].Value).Order());
    }

    [Fact]
    public async Task Template_HoldsNoPlainTextSecret_AndOutputsNone()
    {
        var arm = await Arm.Value;
        var parameters = arm.GetProperty("parameters");

        foreach (var secret in new[] { "accessKeySecret", "encryptionKey" })
        {
            Assert.Equal("securestring", parameters.GetProperty(secret).GetProperty("type").GetString());
            Assert.False(parameters.GetProperty(secret).TryGetProperty("defaultValue", out _), $"{secret} has a default value");
        }

        // Secret values reach only Key Vault secrets: not app settings, not outputs, not other resources.
        foreach (var resource in Resources(arm, type: null))
        {
            if (resource.GetProperty("type").GetString() == "Microsoft.KeyVault/vaults/secrets") continue;
            var text = resource.GetRawText();
            Assert.DoesNotContain("parameters('accessKeySecret')", text, StringComparison.Ordinal);
            Assert.DoesNotContain("parameters('encryptionKey')", text, StringComparison.Ordinal);
            Assert.DoesNotContain("listKeys(", text, StringComparison.Ordinal);
        }

        var outputs = arm.GetProperty("outputs");
        var outputText = outputs.GetRawText();
        Assert.DoesNotContain("parameters('accessKeySecret')", outputText, StringComparison.Ordinal);
        Assert.DoesNotContain("parameters('encryptionKey')", outputText, StringComparison.Ordinal);
        Assert.DoesNotContain("listKeys(", outputText, StringComparison.Ordinal);
        Assert.DoesNotMatch(Base64Key(), arm.GetRawText());

        // What the outputs tell the user: the endpoint (https once), the key id and how to read the secret.
        Assert.Equal("[format('https://{0}', reference(resourceId('Microsoft.Web/sites', variables('appName')), '2023-12-01').defaultHostName)]",
            outputs.GetProperty("endpoint").GetProperty("value").GetString());
        Assert.Equal("[parameters('accessKeyId')]", outputs.GetProperty("accessKeyId").GetProperty("value").GetString());
        Assert.Equal("[variables('readSecretCommand')]", outputs.GetProperty("readSecretAccessKey").GetProperty("value").GetString());
        Assert.StartsWith("[format('az keyvault secret show --vault-name {0} --name {1} --query value -o tsv'", arm.GetProperty("variables").GetProperty("readSecretCommand").GetString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> AppSettings(JsonElement arm) =>
        Resource(arm, "Microsoft.Web/sites").GetProperty("properties").GetProperty("siteConfig").GetProperty("appSettings").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("value").GetString()!);

    private static JsonElement Resource(JsonElement arm, string type) => Assert.Single(Resources(arm, type));

    /// <summary>Resources of one type (all with null); Bicep emits them as an object keyed by symbolic name (languageVersion 2.0) or as an array.</summary>
    private static IEnumerable<JsonElement> Resources(JsonElement arm, string? type)
    {
        var resources = arm.GetProperty("resources");
        var all = resources.ValueKind == JsonValueKind.Object ? resources.EnumerateObject().Select(p => p.Value) : resources.EnumerateArray();
        return all.Where(r => type is null || r.GetProperty("type").GetString() == type).ToList();
    }

    private static async Task<JsonElement> BuildAsync()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("serverless-bicep-").FullName, "main.json");
        try
        {
            var build = await RunBicepAsync("build", Template, "--outfile", output);
            Assert.True(build.ExitCode == 0 && build.StandardError.Trim().Length == 0, $"bicep build:\n{build.StandardOutput}{build.StandardError}");
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(output));
            return document.RootElement.Clone();
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        }
    }

    /// <summary>Runs the Bicep CLI from the NuGet package the test project downloads (Azure.Bicep.CommandLine.linux-x64).</summary>
    private static async Task<HostRunResult> RunBicepAsync(params string[] arguments)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
            throw new PlatformNotSupportedException("The pinned Bicep CLI package is linux-x64.");
        var metadata = typeof(BicepTemplateTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);
        var bicep = Path.Combine(metadata["NuGetPackageRoot"]!, "azure.bicep.commandline.linux-x64", metadata["BicepCliVersion"]!, "tools", "bicep");
        Assert.True(File.Exists(bicep), $"The Bicep CLI is missing at {bicep}: restore the tests (dotnet restore) to download it.");
        var mode = File.GetUnixFileMode(bicep);
        if (!mode.HasFlag(UnixFileMode.UserExecute)) File.SetUnixFileMode(bicep, mode | UnixFileMode.UserExecute);

        var start = new ProcessStartInfo(bicep, arguments);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return await ProcessRunner.RunAsync(start, TimeSpan.FromSeconds(120));
    }

    [GeneratedRegex(@"'(ddb-[a-z-]+)'\)\]$")]
    private static partial Regex SecretName();

    /// <summary>A literal 32-byte key in base64, the shape of <c>Encryption__Key</c>.</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=")]
    private static partial Regex Base64Key();
}
