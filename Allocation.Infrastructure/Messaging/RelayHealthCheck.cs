using Allocation.Application;
using Allocation.Infrastructure.Outbox;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// "relay": Degraded, never Unhealthy, while the broker is unreachable or events wait longer than
/// Events:RelayDegradedAfter. The instance still takes requests (they only write the outbox), so a
/// load balancer must keep sending it traffic; operators see the backlog.
/// </summary>
internal sealed class RelayHealthCheck(RelayState state, OutboxStore store, IOptions<EventsOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        if (state.Problem is { } problem)
        {
            return HealthCheckResult.Degraded($"Not publishing: {problem}");
        }

        try
        {
            var waited = await store.OldestUnpublishedAgeAsync(cancellationToken);
            var limit = options.Value.RelayDegradedAfter;
            return waited > limit
                ? HealthCheckResult.Degraded($"The oldest unpublished event has waited {waited.Value.TotalSeconds:0} s (limit {limit.TotalSeconds:0} s).")
                : HealthCheckResult.Healthy();
        }
        catch (Exception error) when (error is StoreUnavailable or OperationCanceledException)
        {
            // The "postgresql" check reports the database itself.
            return HealthCheckResult.Degraded($"Cannot read the outbox: {error.Message}");
        }
    }
}
