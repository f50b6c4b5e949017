using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Allocation.Tests.EndToEnd.ProductionFaults;
using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd.HighAvailability;

/// <summary>
/// Steady traffic on a formation while a fault happens, and what was seen from outside:
/// 16 clients allocating one unit at a time (spread over the instances), a reader of confirmed
/// allocations, a reader walking <c>GET /events</c> with its cursor, a direct writer on the
/// formation's multi-host string (when writes resume, whatever the service does), and the
/// monitor's node states (when the standby was promoted).
/// </summary>
internal sealed class FormationLoad : IAsyncDisposable
{
    public const int Clients = 16;

    private readonly IReadOnlyList<ApiProcess> _instances;
    private readonly string[] _skus;
    private readonly PrivateFormation _formation;
    private readonly string _probeConnectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Answer> _writes = new();
    private readonly ConcurrentQueue<Answer> _reads = new();
    private readonly ConcurrentQueue<string> _confirmed = new();
    private readonly ConcurrentQueue<ProbeWrite> _probe = new();
    private readonly ConcurrentQueue<(DateTime At, string State)> _timeline = new();
    private readonly List<JsonElement> _events = [];
    private readonly List<Task> _tasks = [];
    private string? _cursor;
    private string _phase = "before";

    private FormationLoad(IReadOnlyList<ApiProcess> instances, string[] skus, PrivateFormation formation, string probeConnectionString, string? cursor)
    {
        _instances = instances;
        _skus = skus;
        _formation = formation;
        _probeConnectionString = probeConnectionString;
        _cursor = cursor;
    }

    /// <summary>The phase that answers and probe writes are labelled with from now on.</summary>
    public string Phase
    {
        get => Volatile.Read(ref _phase);
        set => Volatile.Write(ref _phase, value);
    }

    public IReadOnlyList<Answer> Writes => [.. _writes];

    /// <summary>Where the feed reader got to: the next load goes on from here.</summary>
    public string? Cursor => _cursor;

    /// <summary>Reads of confirmed allocations and pages of the event feed.</summary>
    public IReadOnlyList<Answer> Reads => [.. _reads];

    public IReadOnlyList<ProbeWrite> Probe => [.. _probe];

    /// <summary>Each change of the monitor's view of the nodes, as "node_1 primary/demote_timeout health=1, node_2 …".</summary>
    public IReadOnlyList<(DateTime At, string State)> Timeline => [.. _timeline];

    /// <summary>The events of this load's SKUs the feed reader saw, in the order it saw them.</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>
    /// Starts everything. <paramref name="cursor"/> is the feed's end before the SKUs were seeded,
    /// so that the reader sees each SKU's events from its first.
    /// </summary>
    public static FormationLoad Start(
        IReadOnlyList<ApiProcess> instances, string[] skus, PrivateFormation formation, string probeConnectionString, string? cursor)
    {
        var load = new FormationLoad(instances, skus, formation, probeConnectionString, cursor);
        load._tasks.AddRange(Enumerable.Range(0, Clients).Select(load.AllocateAsync));
        load._tasks.Add(load.ReadAllocationsAsync());
        load._tasks.Add(load.WalkFeedAsync());
        load._tasks.Add(load.ProbeAsync());
        load._tasks.Add(load.WatchMonitorAsync());
        return load;
    }

    /// <summary>Waits until <paramref name="count"/> allocations were confirmed in the current phase.</summary>
    public async Task WaitForConfirmedAsync(int count, TimeSpan limit)
    {
        var phase = Phase;
        var deadline = DateTime.UtcNow + limit;
        while (_writes.Count(a => a.Phase == phase && a.Status == 201) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Fewer than {count} allocations confirmed within {limit.TotalSeconds:0} s in phase {phase}: {Answer.Summary(Writes)}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// When writes resumed after <paramref name="since"/>: the end of the first successful direct
    /// write that started after the last failed one; <paramref name="since"/> itself if none failed.
    /// </summary>
    public DateTime? WritesResumedAfter(DateTime since)
    {
        var probe = Probe.Where(p => p.Started >= since).ToList();
        var lastFailure = probe.LastOrDefault(p => !p.Succeeded);
        if (lastFailure is null)
        {
            return since;
        }

        return probe.FirstOrDefault(p => p.Succeeded && p.Started > lastFailure.Started)?.Ended;
    }

    /// <summary>Stops the traffic, then walks the feed until the event of every confirmed allocation is in (or 30 s passed).</summary>
    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        var confirmed = _writes.Where(a => a.Status == 201).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await ReadFeedPageAsync(_instances[0].Client, record: false);
            var seen = Events.Where(IsAllocated).Select(OrderIdOf).ToHashSet(StringComparer.Ordinal);
            if (confirmed.IsSubsetOf(seen))
            {
                return;
            }

            await Task.Delay(100);
        }
    }

    public static bool IsAllocated(JsonElement e) => e.GetProperty("type").GetString() == "allocation.line.allocated";

    public static string OrderIdOf(JsonElement e) => e.GetProperty("data").GetProperty("orderid").GetString()!;

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private Task AllocateAsync(int client) => Task.Run(async () =>
    {
        var random = new Random(client);
        var http = _instances[client % _instances.Count].Client;
        while (!_stop.IsCancellationRequested)
        {
            var answer = await Ask.AllocateAsync(http, Unique.OrderId(), _skus[random.Next(_skus.Length)], 1, Phase);
            _writes.Enqueue(answer);
            if (answer.Status == 201)
            {
                _confirmed.Enqueue(answer.Key);
            }
            else
            {
                // A client told to retry later waits a moment, as a well-behaved one does (not the 5 s it is told).
                await Task.Delay(100, CancellationToken.None);
            }

            await Task.Delay(10, CancellationToken.None);
        }
    });

    private Task ReadAllocationsAsync() => Task.Run(async () =>
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            var orders = _confirmed.ToArray();
            if (orders.Length > 0)
            {
                var order = orders[Random.Shared.Next(orders.Length)];
                _reads.Enqueue(await Ask.GetAsync(_instances[n++ % _instances.Count].Client, $"/allocations/{order}", Phase));
            }

            await Task.Delay(20, CancellationToken.None);
        }
    });

    private Task WalkFeedAsync() => Task.Run(async () =>
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            if (!await ReadFeedPageAsync(_instances[n++ % _instances.Count].Client, record: true))
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }
    });

    /// <summary>One page from the cursor on; false when it was empty or failed.</summary>
    private async Task<bool> ReadFeedPageAsync(HttpClient client, bool record)
    {
        var path = _cursor is null ? "/events?limit=500" : $"/events?after={_cursor}&limit=500";
        var answer = await Ask.GetAsync(client, path, Phase);
        if (record)
        {
            _reads.Enqueue(answer with { Body = answer.Status == 200 ? "" : answer.Body });
        }

        if (answer.Status != (int)HttpStatusCode.OK)
        {
            return false;
        }

        var page = JsonDocument.Parse(answer.Body).RootElement;
        var events = page.GetProperty("events").EnumerateArray().ToList();
        if (events.Count == 0)
        {
            return false;
        }

        lock (_events)
        {
            _events.AddRange(events.Where(e => _skus.Contains(e.GetProperty("subject").GetString())).Select(e => e.Clone()));
        }

        _cursor = page.GetProperty("cursor").GetString();
        return true;
    }

    private Task ProbeAsync() => Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = DateTime.UtcNow;
            var phase = Phase;
            string? error = null;
            try
            {
                await using var connection = new NpgsqlConnection(_probeConnectionString);
                // A COMMIT whose wait for the standby was cancelled (here by the command timeout) succeeds
                // with a warning only: committed on this server alone, which is not a write that resumed.
                string? notice = null;
                connection.Notice += (_, e) => notice ??= $"{e.Notice.Severity} {e.Notice.SqlState}: {e.Notice.MessageText}";
                await connection.OpenAsync(CancellationToken.None);
                await using var insert = new NpgsqlCommand("INSERT INTO ha_probe DEFAULT VALUES", connection);
                await insert.ExecuteNonQueryAsync(CancellationToken.None);
                error = notice;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
            {
                error = $"{e.GetType().Name}{(e is PostgresException p ? " " + p.SqlState : "")}: {e.Message}";
            }

            _probe.Enqueue(new ProbeWrite(phase, started, DateTime.UtcNow, error));
            await Task.Delay(100, CancellationToken.None);
        }
    });

    private Task WatchMonitorAsync() => Task.Run(async () =>
    {
        string? last = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var state = string.Join(", ", (await _formation.StateAsync()).Select(s => s.ToString()));
                if (state != last)
                {
                    _timeline.Enqueue((DateTime.UtcNow, state));
                    last = state;
                }
            }
            catch (NpgsqlException)
            {
                // The monitor is busy; the next look will do.
            }

            await Task.Delay(200, CancellationToken.None);
        }
    });
}

/// <summary>One direct write to the formation: when it started and ended, and its error if it failed.</summary>
internal sealed record ProbeWrite(string Phase, DateTime Started, DateTime Ended, string? Error)
{
    public bool Succeeded => Error is null;
}
