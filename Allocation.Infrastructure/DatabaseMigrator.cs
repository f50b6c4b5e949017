using System.Globalization;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Allocation.Infrastructure;

/// <summary>Applies the numbered scripts in Migrations/ that the database has not seen yet.</summary>
/// <remarks>
/// Runs on connections of its own, outside the service's pool: unpooled, so that they are closed
/// the moment migration is over instead of holding server slots, and without the service's short
/// command timeout, because a migration (or waiting for another instance's) may take a while.
/// </remarks>
public sealed class DatabaseMigrator
{
    // Any fixed number will do: it only has to be the same for every instance of this service.
    private const long MigrationLockKey = 4_242_000_001;

    private readonly string _connectionString;
    private readonly ILogger<DatabaseMigrator> _logger;

    /// <param name="connectionString">The service's connection string, password included.</param>
    /// <param name="logger">Where DbUp's progress goes.</param>
    public DatabaseMigrator(string connectionString, ILogger<DatabaseMigrator> logger)
    {
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, CommandTimeout = 0 }.ConnectionString;
        _logger = logger;
    }

    /// <exception cref="Application.StoreUnavailable">The database cannot be reached (yet).</exception>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await MigrateUnguardedAsync(cancellationToken);
        }
        catch (Exception error) when (error is not OperationCanceledException && Persistence.StoreErrors.Translate(error) is { } translated)
        {
            throw translated;
        }
    }

    private async Task MigrateUnguardedAsync(CancellationToken cancellationToken)
    {
        // Named, so that Npgsql's metrics label these connections with the name rather than the connection string.
        await using var dataSource = new NpgsqlDataSourceBuilder(_connectionString) { Name = InfrastructureTelemetry.PoolName + "-migrations" }.Build();
        // Several API instances may start at once; one migrates while the others wait on the lock.
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", lockConnection))
        {
            take.Parameters.AddWithValue("key", MigrationLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(new DbUp.Postgresql.PostgresqlConnectionManager(dataSource))
                .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, name => name.EndsWith(".sql", StringComparison.Ordinal))
                .WithTransactionPerScript()
                .LogTo(new UpgradeLog(_logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw Persistence.StoreErrors.Translate(result.Error)
                    ?? new InvalidOperationException($"Migration {result.ErrorScript?.Name} failed.", result.Error);
            }
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", lockConnection);
            release.Parameters.AddWithValue("key", MigrationLockKey);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>DbUp formats with composite format strings, not message templates.</summary>
    private sealed class UpgradeLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Log(LogLevel.Trace, null, format, args);

        public void LogDebug(string format, params object[] args) => Log(LogLevel.Debug, null, format, args);

        public void LogInformation(string format, params object[] args) => Log(LogLevel.Information, null, format, args);

        public void LogWarning(string format, params object[] args) => Log(LogLevel.Warning, null, format, args);

        public void LogError(string format, params object[] args) => Log(LogLevel.Error, null, format, args);

        public void LogError(Exception ex, string format, params object[] args) => Log(LogLevel.Error, ex, format, args);

        private void Log(LogLevel level, Exception? error, string format, object[] args)
        {
            if (logger.IsEnabled(level))
            {
                logger.Log(level, error, "Migration: {Message}", string.Format(CultureInfo.InvariantCulture, format, args));
            }
        }
    }
}
