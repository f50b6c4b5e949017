using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Issue 17, section 4: every POST and PATCH is safe to retry with an Idempotency-Key. A repeat with
/// the same key and body gets the original status and body and changes nothing; the same key with
/// another body is 422; a repeat while the first still runs is 409; a malformed key is 400; keys expire.
/// </summary>
public class IdempotencyKeyEndpointTests : ApiFixture
{
    /// <summary>Hostile keys are checked against whole-table snapshots.</summary>
    protected override bool NeedsItsOwnDatabase => true;

    private const string Header = "Idempotency-Key";

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object body, params string[] keys)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        foreach (var key in keys)
        {
            request.Headers.TryAddWithoutValidation(Header, key);
        }

        return Client.SendAsync(request);
    }

    private static async Task<(int Status, string Body, string? Location, bool Replayed)> ReadAsync(HttpResponseMessage response)
    {
        using (response)
        {
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString(),
                response.Headers.TryGetValues("Idempotency-Replayed", out var replayed) && replayed.Single() == "true");
        }
    }

    private static string NewKey() => $"\"{Guid.NewGuid()}\"";

    [Test]
    public async Task Every_write_repeated_with_its_key_gets_the_first_answer_and_changes_nothing()
    {
        var (sku, batch, orderId) = (Unique.Sku(), Unique.BatchRef(), Unique.OrderId());
        var writes = new (HttpMethod Method, string Path, object Body)[]
        {
            (HttpMethod.Post, "/add_batch", new { @ref = batch, sku, qty = 10, eta = (string?)null }),
            (HttpMethod.Post, "/allocate", new { orderid = orderId, sku, qty = 3 }),
            (HttpMethod.Patch, $"/batches/{batch}", new { qty = 8 }),
            (HttpMethod.Post, "/deallocate", new { orderid = orderId, sku }),
        };

        foreach (var (method, path, body) in writes)
        {
            var key = NewKey();
            var first = await ReadAsync(await SendAsync(method, path, body, key));
            var eventsAfterFirst = await EventsAsync(sku);
            var repeat = await ReadAsync(await SendAsync(method, path, body, key));

            first.Status.Should().BeInRange(200, 201, $"{method} {path}: {first.Body}");
            first.Replayed.Should().BeFalse();
            repeat.Should().Be(first with { Replayed = true }, $"{method} {path} repeated with its key is answered as the first time");
            (await EventsAsync(sku)).Should().Be(eventsAfterFirst, $"{method} {path} repeated with its key recorded nothing");
        }

        // Without a key each of these repeats would have been refused or recorded a second change.
        using var unkeyed = await Client.PostJsonAsync("/deallocate", new { orderid = orderId, sku });
        unkeyed.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task The_same_key_with_another_body_is_422_and_changes_nothing()
    {
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));
        var key = NewKey();
        (await ReadAsync(await SendAsync(HttpMethod.Post, "/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 }, key))).Status.Should().Be(201);
        var before = await DatabaseSnapshot.TakeAsync(Store);

        using var other = await SendAsync(HttpMethod.Post, "/allocate", new { orderid = Unique.OrderId(), sku, qty = 2 }, key);
        using var otherPath = await SendAsync(HttpMethod.Post, "/deallocate", new { orderid = Unique.OrderId(), sku }, key);

        await other.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ProblemTypes.IdempotencyKeyReused);
        await otherPath.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ProblemTypes.IdempotencyKeyReused);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [Test]
    public async Task A_repeat_while_the_first_is_still_running_is_409_and_the_first_completes()
    {
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));
        var key = NewKey();
        var body = new { orderid = Unique.OrderId(), sku, qty = 1 };

        // Hold the product's row so that the first request, having taken its key, waits at its write.
        await using var blocker = new NpgsqlConnection(Store.Database.ConnectionString);
        await blocker.OpenAsync();
        await using var hold = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM products WHERE sku = @sku FOR UPDATE", blocker, hold))
        {
            lockRow.Parameters.AddWithValue("sku", sku);
            await lockRow.ExecuteScalarAsync();
        }

        // The repeat goes to a second instance, as a retry through a load balancer does: on the same
        // instance it would queue behind the first at its SKU's turn, and get its answer after it.
        await using var otherInstance = ApiFactory.Start(Store.Database.ConnectionString);
        using var otherClient = otherInstance.CreateClient();
        var first = SendAsync(HttpMethod.Post, "/allocate", body, key);
        await WaitForBlockedWriteAsync(sku);
        var repeat = new HttpRequestMessage(HttpMethod.Post, "/allocate") { Content = JsonContent.Create(body) };
        repeat.Headers.TryAddWithoutValidation(Header, key);
        using (var second = await otherClient.SendAsync(repeat))
        {
            var problem = await second.ShouldBeProblemAsync(HttpStatusCode.Conflict, ProblemTypes.IdempotencyKeyInUse);
            second.Headers.RetryAfter.Should().NotBeNull();
            problem.GetProperty("detail").GetString().Should().Contain("still being processed");
        }

        await hold.RollbackAsync();
        var answer = await ReadAsync(await first);
        answer.Status.Should().Be(201, answer.Body);
        (await ReadAsync(await SendAsync(HttpMethod.Post, "/allocate", body, key))).Should().Be(answer with { Replayed = true });
    }

    private async Task WaitForBlockedWriteAsync(string sku)
    {
        for (var i = 0; i < 100; i++)
        {
            var waiting = await Store.ScalarAsync<long>(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE products%'");
            if (waiting > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The first request for {sku} never waited at its write.");
    }

    private static readonly string[][] HostileKeys =
    [
        [""],
        ["\"\""],
        [new string('k', 256)],
        [new string('k', 10_000)],
        ["\"unterminated"],
        ["bare\"quote"],
        ["\"bad\\escape\""],
        ["with space"],
        ["tab\there"],
        ["bell\u0007"],
        ["del\u007f"],
        ["one", "two"],
    ];

    [TestCaseSource(nameof(HostileKeys))]
    public async Task A_malformed_key_is_400_and_changes_nothing(params string[] keys)
    {
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));
        var before = await DatabaseSnapshot.TakeAsync(Store);

        using var response = await SendAsync(HttpMethod.Post, "/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 }, keys);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.IdempotencyKeyInvalid);
        problem.GetProperty("detail").GetString().Should().Contain("Idempotency-Key");
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    /// <remarks>Over a raw socket: HttpClient refuses to send a header value that is not ASCII.</remarks>
    [Test]
    public async Task A_key_with_non_ascii_bytes_is_400_and_changes_nothing()
    {
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));
        var before = await DatabaseSnapshot.TakeAsync(Store);
        var token = Client.DefaultRequestHeaders.Authorization!.ToString();
        var body = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { orderid = Unique.OrderId(), sku, qty = 1 }));
        var head = System.Text.Encoding.ASCII.GetBytes(
            $"POST /allocate HTTP/1.1\r\nHost: localhost\r\nAuthorization: {token}\r\nContent-Type: application/json\r\n" +
            $"Content-Length: {body.Length}\r\nConnection: close\r\nIdempotency-Key: caf");

        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(Client.BaseAddress!.Host, Client.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(head);
        await stream.WriteAsync(new byte[] { 0xC3, 0xA9, (byte)'\r', (byte)'\n', (byte)'\r', (byte)'\n' });
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync();

        answer.Should().StartWith("HTTP/1.1 400 ");
        answer.Should().Contain("application/problem+json").And.Contain(ProblemTypes.IdempotencyKeyInvalid);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [TestCase("k")]
    [TestCase("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"")]
    [TestCase("\"quoted \\\"and\\\\ escaped\"")]
    public async Task Keys_of_one_to_255_printable_characters_are_accepted_quoted_or_bare(string key)
    {
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));

        var answer = await ReadAsync(await SendAsync(HttpMethod.Post, "/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 }, key));

        answer.Status.Should().Be(201, answer.Body);
    }

    [Test]
    public async Task A_key_is_new_again_after_its_retention()
    {
        await using var shortLived = ApiFactory.Start(
            Store.Database.ConnectionString, new Dictionary<string, string?> { ["Idempotency:Retention"] = "00:00:01" });
        using var client = shortLived.CreateClient();
        var sku = Unique.Sku();
        await AddStockAsync((Unique.BatchRef(), sku, 10, null));
        var key = NewKey();
        HttpRequestMessage Allocate(string orderId)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/allocate") { Content = JsonContent.Create(new { orderid = orderId, sku, qty = 1 }) };
            request.Headers.TryAddWithoutValidation(Header, key);
            return request;
        }

        (await client.SendAsync(Allocate(Unique.OrderId()))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await client.SendAsync(Allocate(Unique.OrderId()))).StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, "within the retention");
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        using var afterwards = await client.SendAsync(Allocate(Unique.OrderId()));
        afterwards.StatusCode.Should().Be(HttpStatusCode.Created, "an expired key is new again");
    }

    private Task<long> EventsAsync(string sku) =>
        Store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE subject = @sku", new { sku });
}
