using Allocation.Application;
using Allocation.Infrastructure;
using Microsoft.Extensions.Options;

namespace Allocation.Api.Hosting;

/// <summary>
/// Migrates the database before the server takes requests, waiting for a database that is not up
/// yet instead of crashing: containers and databases rarely start in the right order.
/// </summary>
internal sealed partial class DatabaseStartup(
    DatabaseMigrator migrator, IOptions<DatabaseOptions> options, ILogger<DatabaseStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStartup)
        {
            return;
        }

        var deadline = DateTime.UtcNow + options.Value.StartupWaitLimit;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await migrator.MigrateAsync(cancellationToken);
                return;
            }
            catch (StoreUnavailable error) when (DateTime.UtcNow + delay < deadline)
            {
                LogWaiting(logger, delay.TotalSeconds, error.InnerException?.Message ?? error.Message);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning,
        Message = "Database not reachable yet; retrying migrations in {DelaySeconds:F2} s ({Reason})")]
    private static partial void LogWaiting(ILogger logger, double delaySeconds, string reason);
}
