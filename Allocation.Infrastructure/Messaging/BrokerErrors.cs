using System.Net.Sockets;
using RabbitMQ.Client.Exceptions;

namespace Allocation.Infrastructure.Messaging;

/// <summary>The broker's failures that are outages to wait out, not bugs; and one line to log for each.</summary>
internal static class BrokerErrors
{
    public static bool IsExpected(Exception error) => error is
        RabbitMQClientException or OperationInterruptedException or IOException or SocketException
        or TimeoutException or OperationCanceledException or ObjectDisposedException;

    /// <summary>The message and its innermost cause, on one line: no stack trace for an outage.</summary>
    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var root = error;
        while (root.InnerException is { } inner)
        {
            root = inner;
        }

        var text = ReferenceEquals(root, error) ? error.Message : $"{error.Message} ({root.Message})";
        return text.ReplaceLineEndings(" ");
    }
}
