using Allocation.Infrastructure.Persistence;
using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Allocation.Infrastructure;

/// <summary>
/// Healthy when the database answers a trivial query. Runs through the same guard as every request,
/// so a hung server makes it Unhealthy within its timeout instead of holding the probe (and a pooled
/// connection) until the server wakes.
/// </summary>
internal sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        try
        {
            await StoreErrors.RunAsync(dataSource, PingAsync, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception error) when (error is Application.StoreUnavailable or Application.ConcurrencyConflict or OperationCanceledException)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, error.Message);
        }
    }

    private async Task<int> PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
    }
}
