namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>Whether the consumer has an open channel to the queue right now, for the health check.</summary>
internal sealed class CommandConsumerState
{
    private volatile string? _problem = "not consuming yet";

    /// <summary>Why commands are not being consumed right now, or null while they are.</summary>
    public string? Problem => _problem;

    public void Consuming() => _problem = null;

    public void Failing(string reason) => _problem = reason;
}
