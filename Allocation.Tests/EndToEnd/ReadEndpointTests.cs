using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

public class ReadEndpointTests : ApiFixture
{
    [Test]
    public async Task An_orders_allocations_list_each_sku_with_its_batch()
    {
        var (lamp, sofa) = (Unique.Sku("lamp"), Unique.Sku("sofa"));
        var (lampBatch, sofaBatch) = (Unique.BatchRef("lamp"), Unique.BatchRef("sofa"));
        var order = Unique.OrderId();
        await AddStockAsync((lampBatch, lamp, 10, null), (sofaBatch, sofa, 10, "2030-05-05"));
        await Client.PostJsonAsync("/allocate", new { orderid = order, sku = lamp, qty = 1 });
        await Client.PostJsonAsync("/allocate", new { orderid = order, sku = sofa, qty = 2 });

        var body = await (await Client.GetAsync(new Uri($"/allocations/{order}", UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);

        body.EnumerateArray().Select(e => (e.GetProperty("sku").GetString(), e.GetProperty("batchref").GetString()))
            .Should().BeEquivalentTo([(lamp, lampBatch), (sofa, sofaBatch)]);
    }

    [Test]
    public async Task An_order_without_allocations_is_404()
    {
        var response = await Client.GetAsync(new Uri($"/allocations/{Unique.OrderId()}", UriKind.Relative));
        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
    }

    [Test]
    public async Task A_batch_reads_back_with_its_allocated_and_available_quantities()
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 30, "2027-03-04"));
        await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 12 });

        var body = await (await Client.GetAsync(new Uri($"/batches/{batch}", UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);

        body.GetProperty("ref").GetString().Should().Be(batch);
        body.GetProperty("sku").GetString().Should().Be(sku);
        body.GetProperty("qty").GetInt32().Should().Be(30);
        body.GetProperty("eta").GetString().Should().Be("2027-03-04");
        body.GetProperty("allocated").GetInt32().Should().Be(12);
        body.GetProperty("available").GetInt32().Should().Be(18);
    }

    [Test]
    public async Task An_unknown_batch_is_404()
    {
        var response = await Client.GetAsync(new Uri($"/batches/{Unique.BatchRef()}", UriKind.Relative));
        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
    }

    [Test]
    public async Task Health_is_200_while_the_database_answers()
    {
        var response = await Client.GetAsync(new Uri("/health", UriKind.Relative));
        (await response.ShouldBeJsonAsync(HttpStatusCode.OK)).GetProperty("status").GetString().Should().Be("Healthy");
    }

    [Test]
    public async Task The_openapi_document_describes_every_operation_with_its_scope_responses_and_examples()
    {
        var document = await (await Client.GetAsync(new Uri("/swagger/v1/swagger.json", UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);
        var paths = document.GetProperty("paths");
        document.GetProperty("openapi").GetString().Should().StartWith("3.1", "3.0 allows no scopes in an HTTP bearer requirement");

        (string Path, string Method, string Scope, string[] Codes)[] expected =
        [
            ("/add_batch", "post", "stock:write", ["201", "400", "401", "403", "409", "413", "415", "422", "429", "503", "504"]),
            ("/allocate", "post", "allocation:write", ["201", "400", "401", "403", "409", "413", "415", "422", "429", "503", "504"]),
            ("/deallocate", "post", "allocation:write", ["200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503", "504"]),
            ("/allocations/{orderId}", "get", "allocation:read", ["200", "401", "403", "404", "429", "503", "504"]),
            ("/batches/{reference}", "get", "allocation:read", ["200", "401", "403", "404", "429", "503", "504"]),
            ("/batches/{reference}", "patch", "stock:write", ["200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503", "504"]),
            ("/events", "get", "allocation:read", ["200", "400", "401", "403", "429", "503", "504"]),
        ];
        foreach (var (path, method, scope, codes) in expected)
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            operation.GetProperty("summary").GetString().Should().NotBeNullOrWhiteSpace();
            operation.GetProperty("description").GetString().Should().EndWith($"Requires the scope `{scope}`.", path);
            operation.GetProperty("security").EnumerateArray().Should().ContainSingle(path).Which.GetProperty("Bearer")
                .EnumerateArray().Select(s => s.GetString()).Should().Equal([scope], path);
            var responses = operation.GetProperty("responses");
            responses.EnumerateObject().Select(r => r.Name).Should().BeEquivalentTo(codes, path);
            // A bare reason phrase ("Service Unavailable") means nobody described it; descriptions here are sentences.
            responses.EnumerateObject().Should().OnlyContain(
                r => r.Value.GetProperty("description").GetString()!.EndsWith('.'), $"every response of {path} is described, not just named");
        }

        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        (bearer.GetProperty("type").GetString(), bearer.GetProperty("scheme").GetString(), bearer.GetProperty("bearerFormat").GetString())
            .Should().Be(("http", "bearer", "JWT"));
        document.TryGetProperty("security", out _).Should().BeFalse("health and Swagger need no token, so there is no document-wide requirement");

        var schemas = document.GetProperty("components").GetProperty("schemas");
        schemas.GetProperty("AllocateRequest").GetProperty("properties").GetProperty("orderid").GetProperty("example").GetString()
            .Should().Be("order-1042");
        schemas.GetProperty("AddBatchRequest").GetProperty("properties").GetProperty("eta").GetProperty("example").GetString()
            .Should().Be("2026-12-01");
        schemas.GetProperty("ChangeBatchRequest").GetProperty("properties").EnumerateObject().Select(p => p.Name)
            .Should().Equal("qty", "eta");
        schemas.GetProperty("CloudEventResponse").GetProperty("properties").EnumerateObject().Select(p => p.Name)
            .Should().Equal("specversion", "id", "source", "type", "time", "subject", "datacontenttype", "skusequence", "position", "data");
        paths.GetProperty("/events").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString()).Should().Equal("after", "limit");
    }

    [Test]
    public async Task Swagger_ui_is_served()
    {
        var response = await Client.GetAsync(new Uri("/swagger/index.html", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("swagger-ui");
    }
}
