using System.Net;

namespace OrtZo.Distributed.Hosting;

public enum ClusterKind
{
    /// <summary>Several processes on this machine; the first worker started is the primary silo.</summary>
    Localhost,
    /// <summary>Development clustering: every silo knows the primary silo's address (a single point of failure).</summary>
    Development,
    /// <summary>Membership in Redis.</summary>
    Redis,
    /// <summary>Membership in PostgreSQL (tables from Orleans' PostgreSQL scripts).</summary>
    Postgres,
}

/// <summary>
/// Where the cluster's membership lives, as given to <c>--cluster</c>:
/// <c>localhost</c>, <c>dev:HOST:PORT</c> (the primary silo's silo-to-silo endpoint), <c>redis:CONFIGURATION</c>
/// (a StackExchange.Redis configuration string such as <c>127.0.0.1:6379</c>) or <c>postgres:CONNECTION-STRING</c>.
/// </summary>
public sealed record ClusterSpec(ClusterKind Kind, IPEndPoint? Primary, string? Connection)
{
    /// <summary>Silo-to-silo port of the localhost primary; every silo's gateway is its silo port + 1.</summary>
    public const int LocalhostPrimaryPort = 11111;

    public static ClusterSpec Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return new ClusterSpec(ClusterKind.Localhost, new IPEndPoint(IPAddress.Loopback, LocalhostPrimaryPort), null);
        int colon = text.IndexOf(':');
        string scheme = colon < 0 ? text : text[..colon];
        string rest = colon < 0 ? "" : text[(colon + 1)..];
        return scheme.ToLowerInvariant() switch
        {
            "dev" => new ClusterSpec(ClusterKind.Development, ParseEndpoint(rest, text), null),
            "redis" when rest.Length > 0 => new ClusterSpec(ClusterKind.Redis, null, rest),
            "postgres" when rest.Length > 0 => new ClusterSpec(ClusterKind.Postgres, null, rest),
            _ => throw OptionErrors.Fail(OptionError.UnknownValue, "--cluster", $"\'{text}\'; expected localhost, dev:HOST:PORT, redis:CONFIGURATION or postgres:CONNECTION-STRING"),
        };
    }

    private static IPEndPoint ParseEndpoint(string text, string whole)
    {
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0) return ep;
        int colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text[(colon + 1)..], out int port))
        {
            var addresses = Dns.GetHostAddresses(text[..colon]);
            var v4 = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            if (v4 is not null) return new IPEndPoint(v4, port);
        }
        throw OptionErrors.Fail(OptionError.UnknownValue, "--cluster", $"\'{whole}\'; expected dev:HOST:PORT with the primary silo's address");
    }

    public override string ToString() => Kind switch
    {
        ClusterKind.Localhost => "localhost",
        ClusterKind.Development => $"dev:{Primary}",
        ClusterKind.Redis => "redis:" + Connection,
        _ => "postgres:(connection string)",
    };
}
