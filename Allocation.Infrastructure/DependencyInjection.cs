using Allocation.Application;
using Allocation.Infrastructure.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Allocation.Infrastructure;

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        services.AddSingleton(_ => NpgsqlDataSource.Create(builder));
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton<DatabaseMigrator>();
        return services;
    }
}
