namespace Allocation.Tests.Support;

/// <summary>
/// Several API processes on one database of a private cluster with PostgreSQL's default settings
/// (max_connections 100), and a <see cref="Store"/> on it: what the multi-instance tests race on.
/// </summary>
public sealed class ApiFleet : IAsyncDisposable
{
    private ApiFleet(TestDatabase database, Store store, IReadOnlyList<ApiProcess> instances)
    {
        Database = database;
        Store = store;
        Instances = instances;
    }

    public TestDatabase Database { get; }

    public Store Store { get; }

    public IReadOnlyList<ApiProcess> Instances { get; }

    public static async Task<ApiFleet> StartAsync(int instances, IReadOnlyDictionary<string, string>? settings = null)
    {
        var database = await TestDatabase.CreateAsync(privateCluster: true);
        var store = new Store(database);
        try
        {
            return new ApiFleet(database, store, await ApiProcess.StartManyAsync(instances, database.ServiceConnectionString, settings));
        }
        catch
        {
            await store.DisposeAsync();
            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>The client of instance <paramref name="i"/>, round robin.</summary>
    public HttpClient Instance(int i) => Instances[i % Instances.Count].Client;

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }

        await Store.DisposeAsync();
        await Database.DisposeAsync();
    }
}
