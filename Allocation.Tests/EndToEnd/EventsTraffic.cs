using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Concurrent allocations, deallocations and quantity changes over a few SKUs, spread over API
/// instances, with every answer kept: what the service said happened, for comparison with the events.
/// </summary>
internal sealed class EventsTraffic(string[] skus, IReadOnlyDictionary<string, string[]> batchesBySku, TimeSpan pause = default)
{
    public ConcurrentBag<(string OrderId, string Sku, string BatchRef)> Allocated { get; } = [];

    public ConcurrentBag<(string OrderId, string Sku, string BatchRef)> Deallocated { get; } = [];

    /// <summary>The bodies of 200 answers to PATCH /batches/{ref}.</summary>
    public ConcurrentBag<JsonElement> Changed { get; } = [];

    public ConcurrentBag<int> Statuses { get; } = [];

    /// <summary>Every 5xx answer: request and body, for the failure message.</summary>
    public ConcurrentBag<string> ServerErrors { get; } = [];

    /// <summary>Requests that got no answer (the instance was killed, or the connection dropped).</summary>
    public int Unanswered => _unanswered;

    private readonly ConcurrentQueue<(string OrderId, string Sku)> _toDeallocate = new();
    private int _unanswered;
    private int _next = -1;

    /// <summary>
    /// Sends at most <paramref name="requests"/> requests from <paramref name="clients"/> concurrent
    /// clients, fewer when <paramref name="stop"/> fires first; request n goes to <paramref name="instance"/>(n).
    /// </summary>
    public Task RunAsync(Func<int, HttpClient> instance, int requests, int clients, int seed, CancellationToken stop = default)
    {
        var end = Volatile.Read(ref _next) + requests;
        return Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(seed + client);
            int n;
            while (!stop.IsCancellationRequested && (n = Interlocked.Increment(ref _next)) <= end)
            {
                try
                {
                    await SendOneAsync(instance(n), random);
                }
                catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref _unanswered);
                }

                if (pause > TimeSpan.Zero)
                {
                    // Paces a load that must last through faults injected meanwhile, rather than end before them.
                    await Task.Delay(pause, CancellationToken.None);
                }
            }
        })));
    }

    private async Task SendOneAsync(HttpClient client, Random random)
    {
        var roll = random.Next(100);
        if (roll < 15 && _toDeallocate.TryDequeue(out var line))
        {
            using var response = await client.PostAsJsonAsync("/deallocate", new { orderid = line.OrderId, sku = line.Sku });
            await RecordAsync(response, $"deallocate {line.OrderId}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Deallocated.Add((line.OrderId, line.Sku, await BatchRefAsync(response)));
            }

            return;
        }

        var sku = skus[random.Next(skus.Length)];
        if (roll < 25)
        {
            var batches = batchesBySku[sku];
            var reference = batches[random.Next(batches.Length)];
            using var response = await client.PatchAsJsonAsync($"/batches/{reference}", new { qty = random.Next(5, 40) });
            await RecordAsync(response, $"PATCH {reference}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Changed.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
            }

            return;
        }

        var orderId = Support.Unique.OrderId();
        using (var response = await client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = random.Next(1, 6) }))
        {
            await RecordAsync(response, $"allocate {orderId} {sku}");
            if (response.StatusCode == HttpStatusCode.Created)
            {
                Allocated.Add((orderId, sku, await BatchRefAsync(response)));
                _toDeallocate.Enqueue((orderId, sku));
            }
        }
    }

    private async Task RecordAsync(HttpResponseMessage response, string request)
    {
        Statuses.Add((int)response.StatusCode);
        if ((int)response.StatusCode >= 500)
        {
            ServerErrors.Add($"{request}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<string> BatchRefAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchref").GetString()!;
}
