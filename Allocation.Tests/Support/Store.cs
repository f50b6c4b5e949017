using Allocation.Application;
using Allocation.Infrastructure;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Allocation.Tests.Support;

/// <summary>The real Infrastructure wired as the API wires it, over a test database.</summary>
public sealed class Store : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public Store(TestDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
        ProcessSwitches.StoreDateExtremesAsDates();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Allocation"] = database.ConnectionString })
            .Build();
        _services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddApplication()
            .AddInfrastructure(configuration)
            .BuildServiceProvider();
    }

    public TestDatabase Database { get; }

    public IUnitOfWorkFactory UnitsOfWork => _services.GetRequiredService<IUnitOfWorkFactory>();

    public IAllocationReadModel Reads => _services.GetRequiredService<IAllocationReadModel>();

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"No value from {sql}");
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).AsList();
    }

    public async Task<NpgsqlConnection> OpenAsync() => await Database.DataSource.OpenConnectionAsync();

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
