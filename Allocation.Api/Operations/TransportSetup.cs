using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Allocation.Api.Operations;

/// <summary>
/// Kestrel's socket transport. Inline I/O scheduling is opt-in (README, Configuration, "Performance
/// settings"): measured to cut an allocation's CPU by a fifth to a third, but in that mode request
/// code runs on the socket threads every connection shares, so anything that blocks stalls them all.
/// </summary>
internal static partial class TransportSetup
{
    /// <summary>The runtime's switch for running socket continuations on the socket threads; read at process start only.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static void AddAllocationTransport(this WebApplicationBuilder builder)
    {
        var inline = PreferInlineScheduling(builder.Configuration);
        builder.Services.Configure<SocketTransportOptions>(sockets => sockets.UnsafePreferInlineScheduling = inline);
    }

    /// <summary>Says so at start-up when either half of inline I/O is on: it trades safety for CPU, and only both halves together give the gain.</summary>
    public static void LogMode(ILogger logger, IConfiguration configuration)
    {
        var kestrel = PreferInlineScheduling(configuration);
        var sockets = Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";
        if (kestrel || sockets)
        {
            LogInline(logger, kestrel, sockets);
        }
    }

    private static bool PreferInlineScheduling(IConfiguration configuration) =>
        configuration.GetValue("Transport:PreferInlineScheduling", false);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning,
        Message = "Inline I/O scheduling: Kestrel inline {KestrelInline}, socket completions inline {SocketsInline}. " +
            "Request code runs on the socket threads, where anything that blocks stalls every connection they serve; " +
            "it saves CPU only with both on (README, Configuration, \"Performance settings\").")]
    private static partial void LogInline(ILogger logger, bool kestrelInline, bool socketsInline);
}
