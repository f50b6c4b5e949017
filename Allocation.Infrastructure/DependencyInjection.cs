using Allocation.Application;
using Allocation.Infrastructure.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Allocation.Infrastructure;

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, string connectionString)
    {
        // DateOnly.MinValue and MaxValue would otherwise be stored as -infinity and infinity.
        AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);
        services.AddSingleton(_ =>
        {
            var settings = ConnectionDefaults.Apply(connectionString, Environment.ProcessorCount);
            // When a statement outlives its deadline on a hung server, Npgsql sends PostgreSQL a cancel
            // request and blocks a thread until the server closes it. At most one such thread per pooled
            // connection: have them ready, so the threads answering everyone else are not starved.
            ThreadPool.GetMinThreads(out var workers, out var completionPorts);
            ThreadPool.SetMinThreads(Math.Max(workers, settings.MaxPoolSize + Environment.ProcessorCount), completionPorts);
            return NpgsqlDataSource.Create(settings);
        });
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton(sp => new DatabaseMigrator(connectionString, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseMigrator>>()));
        return services;
    }
}
