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
            // On a hung server Npgsql blocks threads: a statement past its command timeout, or whose
            // request passed its deadline, sends PostgreSQL a cancel request and waits for the server to
            // close it, and a second cancel of the same connection waits behind the first. With a few
            // such threads per pooled connection ready in advance, the thread pool is not left to add
            // threads one by one while the requests that could be answered wait for a thread.
            ThreadPool.GetMinThreads(out var workers, out var completionPorts);
            ThreadPool.SetMinThreads(Math.Max(workers, (4 * settings.MaxPoolSize) + (2 * Environment.ProcessorCount)), completionPorts);
            return NpgsqlDataSource.Create(settings);
        });
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton(sp => new DatabaseMigrator(connectionString, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseMigrator>>()));
        return services;
    }
}
