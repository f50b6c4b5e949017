namespace Allocation.Infrastructure.Messaging;

/// <summary>What the relay last learnt about its own work, for the health check.</summary>
internal sealed class RelayState
{
    private volatile string? _problem = "not connected to the broker yet";

    /// <summary>Why the relay cannot publish right now (the broker is unreachable, or a bug), or null while publishing works.</summary>
    public string? Problem => _problem;

    public void Connected() => _problem = null;

    public void Failing(string reason) => _problem = reason;
}
