using System.Net;
using System.Text.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Issue 20: POST and DELETE /orders/{orderid}/allocation over HTTP: all or nothing, every SKU at
/// fault named, repeats answered the same, other lines a conflict, and GET /allocations for both ways.
/// </summary>
public class OrderAllocationEndpointTests : ApiFixture
{
    private static string PathOf(string orderId) => $"/orders/{Uri.EscapeDataString(orderId)}/allocation";

    private async Task<(string[] Skus, string[] Batches)> StockAsync(int quantity, int count = 3)
    {
        var stem = Unique.Sku();
        var skus = Enumerable.Range(0, count).Select(i => $"{stem}-{(char)('a' + i)}").ToArray();
        var batches = skus.Select(_ => Unique.BatchRef()).ToArray();
        for (var i = 0; i < count; i++)
        {
            await Client.AddBatchAsync(batches[i], skus[i], quantity);
        }

        return (skus, batches);
    }

    private Task<HttpResponseMessage> AllocateAsync(string orderId, params (string Sku, int Qty)[] lines) =>
        Client.PostJsonAsync(PathOf(orderId), new { lines = lines.Select(l => new { sku = l.Sku, qty = l.Qty }) });

    private Task<HttpResponseMessage> DeallocateAsync(string orderId) =>
        Client.DeleteAsync(new Uri(PathOf(orderId), UriKind.Relative));

    private async Task<List<(string Sku, string BatchRef)>?> ListedAsync(string orderId)
    {
        using var response = await Client.GetAsync(new Uri($"/allocations/{Uri.EscapeDataString(orderId)}", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var body = await response.ShouldBeJsonAsync(HttpStatusCode.OK);
        return [.. body.EnumerateArray().Select(e => (e.GetProperty("sku").GetString()!, e.GetProperty("batchref").GetString()!))
            .OrderBy(e => e.Item1, StringComparer.Ordinal)];
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    [Test]
    public async Task An_order_with_stock_for_every_line_is_201_with_every_line_and_its_batch()
    {
        var (skus, batches) = await StockAsync(10);
        var orderId = Unique.OrderId();

        using var response = await AllocateAsync(orderId, (skus[2], 1), (skus[0], 2), (skus[1], 3));

        var body = await response.ShouldBeJsonAsync(HttpStatusCode.Created);
        body.GetRawText().Should().Be(JsonSerializer.Serialize(new
        {
            orderid = orderId,
            lines = new[]
            {
                new { sku = skus[0], qty = 2, batchref = batches[0] },
                new { sku = skus[1], qty = 3, batchref = batches[1] },
                new { sku = skus[2], qty = 1, batchref = batches[2] },
            },
        }));
        response.Headers.Location!.ToString().Should().EndWith($"/allocations/{orderId}");
        (await ListedAsync(orderId)).Should().Equal((skus[0], batches[0]), (skus[1], batches[1]), (skus[2], batches[2]));
    }

    [Test]
    public async Task Lines_without_room_are_400_out_of_stock_naming_every_such_sku_and_nothing_is_allocated()
    {
        var (skus, _) = await StockAsync(2);
        var orderId = Unique.OrderId();

        using var response = await AllocateAsync(orderId, (skus[2], 3), (skus[0], 1), (skus[1], 5));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.OutOfStock);
        Strings(problem.GetProperty("skus")).Should().Equal(skus[1], skus[2]);
        problem.GetProperty("detail").GetString().Should().Contain(skus[1]).And.Contain(skus[2]).And.NotContain(skus[0]);
        (await ListedAsync(orderId)).Should().BeNull();
        (await Store.QueryAsync<int>("SELECT allocated_quantity FROM batches WHERE sku = ANY(@skus)", new { skus })).Should().OnlyContain(q => q == 0);
    }

    [Test]
    public async Task Unknown_skus_are_400_invalid_sku_naming_all_of_them()
    {
        var (skus, _) = await StockAsync(10, count: 1);
        var (unknownA, unknownB) = ($"{skus[0]}-unknown-a", $"{skus[0]}-unknown-b");
        var orderId = Unique.OrderId();

        using var response = await AllocateAsync(orderId, (unknownB, 1), (skus[0], 1), (unknownA, 1));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.InvalidSku);
        Strings(problem.GetProperty("skus")).Should().Equal(unknownA, unknownB);
        (await ListedAsync(orderId)).Should().BeNull();
        (await Store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE data->>'orderid' = @orderId", new { orderId })).Should().Be(0);
    }

    [Test]
    public async Task The_same_order_again_in_another_line_order_gets_the_same_201_and_changes_nothing()
    {
        var (skus, _) = await StockAsync(10);
        var orderId = Unique.OrderId();
        using var first = await AllocateAsync(orderId, (skus[0], 2), (skus[1], 3));
        var firstBody = (await first.ShouldBeJsonAsync(HttpStatusCode.Created)).GetRawText();
        var eventsBefore = await Store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE data->>'orderid' = @orderId", new { orderId });

        using var repeat = await AllocateAsync(orderId, (skus[1], 3), (skus[0], 2));

        (await repeat.ShouldBeJsonAsync(HttpStatusCode.Created)).GetRawText().Should().Be(firstBody);
        (await Store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE data->>'orderid' = @orderId", new { orderId })).Should().Be(eventsBefore);
        (await Store.QueryAsync<int>("SELECT allocated_quantity FROM batches WHERE sku = ANY(@skus) ORDER BY sku COLLATE \"C\"", new { skus }))
            .Should().Equal(2, 3, 0);
    }

    [Test]
    public async Task The_same_order_with_other_lines_is_409_order_conflict_naming_what_is_allocated()
    {
        var (skus, batches) = await StockAsync(10);
        var orderId = Unique.OrderId();
        (await AllocateAsync(orderId, (skus[0], 2), (skus[1], 3))).StatusCode.Should().Be(HttpStatusCode.Created);

        using var response = await AllocateAsync(orderId, (skus[0], 2), (skus[2], 1));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, ProblemTypes.OrderConflict);
        problem.GetProperty("allocated").GetRawText().Should().Be(JsonSerializer.Serialize(new[]
        {
            new { sku = skus[0], qty = 2, batchref = batches[0] },
            new { sku = skus[1], qty = 3, batchref = batches[1] },
        }));
        (await ListedAsync(orderId)).Should().Equal((skus[0], batches[0]), (skus[1], batches[1]));
    }

    [Test]
    public async Task Lines_allocated_one_by_one_count_as_part_of_the_order_and_delete_gives_back_all()
    {
        var (skus, batches) = await StockAsync(10);
        var orderId = Unique.OrderId();
        (await Client.PostJsonAsync("/allocate", new { orderid = orderId, sku = skus[1], qty = 4 })).StatusCode.Should().Be(HttpStatusCode.Created);

        using var allocated = await AllocateAsync(orderId, (skus[0], 1), (skus[1], 4));
        (await allocated.ShouldBeJsonAsync(HttpStatusCode.Created)).GetProperty("lines").GetArrayLength().Should().Be(2);
        using var released = await DeallocateAsync(orderId);
        using var again = await DeallocateAsync(orderId);

        (await released.ShouldBeJsonAsync(HttpStatusCode.OK)).GetRawText().Should().Be(JsonSerializer.Serialize(new
        {
            orderid = orderId,
            lines = new[] { new { sku = skus[0], qty = 1, batchref = batches[0] }, new { sku = skus[1], qty = 4, batchref = batches[1] } },
        }));
        await again.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
        (await ListedAsync(orderId)).Should().BeNull();
        (await Store.QueryAsync<int>("SELECT allocated_quantity FROM batches WHERE sku = ANY(@skus)", new { skus })).Should().OnlyContain(q => q == 0);
    }

    [Test]
    public async Task An_order_records_its_line_events_and_one_order_event_a_rejection_only_its_rejection()
    {
        var (skus, batches) = await StockAsync(3, count: 2);
        var (allocatedOrder, rejectedOrder) = (Unique.OrderId("ok"), Unique.OrderId("no"));

        (await AllocateAsync(allocatedOrder, (skus[1], 1), (skus[0], 1))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await AllocateAsync(rejectedOrder, (skus[0], 1), (skus[1], 9))).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        (await Store.QueryAsync<string>("SELECT type FROM outbox WHERE data->>'orderid' = @allocatedOrder ORDER BY id", new { allocatedOrder }))
            .Should().Equal("allocation.line.allocated", "allocation.line.allocated", "allocation.order.allocated");
        (await Store.QueryAsync<(string Type, string Data)>(
            "SELECT type, data::text FROM outbox WHERE data->>'orderid' = @rejectedOrder ORDER BY id", new { rejectedOrder }))
            .Should().Equal(("allocation.order.rejected",
                $$"""{"orderid":"{{rejectedOrder}}","lines":[{"sku":"{{skus[0]}}","qty":1},{"sku":"{{skus[1]}}","qty":9}],"out_of_stock":["{{skus[1]}}"]}"""));
        batches.Should().HaveCount(2);
    }

    [Test]
    public async Task An_idempotency_key_replays_both_operations()
    {
        var (skus, _) = await StockAsync(10, count: 1);
        var orderId = Unique.OrderId();
        var key = $"\"{Guid.NewGuid()}\"";
        var deleteKey = $"\"{Guid.NewGuid()}\"";

        async Task<(HttpStatusCode Status, string Body, bool Replayed)> SendAsync(HttpMethod method, string? body, string withKey)
        {
            using var request = new HttpRequestMessage(method, new Uri(PathOf(orderId), UriKind.Relative));
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            }

            request.Headers.TryAddWithoutValidation("Idempotency-Key", withKey);
            using var response = await Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(),
                response.Headers.TryGetValues("Idempotency-Replayed", out var replayed) && replayed.Single() == "true");
        }

        var order = $$"""{"lines":[{"sku":"{{skus[0]}}","qty":2}]}""";
        var first = await SendAsync(HttpMethod.Post, order, key);
        var repeat = await SendAsync(HttpMethod.Post, order, key);
        var released = await SendAsync(HttpMethod.Delete, null, deleteKey);
        var releasedAgain = await SendAsync(HttpMethod.Delete, null, deleteKey);

        (first.Status, first.Replayed).Should().Be((HttpStatusCode.Created, false));
        (repeat.Status, repeat.Body, repeat.Replayed).Should().Be((HttpStatusCode.Created, first.Body, true));
        (released.Status, released.Replayed).Should().Be((HttpStatusCode.OK, false));
        (releasedAgain.Status, releasedAgain.Body, releasedAgain.Replayed).Should().Be((HttpStatusCode.OK, released.Body, true),
            "without the key the repeat would be 404: the lines are gone");
    }

    [TestCase("""{"lines":[]}""", "lines")]
    [TestCase("""{}""", "lines")]
    [TestCase("""{"lines":null}""", "lines")]
    [TestCase("""{"lines":[null]}""", "lines")]
    [TestCase("""{"lines":[{"sku":"A","qty":1},{"sku":"A","qty":2}]}""", "lines")]
    [TestCase("""{"lines":[{"sku":"A"}]}""", "lines[0].qty")]
    [TestCase("""{"lines":[{"sku":"A","qty":0}]}""", "lines[0].qty")]
    [TestCase("""{"lines":[{"sku":"A","qty":1},{"sku":" ","qty":1}]}""", "lines[1].sku")]
    [TestCase("""{"lines":[{"sku":"A","qty":1}],"orderid":"x"}""", "orderid")]
    public async Task An_invalid_body_is_400_validation_keyed_by_the_field_and_changes_nothing(string body, string field)
    {
        var orderId = Unique.OrderId();

        using var response = await Client.PostRawAsync(PathOf(orderId), body);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Contain(field);
        (await ListedAsync(orderId)).Should().BeNull();
    }

    private const string WrongType = "has the wrong JSON type or format, or is given more than once.";

    /// <remarks>
    /// Keyed as <c>POST /allocate</c> keys a wrong <c>qty</c> and as FluentValidation keys a line's
    /// invalid field: by the field's path in the body, so the client knows which line to fix.
    /// </remarks>
    [TestCase("""{"lines":[{"sku":"RED-CHAIR","qty":"ten"}]}""", "lines[0].qty", $"'lines[0].qty' {WrongType}")]
    [TestCase("""{"lines":[{"sku":"A","qty":"1"}]}""", "lines[0].qty", $"'lines[0].qty' {WrongType}")]
    [TestCase("""{"lines":[{"sku":"A","qty":1},{"sku":"B","qty":2.5}]}""", "lines[1].qty", $"'lines[1].qty' {WrongType}")]
    [TestCase("""{"lines":[{"sku":5,"qty":1}]}""", "lines[0].sku", $"'lines[0].sku' {WrongType}")]
    [TestCase("""{"lines":[{"sku":"A","sku":"B","qty":1}]}""", "lines[0].sku", $"'lines[0].sku' {WrongType}")]
    [TestCase("""{"lines":[7]}""", "lines[0]", $"'lines[0]' {WrongType}")]
    [TestCase("""{"lines":[{"sku":"A","qty":1},"B"]}""", "lines[1]", $"'lines[1]' {WrongType}")]
    [TestCase("""{"lines":7}""", "lines", $"'lines' {WrongType}")]
    [TestCase("""{"lines":[{"sku":"A","qty":1,"price":3}]}""", "lines[0].price", "'lines[0].price' is not a field of this request.")]
    public async Task A_wrong_json_type_inside_a_line_is_400_keyed_by_the_fields_path_and_changes_nothing(string body, string path, string message)
    {
        var orderId = Unique.OrderId();

        using var response = await Client.PostRawAsync(PathOf(orderId), body);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
        var errors = problem.GetProperty("errors");
        errors.EnumerateObject().Select(p => p.Name).Should().Equal(path);
        errors.GetProperty(path).EnumerateArray().Select(m => m.GetString()).Should().Equal(message);
        (await ListedAsync(orderId)).Should().BeNull();
    }

    [Test]
    public async Task More_than_a_hundred_lines_is_400()
    {
        var lines = Enumerable.Range(0, 101).Select(i => new { sku = $"SKU-{i}", qty = 1 });

        using var response = await Client.PostJsonAsync(PathOf(Unique.OrderId()), new { lines });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
        problem.GetProperty("errors").GetProperty("lines")[0].GetString().Should().Contain("1 to 100");
    }

    [Test]
    public async Task An_order_id_that_cannot_be_stored_is_400_for_post_and_404_for_delete()
    {
        var tooLong = new string('o', 256);

        using var posted = await AllocateAsync(tooLong, ("SKU", 1));
        using var deleted = await DeallocateAsync(tooLong);

        (await posted.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation)).GetProperty("errors").TryGetProperty("orderid", out _)
            .Should().BeTrue();
        await deleted.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
    }

    [Test]
    public async Task Swagger_documents_both_operations_with_examples()
    {
        using var response = await Client.GetAsync(new Uri("/swagger/v1/swagger.json", UriKind.Relative));
        var document = await response.ShouldBeJsonAsync(HttpStatusCode.OK);

        var path = document.GetProperty("paths").GetProperty("/orders/{orderid}/allocation");
        var post = path.GetProperty("post");
        post.GetProperty("responses").EnumerateObject().Select(r => r.Name).Should().Contain(["201", "400", "409"]);
        path.GetProperty("delete").GetProperty("responses").EnumerateObject().Select(r => r.Name).Should().Contain(["200", "404"]);
        var line = document.GetProperty("components").GetProperty("schemas").GetProperty("OrderLineRequest").GetProperty("properties");
        line.GetProperty("sku").GetProperty("example").GetString().Should().Be("SMALL-TABLE");
        line.GetProperty("qty").GetProperty("example").GetInt32().Should().Be(3);
        post.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Should().Contain(["orderid", "Idempotency-Key"]);
    }
}
