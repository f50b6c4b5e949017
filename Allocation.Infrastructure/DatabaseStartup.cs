using Allocation.Application;
using Allocation.Application.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure;

/// <summary>
/// Migrates the database before the server takes requests, waiting for a database that is not up
/// yet instead of crashing: containers and databases rarely start in the right order. An outage
/// (<see cref="StoreUnavailable"/>) is retried with the shared <see cref="Backoff"/> for up to
/// Database:StartupWaitLimit; past it, or on any other failure (a migration that fails, a setting that
/// cannot work), start-up is refused on one Critical line and the process exits non-zero, since
/// retrying cannot mend configuration. Once started it holds nothing and runs nothing, so no database
/// error after start-up can reach it: outages later on are the request path's and the background
/// services' to survive.
/// </summary>
internal sealed partial class DatabaseStartup : IHostedService
{
    private readonly Func<CancellationToken, Task> _migrate;
    private readonly DatabaseOptions _options;
    private readonly ILogger<DatabaseStartup> _logger;

    public DatabaseStartup(DatabaseMigrator migrator, IOptions<DatabaseOptions> options, ILogger<DatabaseStartup> logger)
        : this(migrator.MigrateAsync, options, logger)
    {
    }

    /// <summary>The seam for tests: migrations that fail as they are told to (not public, so not seen by the container).</summary>
    internal DatabaseStartup(Func<CancellationToken, Task> migrate, IOptions<DatabaseOptions> options, ILogger<DatabaseStartup> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_migrate, _options, _logger) = (migrate, options.Value, logger);
    }

    /// <summary>The pauses between tries: 250 ms doubling to 5 s, jittered, so that instances waiting on one database do not retry in step.</summary>
    internal Backoff Retry { get; init; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.MigrateOnStartup)
        {
            return;
        }

        var deadline = DateTime.UtcNow + _options.StartupWaitLimit;
        while (true)
        {
            try
            {
                await _migrate(cancellationToken);
                return;
            }
            catch (StoreUnavailable error)
            {
                var reason = error.InnerException?.Message ?? error.Message;
                var delay = Retry.Next();
                if (DateTime.UtcNow + delay >= deadline)
                {
                    LogGaveUp(_logger, _options.StartupWaitLimit.TotalSeconds, Retry.Failures, reason);
                    throw;
                }

                LogWaiting(_logger, delay.TotalSeconds, reason);
                await Task.Delay(delay, cancellationToken);
            }
            catch (Exception error) when (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRefused(_logger, error);
                throw;
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning,
        Message = "Database not reachable yet; retrying migrations in {DelaySeconds:F2} s ({Reason})")]
    private static partial void LogWaiting(ILogger logger, double delaySeconds, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Critical,
        Message = "Database unreachable for Database:StartupWaitLimit ({LimitSeconds:0} s, {Tries} tries); refusing to start ({Reason})")]
    private static partial void LogGaveUp(ILogger logger, double limitSeconds, int tries, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Critical,
        Message = "Database migrations failed with an error retrying cannot mend (configuration or a migration script); refusing to start")]
    private static partial void LogRefused(ILogger logger, Exception error);
}
