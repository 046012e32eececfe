using System.Globalization;
using System.Net;

namespace Serverless.ScaleOut;

/// <summary>
/// The co-hosted Orleans silo (section <c>ScaleOut</c>, env <c>ScaleOut__Enabled</c>, …; docs/scale-out.md,
/// "Hosting"). Off by default: without <see cref="Enabled"/> nothing of Orleans is started.
/// </summary>
public sealed class ScaleOutOptions
{
    /// <summary>Configuration section bound to these options.</summary>
    public const string Section = "ScaleOut";

    /// <summary>Co-host a silo and reach partitions this process does not hold through grains. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Silo-to-silo port when <c>WEBSITE_PRIVATE_PORTS</c> is not set. Default 11111 (Orleans' own).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port when <c>WEBSITE_PRIVATE_PORTS</c> has no second port. Default 30000 (Orleans' own).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The cluster's name in the membership table; hosts sharing a store share it. Default "serverless-dynamo".</summary>
    public string ClusterId { get; set; } = "serverless-dynamo";

    /// <summary>
    /// How long a silo waits for a probe's answer before counting it missed (Orleans' <c>ProbeTimeout</c>); null keeps
    /// Orleans' default (5 s). With <see cref="MissedProbesLimit"/> it sets how soon a killed host's partitions move.
    /// </summary>
    public TimeSpan? ProbeTimeout { get; set; }

    /// <summary>Missed probes after which a silo is suspected (Orleans' <c>NumMissedProbesLimit</c>); null keeps Orleans' default (3).</summary>
    public int? MissedProbesLimit { get; set; }

    /// <summary>
    /// The silo's advertised address and ports: App Service's private address and first two private ports when
    /// present (VNet integration with private ports), else 127.0.0.1 and the configured ports.
    /// </summary>
    public (IPAddress Address, int SiloPort, int GatewayPort) EndpointFrom(string? privateIp, string? privatePorts)
    {
        var address = IPAddress.Loopback;
        if (privateIp is { Length: > 0 } && !IPAddress.TryParse(privateIp, out address))
            throw new ArgumentException($"ScaleOut: WEBSITE_PRIVATE_IP '{privateIp}' is not an IP address.", nameof(privateIp));
        var silo = SiloPort;
        var gateway = GatewayPort;
        if (privatePorts is { Length: > 0 })
        {
            var ports = privatePorts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (ports.Length > 0) silo = PortOf(ports[0], privatePorts);
            if (ports.Length > 1) gateway = PortOf(ports[1], privatePorts);
        }

        return (address, silo, gateway);
    }

    private static int PortOf(string text, string privatePorts) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= IPEndPoint.MaxPort
            ? port
            : throw new ArgumentException($"ScaleOut: WEBSITE_PRIVATE_PORTS '{privatePorts}' is not a comma-separated list of ports (1-65535).", nameof(privatePorts));
}
