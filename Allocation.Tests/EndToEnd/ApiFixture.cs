using System.Net;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>One API on Kestrel for the end-to-end tests that need no special settings.</summary>
public abstract class ApiFixture
{
    private ApiFactory? _factory;

    protected HttpClient Client { get; private set; } = null!;

    protected Store Store { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartTheApi()
    {
        var database = await TestDatabase.SharedAsync();
        _factory = ApiFactory.Start(database.ConnectionString);
        Client = _factory.CreateClient();
        Store = new Store(database);
    }

    [OneTimeTearDown]
    public async Task StopTheApi()
    {
        Client.Dispose();
        await Store.DisposeAsync();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    protected async Task AddStockAsync(params (string Reference, string Sku, int Quantity, string? Eta)[] batches)
    {
        foreach (var (reference, sku, quantity, eta) in batches)
        {
            await Client.AddBatchAsync(reference, sku, quantity, eta);
        }
    }
}
