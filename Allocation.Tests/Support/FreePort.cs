using System.Net;
using System.Net.Sockets;

namespace Allocation.Tests.Support;

/// <summary>Free loopback TCP ports for the processes the tests start (API instances, PostgreSQL clusters).</summary>
internal static class FreePort
{
    /// <summary>A port nothing listens on right now: the kernel picks it, the listener is closed again.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
