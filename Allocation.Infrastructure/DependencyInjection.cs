using Allocation.Application;
using Allocation.Infrastructure.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Allocation.Infrastructure;

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, string connectionString)
    {
        services.AddSingleton(_ => NpgsqlDataSource.Create(WithServiceDefaults(connectionString)));
        services.AddSingleton<IUnitOfWorkFactory, UnitOfWorkFactory>();
        services.AddSingleton<IAllocationReadModel, AllocationReadModel>();
        services.AddSingleton<DatabaseMigrator>();
        return services;
    }

    /// <summary>
    /// Defaults measured to matter for this workload (docs/benchmarks.md), unless the connection
    /// string says otherwise: the same few statements run thousands of times a second, so they are
    /// prepared once per connection; and the service sets no session state, so a connection taken
    /// back from the pool needs no DISCARD ALL (which would also drop those prepared statements).
    /// </summary>
    internal static NpgsqlConnectionStringBuilder WithServiceDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Max Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 32;
            builder.AutoPrepareMinUsages = 2;
        }

        if (!connectionString.Contains("No Reset On Close", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        return builder;
    }
}
