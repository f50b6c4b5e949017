using System.Net;
using Allocation.Api.Errors;
using Allocation.Api.Security;
using Allocation.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Per-caller limits, set tiny here (3 writes and 5 reads a minute) so that a few requests cross
/// them. Each test starts its own API: the buckets live in the process.
/// </summary>
public class RateLimitTests
{
    private static readonly Dictionary<string, string?> TinyLimits = new()
    {
        ["RateLimits:Write:PermitLimit"] = "3",
        ["RateLimits:Write:Window"] = "00:01:00",
        ["RateLimits:Read:PermitLimit"] = "5",
        ["RateLimits:Read:Window"] = "00:01:00",
    };

    private TestDatabase _database = null!;
    private Store _store = null!;

    [OneTimeSetUp]
    public async Task OpenTheStore()
    {
        _database = await TestDatabase.SharedAsync();
        _store = new Store(_database);
    }

    [OneTimeTearDown]
    public async Task CloseTheStore() => await _store.DisposeAsync();

    /// <summary>Every operation the limiter covers (every controller action) declares its 429 in the OpenAPI document.</summary>
    [Test]
    public async Task Every_rate_limited_operation_declares_429_in_the_openapi_document()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString);
        using var client = api.CreateClient();
        var document = await (await client.GetAsync(new Uri("/swagger/v1/swagger.json", UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);
        var endpoints = api.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.RateLimiting.EnableRateLimitingAttribute>() is not null)
            .ToList();

        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => (Name: $"{operation.Name} {path.Name}", Operation: operation.Value)))
            .ToList();

        operations.Should().HaveCount(endpoints.Count, "the document describes exactly the rate-limited endpoints");
        foreach (var (name, operation) in operations)
        {
            var tooMany = operation.GetProperty("responses").GetProperty("429");
            tooMany.GetProperty("description").GetString().Should().Contain("Retry-After", name);
            tooMany.GetProperty("content").EnumerateObject().Select(c => c.Name).Should().Equal(["application/problem+json"], name);
        }
    }

    [Test]
    public async Task A_write_over_the_limit_is_429_with_retry_after_and_changes_nothing()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString, TinyLimits);
        using var client = api.CreateClient();
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await client.AddBatchAsync(batch, sku, 100);
        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("1"), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);
        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("2"), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);

        var refusedOrder = Unique.OrderId("refused");
        using var refused = await client.PostJsonAsync("/allocate", new { orderid = refusedOrder, sku, qty = 1 });

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.TooManyRequests);
        problem.GetProperty("detail").GetString().Should().Contain("3 writes per 60 s");
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        retryAfter.Should().BeInRange(1, 60);
        (await _store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @refusedOrder", new { refusedOrder }))
            .Should().Be(0);
        (await _store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @batch", new { batch }))
            .Should().Be(2, "only the two allowed allocations reached the database");
    }

    [Test]
    public async Task Reads_and_writes_are_counted_apart_and_health_is_not_limited()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString, TinyLimits);
        using var client = api.CreateClient();
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        for (var write = 0; write < 3; write++)
        {
            await client.AddBatchAsync($"{batch}-{write}", sku, 10);
        }

        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests, "the writes are used up");
        for (var read = 0; read < 5; read++)
        {
            (await client.GetAsync($"/batches/{batch}-0")).StatusCode.Should().Be(HttpStatusCode.OK, "reads have a bucket of their own");
        }

        using var sixthRead = await client.GetAsync($"/batches/{batch}-0");
        await sixthRead.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.TooManyRequests);
        for (var probe = 0; probe < 20; probe++)
        {
            (await client.GetAsync("/health")).StatusCode.Should().Be(HttpStatusCode.OK, "health checks are not limited");
        }
    }

    [Test]
    public async Task Each_client_has_its_own_bucket_and_callers_without_a_token_share_their_address()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString, TinyLimits);
        using var orders = api.CreateClient();
        using var purchasing = api.CreateClient();
        purchasing.DefaultRequestHeaders.Authorization = TestTokens.Header(TokenFor(client: "purchasing"));
        using var anonymous = api.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        for (var write = 0; write < 3; write++)
        {
            await orders.AddBatchAsync($"{batch}-{write}", sku, 10);
        }

        (await orders.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests);
        (await purchasing.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
            .Should().Be(HttpStatusCode.Created, "another client's writes are counted apart");

        for (var attempt = 0; attempt < 3; attempt++)
        {
            (await anonymous.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
                .Should().Be(HttpStatusCode.Unauthorized);
        }

        using var flooding = await anonymous.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 });
        await flooding.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.TooManyRequests);
        (await purchasing.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
            .Should().Be(HttpStatusCode.Created, "a flood without a token does not use up a client's bucket");
    }

    /// <summary>A valid token with every scope, issued to another client than the suite's default.</summary>
    private static string TokenFor(string client) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = TestTokens.Issuer,
        Audience = TestTokens.Audience,
        Expires = DateTime.UtcNow.AddHours(1),
        Claims = new Dictionary<string, object> { ["sub"] = "someone", ["client_id"] = client, ["scope"] = string.Join(' ', Scopes.All) },
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(TestTokens.Key), SecurityAlgorithms.HmacSha256),
    });
}
