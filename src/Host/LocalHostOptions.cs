using System.Net;

namespace Serverless.Host;

/// <summary>Where the local host listens. Bound from the <c>LocalHost</c> configuration section.</summary>
internal sealed class LocalHostOptions
{
    public const string Section = "LocalHost";
    public const string PortKey = "LocalHost:Port";
    public const string AddressKey = "LocalHost:Address";
    public const string DataDirectoryKey = "Engine:DataDirectory";
    public const string InMemoryKey = "Engine:InMemory";

    /// <summary>TCP port; 0 picks a free one. Default: 8000 (the port DynamoDB Local uses).</summary>
    public int Port { get; set; } = 8000;

    /// <summary>IP address to bind; <c>localhost</c> means 127.0.0.1. Default: loopback only.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>
    /// Process requests on the socket thread that received them instead of queueing them to the thread pool
    /// (Kestrel's <c>UnsafePreferInlineScheduling</c>). Safe because request handling never blocks. Default: true.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;

    public IPEndPoint ToEndPoint()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"{PortKey} must be from 0 to 65535, not {Port}.");
        var address = string.Equals(Address, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(Address, out var parsed) ? parsed
            : throw new ArgumentException($"{AddressKey} must be an IP address or 'localhost', not '{Address}'.");
        return new IPEndPoint(address, Port);
    }
}
