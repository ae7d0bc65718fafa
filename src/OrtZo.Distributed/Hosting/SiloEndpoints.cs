using System.Net;
using System.Net.Sockets;

namespace OrtZo.Distributed.Hosting;

/// <summary>The address and ports a silo listens on and advertises; its gateway (for clients) is one port above its silo port.</summary>
public sealed record SiloEndpoints(IPAddress Address, int SiloPort)
{
    public int GatewayPort => SiloPort + 1;

    /// <summary>
    /// For <c>localhost</c>: the primary's ports when they are free (this process becomes the primary), else a
    /// free pair on the loopback address.
    /// </summary>
    public static SiloEndpoints ForLocalhost() => ForPrimary(new IPEndPoint(IPAddress.Loopback, ClusterSpec.LocalhostPrimaryPort));

    /// <summary>The primary's own endpoint when its ports are free here (this process becomes the primary), else a free loopback pair.</summary>
    public static SiloEndpoints ForPrimary(IPEndPoint primary) =>
        PairIsFree(primary.Port) ? new SiloEndpoints(primary.Address, primary.Port) : FreeLoopbackPair();

    public static SiloEndpoints FreeLoopbackPair()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port < 65535 && PairIsFree(port)) return new SiloEndpoints(IPAddress.Loopback, port);
        }
        throw new InvalidOperationException("no free pair of loopback ports");
    }

    private static bool PairIsFree(int port) => IsFree(port) && IsFree(port + 1);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
