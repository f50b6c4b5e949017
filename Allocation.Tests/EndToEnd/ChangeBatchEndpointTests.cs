using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

public class ChangeBatchEndpointTests : ApiFixture
{
    /// <summary>One test checks that a refused change writes nothing at all.</summary>
    protected override bool NeedsItsOwnDatabase => true;

    private Task<HttpResponseMessage> PatchAsync(string reference, object body) =>
        Client.PatchAsync(new Uri($"/batches/{Uri.EscapeDataString(reference)}", UriKind.Relative), JsonContent.Create(body));

    private async Task AllocateAsync(string orderId, string sku, int quantity)
    {
        using var response = await Client.PostJsonAsync("/allocate", new { orderid = orderId, sku, qty = quantity });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_reduced_batch_answers_its_view_and_where_each_line_went()
    {
        var (sku, reduced, other) = (Unique.Sku(), Unique.BatchRef("r"), Unique.BatchRef("o"));
        await AddStockAsync((reduced, sku, 10, null), (other, sku, 3, "2027-01-10"));
        var (o1, o2, o3) = (Unique.OrderId("1"), Unique.OrderId("2"), Unique.OrderId("3"));
        await AllocateAsync(o1, sku, 4);
        await AllocateAsync(o2, sku, 3);
        await AllocateAsync(o3, sku, 3);

        var body = await (await PatchAsync(reduced, new { qty = 4 })).ShouldBeJsonAsync(HttpStatusCode.OK);

        body.GetProperty("ref").GetString().Should().Be(reduced);
        body.GetProperty("qty").GetInt32().Should().Be(4);
        body.GetProperty("allocated").GetInt32().Should().Be(4);
        body.GetProperty("available").GetInt32().Should().Be(0);
        body.GetProperty("reallocated").EnumerateArray().Select(r => (
                r.GetProperty("orderid").GetString(), r.GetProperty("sku").GetString(), r.GetProperty("qty").GetInt32(),
                r.GetProperty("from").GetString(), r.GetProperty("to").GetString()))
            .Should().Equal((o2, sku, 3, reduced, other));
        body.GetProperty("unallocated").EnumerateArray().Select(r => r.GetProperty("orderid").GetString()).Should().Equal(o3);
        (await Client.GetFromJsonAsync<JsonElement>($"/allocations/{o2}"))[0].GetProperty("batchref").GetString().Should().Be(other);
        (await Client.GetAsync(new Uri($"/allocations/{o3}", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// "Newest first" means first allocated most recently, wherever the line is now: a line moved here by
    /// an earlier reduction keeps its original place (its age is its order, not its batch's).
    /// </summary>
    [Test]
    public async Task A_line_moved_by_an_earlier_reduction_keeps_its_original_age_on_its_new_batch()
    {
        var (sku, warehouse, shipment) = (Unique.Sku(), Unique.BatchRef("w"), Unique.BatchRef("s"));
        await AddStockAsync((warehouse, sku, 2, null), (shipment, sku, 5, "2027-01-10"));
        var (older, moved, newer) = (Unique.OrderId("older"), Unique.OrderId("moved"), Unique.OrderId("newer"));
        await AllocateAsync(older, sku, 1);
        await AllocateAsync(moved, sku, 1);
        await AllocateAsync(newer, sku, 1); // the warehouse is full: to the shipment
        var first = await (await PatchAsync(warehouse, new { qty = 1 })).ShouldBeJsonAsync(HttpStatusCode.OK);
        first.GetProperty("reallocated").EnumerateArray().Select(r => r.GetProperty("orderid").GetString()).Should().Equal(moved);

        // The shipment now holds "newer" (allocated last) and "moved" (allocated before it, moved here last).
        var second = await (await PatchAsync(shipment, new { qty = 1 })).ShouldBeJsonAsync(HttpStatusCode.OK);

        second.GetProperty("unallocated").EnumerateArray().Select(r => r.GetProperty("orderid").GetString())
            .Should().Equal([newer], "the line allocated most recently comes off first, not the one moved here most recently");
        (await Client.GetFromJsonAsync<JsonElement>($"/allocations/{moved}"))[0].GetProperty("batchref").GetString().Should().Be(shipment);
    }

    [Test]
    public async Task An_eta_can_be_set_cleared_or_left_alone()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 10, "2027-01-10"));

        var moved = await (await PatchAsync(batch, new { eta = "2027-02-01" })).ShouldBeJsonAsync(HttpStatusCode.OK);
        var grown = await (await PatchAsync(batch, new { qty = 12 })).ShouldBeJsonAsync(HttpStatusCode.OK);
        var arrived = await (await PatchAsync(batch, new { eta = (string?)null })).ShouldBeJsonAsync(HttpStatusCode.OK);

        moved.GetProperty("eta").GetString().Should().Be("2027-02-01");
        grown.GetProperty("eta").GetString().Should().Be("2027-02-01", "a field left out keeps its value");
        grown.GetProperty("qty").GetInt32().Should().Be(12);
        arrived.GetProperty("eta").ValueKind.Should().Be(JsonValueKind.Null);
        arrived.GetProperty("qty").GetInt32().Should().Be(12);
    }

    [Test]
    public async Task Cancelling_a_shipment_leaves_it_at_zero_and_its_lines_elsewhere_or_unallocated()
    {
        var (sku, shipment, warehouse) = (Unique.Sku(), Unique.BatchRef("s"), Unique.BatchRef("w"));
        await AddStockAsync((shipment, sku, 5, "2027-01-10"));
        var order = Unique.OrderId();
        await AllocateAsync(order, sku, 5);
        await AddStockAsync((warehouse, sku, 5, null));

        var body = await (await PatchAsync(shipment, new { qty = 0 })).ShouldBeJsonAsync(HttpStatusCode.OK);

        body.GetProperty("qty").GetInt32().Should().Be(0);
        body.GetProperty("reallocated")[0].GetProperty("to").GetString().Should().Be(warehouse);
        var batch = await Client.GetFromJsonAsync<JsonElement>($"/batches/{shipment}");
        (batch.GetProperty("qty").GetInt32(), batch.GetProperty("allocated").GetInt32()).Should().Be((0, 0));
    }

    [Test]
    public async Task An_unknown_batch_is_404_and_writes_nothing()
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);

        var response = await PatchAsync(Unique.BatchRef("missing"), new { qty = 1 });

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }
}
