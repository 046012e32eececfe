using System.Text.Json;

namespace Serverless.Host;

/// <summary>
/// Reads the <c>local.settings.json</c> that Azure Functions Core Tools use, so one file configures both
/// <c>func start</c> and this host: <c>Values</c> become configuration keys (<c>Engine__DataDirectory</c> →
/// <c>Engine:DataDirectory</c>), and <c>Host.LocalHttpPort</c> sets the default port.
/// </summary>
internal static class LocalSettingsFile
{
    public const string FileName = "local.settings.json";

    public static IReadOnlyDictionary<string, string?> Read(string directory)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return settings;

        using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions
        {
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
        });
        var root = document.RootElement;
        if (root.TryGetProperty("Host", out var host) && host.ValueKind == JsonValueKind.Object
            && host.TryGetProperty("LocalHttpPort", out var port))
        {
            settings[LocalHostOptions.PortKey] = port.ValueKind == JsonValueKind.Number ? port.GetRawText() : port.GetString();
        }

        if (root.TryGetProperty("Values", out var values) && values.ValueKind == JsonValueKind.Object)
        {
            foreach (var value in values.EnumerateObject())
            {
                settings[value.Name.Replace("__", ":", StringComparison.Ordinal)] = value.Value.ValueKind switch
                {
                    JsonValueKind.String => value.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => value.Value.GetRawText(),
                };
            }
        }

        return settings;
    }
}
