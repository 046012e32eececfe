using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Serverless.WebConsole;

/// <summary>One file of the console: its bytes, content type and strong ETag (a hash of the bytes).</summary>
public sealed record ConsoleFile(string Path, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The console's files, read once from this assembly's embedded resources. A request is answered only with a file
/// of that fixed set, looked up by its exact name, so no path (<c>..</c>, encoded slashes, absolute paths) can reach
/// anything else. Files are revalidated on every load (<c>no-cache</c> with an ETag), so a new build is seen at once.
/// </summary>
public static class ConsoleFiles
{
    private const string Prefix = "console/";

    /// <summary>What the page may load and call: only this origin, which serves the API the console calls.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
        [".json"] = "application/json; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every file, by its path under wwwroot (e.g. <c>index.html</c>, <c>js/sigv4.js</c>).</summary>
    public static FrozenDictionary<string, ConsoleFile> All { get; } = Load(typeof(ConsoleFiles).Assembly);

    /// <summary>The file for a path relative to /console; the empty path is <c>index.html</c>.</summary>
    public static ConsoleFile? Find(string? relativePath)
    {
        var path = string.IsNullOrEmpty(relativePath) ? "index.html" : relativePath;
        return All.GetValueOrDefault(path);
    }

    /// <summary>
    /// Answers a GET or HEAD of <c>/console</c> or <c>/console/{path}</c>: the file with its content type and ETag,
    /// 304 when the client's <c>If-None-Match</c> holds that ETag, 404 for any name outside the set. <c>/console</c>
    /// redirects to <c>/console/</c>, so the page's relative links resolve under it.
    /// </summary>
    public static Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "";
        var at = path.IndexOf("/console", StringComparison.OrdinalIgnoreCase);
        var rest = at < 0 ? "" : path[(at + "/console".Length)..];
        if (rest.Length == 0)
        {
            // Relative to /console, "console/" is /console/ (under any route prefix).
            response.StatusCode = StatusCodes.Status301MovedPermanently;
            response.Headers.Location = "console/" + request.QueryString;
            return Task.CompletedTask;
        }

        var file = rest[0] == '/' ? Find(rest[1..]) : null;
        if (file is null)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var headers = response.Headers;
        headers.ETag = file.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers["Referrer-Policy"] = "no-referrer";
        if (Matches(request.Headers.IfNoneMatch, file.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.Body.WriteAsync(file.Content, context.RequestAborted).AsTask();
    }

    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        if (ifNoneMatch.Count == 0) return false;
        if (!EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)) return false;
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || string.Equals(tag.Tag.Value, etag, StringComparison.Ordinal)) return true;
        }

        return false;
    }

    private static FrozenDictionary<string, ConsoleFile> Load(Assembly assembly)
    {
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            var path = name[Prefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var type = ContentTypes.GetValueOrDefault(System.IO.Path.GetExtension(path), "application/octet-stream");
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16)) + "\"";
            files[path] = new ConsoleFile(path, content, type, etag);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
