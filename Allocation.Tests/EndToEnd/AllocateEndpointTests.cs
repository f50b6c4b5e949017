using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

public class AllocateEndpointTests : ApiFixture
{
    [Test]
    public async Task Happy_path_returns_201_and_the_earliest_batch()
    {
        var (sku, otherSku) = (Unique.Sku(), Unique.Sku("other"));
        var (early, later, other) = (Unique.BatchRef("1"), Unique.BatchRef("2"), Unique.BatchRef("3"));
        await AddStockAsync((later, sku, 100, "2011-01-02"), (early, sku, 100, "2011-01-01"), (other, otherSku, 100, null));

        var response = await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 3 });

        (await response.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(early);
    }

    [Test]
    public async Task Unhappy_path_returns_400_and_the_invalid_sku_message()
    {
        var unknownSku = Unique.Sku();

        var response = await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku = unknownSku, qty = 20 });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.InvalidSku);
        problem.GetProperty("message").GetString().Should().Be($"Invalid sku {unknownSku}");
    }

    [Test]
    public async Task Out_of_stock_returns_400_and_the_out_of_stock_message()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 10, "2021-01-01"));

        var response = await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 20 });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.OutOfStock);
        problem.GetProperty("message").GetString().Should().Be($"Out of stock for sku {sku}");
    }

    [Test]
    public async Task Allocations_are_persisted_so_the_second_order_goes_to_the_second_batch()
    {
        var sku = Unique.Sku();
        var (batch1, batch2) = (Unique.BatchRef("1"), Unique.BatchRef("2"));
        await AddStockAsync((batch1, sku, 10, "2011-01-01"), (batch2, sku, 10, "2011-01-02"));

        var first = await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("1"), sku, qty = 10 });
        var second = await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("2"), sku, qty = 10 });

        (await first.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(batch1);
        (await second.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(batch2);
    }

    [Test]
    public async Task Deallocate_then_allocate_again_reuses_the_freed_stock()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        var (order1, order2) = (Unique.OrderId("1"), Unique.OrderId("2"));
        await AddStockAsync((batch, sku, 10, null));
        (await Client.PostJsonAsync("/allocate", new { orderid = order1, sku, qty = 10 })).StatusCode.Should().Be(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/allocate", new { orderid = order2, sku, qty = 10 }))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.OutOfStock);

        var deallocated = await Client.PostJsonAsync("/deallocate", new { orderid = order1, sku });
        var again = await Client.PostJsonAsync("/allocate", new { orderid = order2, sku, qty = 10 });

        (await deallocated.ShouldBeJsonAsync(HttpStatusCode.OK)).GetProperty("batchref").GetString().Should().Be(batch);
        (await again.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(batch);
        await (await Client.GetAsync(new Uri($"/allocations/{order1}", UriKind.Relative))).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Deallocating_what_was_never_allocated_is_404()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 10, null));

        var response = await Client.PostJsonAsync("/deallocate", new { orderid = Unique.OrderId(), sku });

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
    }

    [Test]
    public async Task Repeating_an_allocation_returns_the_same_batch_and_a_different_quantity_is_409()
    {
        var (sku, first, second) = (Unique.Sku(), Unique.BatchRef("1"), Unique.BatchRef("2"));
        var order = Unique.OrderId();
        await AddStockAsync((first, sku, 5, null), (second, sku, 5, "2030-01-01"));

        var original = await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 5 });
        var repeat = await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 5 });
        var changed = await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 4 });

        (await original.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(first);
        (await repeat.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("batchref").GetString().Should().Be(first);
        (await changed.ShouldBeProblemAsync(HttpStatusCode.Conflict, ProblemTypes.ConflictingOrderLine))
            .GetProperty("detail").GetString().Should().Contain(first);
        (await Store.ScalarAsync<int>("SELECT sum(allocated_quantity)::int FROM batches WHERE sku = @sku", new { sku })).Should().Be(5);
    }
}
