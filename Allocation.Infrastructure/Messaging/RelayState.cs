namespace Allocation.Infrastructure.Messaging;

/// <summary>What the relay last learnt about the broker, for the health check.</summary>
internal sealed class RelayState
{
    private volatile string? _problem = "not connected yet";

    /// <summary>Why the broker cannot be used right now, or null while publishing works.</summary>
    public string? BrokerProblem => _problem;

    public void Connected() => _problem = null;

    public void Unreachable(string reason) => _problem = reason;
}
