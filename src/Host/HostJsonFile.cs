using System.Reflection;
using System.Text.Json;

namespace Serverless.Host;

/// <summary>The functions app's host.json (next to its assembly), read once at start-up; empty if there is none.</summary>
internal static class HostJsonFile
{
    public static JsonElement Read(Assembly functions)
    {
        var path = Path.Combine(Path.GetDirectoryName(functions.Location) ?? AppContext.BaseDirectory, "host.json");
        if (!File.Exists(path)) return default;
        using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return document.RootElement.Clone();
    }

    /// <summary>The object at <c>extensions.{name}</c>, if present.</summary>
    public static JsonElement? Extension(JsonElement hostJson, string name) =>
        hostJson.ValueKind == JsonValueKind.Object
        && hostJson.TryGetProperty("extensions", out var extensions) && extensions.ValueKind == JsonValueKind.Object
        && extensions.TryGetProperty(name, out var section) && section.ValueKind == JsonValueKind.Object
            ? section
            : null;
}
