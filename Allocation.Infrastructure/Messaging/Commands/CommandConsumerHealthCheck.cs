using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// "commands": Degraded, never Unhealthy, while the consumer has no open channel to allocation.commands
/// (broker down, queue refused). Commands wait in the queue meanwhile and the REST API still works, so a
/// load balancer must keep sending this instance traffic.
/// </summary>
internal sealed class CommandConsumerHealthCheck(CommandConsumerState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        Task.FromResult(state.Problem is { } problem
            ? HealthCheckResult.Degraded($"Not consuming commands: {problem}")
            : HealthCheckResult.Healthy());
}
