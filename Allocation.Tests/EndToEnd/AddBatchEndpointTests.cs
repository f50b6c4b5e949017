using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

public class AddBatchEndpointTests : ApiFixture
{
    [Test]
    public async Task Adding_a_batch_returns_201_a_location_and_the_batch()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());

        var response = await Client.PostJsonAsync("/add_batch", new { @ref = batch, sku, qty = 100, eta = "2011-01-02" });

        var body = await response.ShouldBeJsonAsync(HttpStatusCode.Created);
        response.Headers.Location!.AbsolutePath.Should().Be($"/batches/{batch}");
        body.GetProperty("ref").GetString().Should().Be(batch);
        body.GetProperty("eta").GetString().Should().Be("2011-01-02");
        body.GetProperty("available").GetInt32().Should().Be(100);
        (await Client.GetAsync(response.Headers.Location)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task A_batch_without_eta_is_warehouse_stock()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());

        var body = await (await Client.PostJsonAsync("/add_batch", new { @ref = batch, sku, qty = 5, eta = (string?)null }))
            .ShouldBeJsonAsync(HttpStatusCode.Created);

        body.GetProperty("eta").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
    }

    [Test]
    public async Task A_duplicate_reference_is_409_and_changes_nothing()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 10, null));

        var response = await Client.PostJsonAsync("/add_batch", new { @ref = batch, sku = Unique.Sku("other"), qty = 99, eta = (string?)null });

        (await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, ProblemTypes.DuplicateBatch))
            .GetProperty("detail").GetString().Should().Be($"Batch {batch} already exists");
        (await Store.ScalarAsync<int>("SELECT purchased_quantity FROM batches WHERE reference = @batch", new { batch })).Should().Be(10);
    }
}
