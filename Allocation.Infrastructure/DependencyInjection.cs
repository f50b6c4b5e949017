using Allocation.Application;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Allocation.Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// PostgreSQL (ConnectionStrings:Allocation, sections Database and Idempotency), the outbox and its
    /// feed (section Events) and, with ConnectionStrings:Broker, the relay to RabbitMQ. The host starts
    /// hosted services in the order they are registered, and the migrations' start-up holds the start
    /// until the database is migrated: so they are registered first, and the outbox's background work
    /// and the relay, registered after them here, start on a migrated database.
    /// </summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = DatabaseConnection(configuration);
        return services
            .AddDatabase(connectionString)
            .AddDatabaseMigrations(connectionString)
            .AddOutbox()
            .AddEventRelay(configuration)
            .AddCommandConsumer(configuration);
    }

    /// <summary>The database's health check, named "postgresql", tagged <see cref="HealthTags.Ready"/>.</summary>
    public static IHealthChecksBuilder AddDatabaseCheck(this IHealthChecksBuilder checks, TimeSpan timeout) =>
        checks.AddCheck<DatabaseHealthCheck>("postgresql", tags: [HealthTags.Ready], timeout: timeout);

    /// <summary>ConnectionStrings:Allocation, which nothing can start without.</summary>
    public static string DatabaseConnection(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration.GetConnectionString("Allocation");
        return string.IsNullOrWhiteSpace(configured)
            ? throw new InvalidOperationException(
                "No database configured: set ConnectionStrings:Allocation (environment: ConnectionStrings__Allocation), " +
                "or start the service with scripts/run, which provisions a local PostgreSQL.")
            : configured;
    }

    private static IServiceCollection AddDatabase(this IServiceCollection services, string connectionString)
    {
        var settings = ConnectionDefaults.Apply(connectionString, Environment.ProcessorCount);
        services.AddSingleton(_ => InfrastructureTelemetry.ConfigureDataSource(new NpgsqlDataSourceBuilder(settings.ConnectionString)).Build());
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.SectionName)
            .Validate(o => o.Retention > TimeSpan.Zero, "Idempotency:Retention must be positive.")
            .ValidateOnStart();
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        return services;
    }

    /// <summary>Migrations before the server takes requests (<see cref="DatabaseStartup"/>): the first hosted service.</summary>
    private static IServiceCollection AddDatabaseMigrations(this IServiceCollection services, string connectionString)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .Validate(o => o.StartupWaitLimit >= TimeSpan.Zero, "Database:StartupWaitLimit must not be negative.")
            .ValidateOnStart();
        services.AddSingleton(sp => new DatabaseMigrator(ConnectionDefaults.WithoutGssProbe(connectionString), sp.GetRequiredService<ILogger<DatabaseMigrator>>()));
        services.AddHostedService<DatabaseStartup>();
        return services;
    }

    /// <summary>The feed read from the outbox, and its hold-back monitor.</summary>
    private static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.AddSingleton<Application.Events.IEventFeed, OutboxFeed>();
        return services.AddFeedHoldBack();
    }
}
