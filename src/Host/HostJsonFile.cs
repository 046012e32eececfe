using System.Text.Json;

namespace Serverless.Host;

/// <summary>The functions app's host.json (copied next to the host by the build), read once at start-up; empty if there is none.</summary>
internal static class HostJsonFile
{
    public static JsonElement Read()
    {
        // The functions project's build copies host.json next to the host (Assembly.Location is empty under Native AOT).
        var path = Path.Combine(AppContext.BaseDirectory, "host.json");
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
