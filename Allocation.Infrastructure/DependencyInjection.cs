using Allocation.Application;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Allocation.Infrastructure;

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, string connectionString)
    {
        // DateOnly.MinValue and MaxValue would otherwise be stored as -infinity and infinity.
        AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);
        var settings = ConnectionDefaults.Apply(connectionString, Environment.ProcessorCount);
        ReserveThreadsForBlockingCancels(settings.MaxPoolSize);
        services.AddSingleton(_ => InfrastructureTelemetry.ConfigureDataSource(new NpgsqlDataSourceBuilder(settings.ConnectionString)).Build());
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.SectionName)
            .Validate(o => o.Retention > TimeSpan.Zero, "Idempotency:Retention must be positive.")
            .ValidateOnStart();
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton<Application.Events.IEventFeed, OutboxFeed>();
        services.AddFeedHoldBack();
        services.AddSingleton(sp => new DatabaseMigrator(ConnectionDefaults.WithoutGssProbe(connectionString), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseMigrator>>()));
        return services;
    }

    /// <summary>The database's health check, named "postgresql", tagged <see cref="HealthTags.Ready"/>.</summary>
    public static IHealthChecksBuilder AddDatabaseCheck(this IHealthChecksBuilder checks, TimeSpan timeout) =>
        checks.AddCheck<DatabaseHealthCheck>("postgresql", tags: [HealthTags.Ready], timeout: timeout);

    /// <summary>
    /// On a hung server a statement past its command timeout makes Npgsql send PostgreSQL a cancel
    /// request and block the thread it runs on until the server closes it: at most one thread per
    /// pooled connection (the deadline's cancels have threads of their own, see DriverCancellation).
    /// With those ready in advance, the thread pool is not left to add threads one by one while the
    /// requests that could be answered wait for one.
    /// </summary>
    private static void ReserveThreadsForBlockingCancels(int poolSize)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, poolSize + (2 * Environment.ProcessorCount)), completionPorts);
    }
}
