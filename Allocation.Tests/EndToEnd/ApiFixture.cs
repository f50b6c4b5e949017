using System.Net;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// One API on Kestrel for the end-to-end tests that need no special settings, over the shared
/// database (tests there see only their own rows) or, for a fixture that checks that nothing at all
/// was written, a database of its own.
/// </summary>
public abstract class ApiFixture
{
    private ApiFactory? _factory;
    private TestDatabase? _database; // only when it is the fixture's own

    protected HttpClient Client { get; private set; } = null!;

    protected Store Store { get; private set; } = null!;

    /// <summary>
    /// The fixture compares whole tables before and after (<see cref="DatabaseSnapshot"/>), so no
    /// other fixture may write to its database meanwhile.
    /// </summary>
    protected virtual bool NeedsItsOwnDatabase => false;

    [OneTimeSetUp]
    public async Task StartTheApi()
    {
        _database = NeedsItsOwnDatabase ? await TestDatabase.OwnAsync() : null;
        var database = _database ?? await TestDatabase.SharedAsync();
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

        if (_database is not null)
        {
            await _database.DisposeAsync();
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
