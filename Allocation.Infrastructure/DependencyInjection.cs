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
        services.AddSingleton(_ => NpgsqlDataSource.Create(ConnectionDefaults.Apply(connectionString, Environment.ProcessorCount)));
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton(sp => new DatabaseMigrator(connectionString, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseMigrator>>()));
        return services;
    }
}
