using System.Globalization;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Allocation.Infrastructure;

/// <summary>Applies the numbered scripts in Migrations/ that the database has not seen yet.</summary>
public sealed class DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
{
    // Any fixed number will do: it only has to be the same for every instance of this service.
    private const long MigrationLockKey = 4_242_000_001;

    /// <exception cref="Application.StoreUnavailable">The database cannot be reached (yet).</exception>
    public Task MigrateAsync(CancellationToken cancellationToken) =>
        Persistence.PostgresErrors.Guard(() => MigrateUnguardedAsync(cancellationToken));

    private async Task MigrateUnguardedAsync(CancellationToken cancellationToken)
    {
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
                .PostgresqlDatabase(dataSource.ConnectionString)
                .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, name => name.EndsWith(".sql", StringComparison.Ordinal))
                .WithTransactionPerScript()
                .LogTo(new UpgradeLog(logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw Persistence.PostgresErrors.Translate(result.Error)
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
