namespace Serverless.Host.Functions;

/// <summary>
/// Why the host's reflection over the functions assembly (the catalog, timer and queue invocations) is safe when the
/// host is trimmed or compiled with Native AOT: Serverless.Host.csproj roots the function classes and the generated
/// function metadata (RootedFunctions.xml, a TrimmerRootDescriptor), so every type, method, constructor and attribute
/// of them is kept with its metadata. The HTTP functions, the hot path,
/// are bound without reflection (<see cref="BoundHttpFunctions"/>).
/// </summary>
internal static class RootedFunctions
{
    /// <summary>The justification of each trim-analysis suppression that relies on it.</summary>
    public const string Justification = "The function classes of Serverless.Functions are rooted whole (Functions/RootedFunctions.xml): their types, members and attributes are kept.";
}
