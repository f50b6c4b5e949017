using System.Collections.Concurrent;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>Outbox rows written with plain SQL, as the unit of work writes them, and relays over them.</summary>
internal static class RelayOutbox
{
    public const string AllocatedType = "allocation.line.allocated";

    /// <summary>Inserts <paramref name="count"/> events of one SKU, numbered on from its last; returns their event ids in order.</summary>
    public static async Task<IReadOnlyList<Guid>> InsertAsync(
        NpgsqlDataSource dataSource, string sku, int count, string type = AllocatedType,
        TimeSpan? age = null, bool published = false)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<Guid>(
            """
            INSERT INTO outbox (event_id, type, subject, sku_sequence, occurred_at, data, published_at)
            SELECT gen_random_uuid(), @type, @sku,
                   coalesce((SELECT max(sku_sequence) FROM outbox WHERE subject = @sku), 0) + n,
                   now() - @age,
                   jsonb_build_object('orderid', 'order-' || n, 'sku', @sku, 'qty', n, 'batchref', 'batch-1'),
                   CASE WHEN @published THEN now() END
            FROM generate_series(1, @count) AS n
            ORDER BY n
            RETURNING event_id
            """,
            new { sku, count, type, age = age ?? TimeSpan.Zero, published })).AsList();
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql, object? parameters = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"No value from {sql}");
    }

    public static async Task<IReadOnlyList<T>> QueryAsync<T>(NpgsqlDataSource dataSource, string sql, object? parameters = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).AsList();
    }

    public static Task<long> CountAsync(NpgsqlDataSource dataSource, string where, object? parameters = null) =>
        ScalarAsync<long>(dataSource, $"SELECT count(*) FROM outbox WHERE {where}", parameters);

    public static async Task EmptyAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("TRUNCATE outbox");
    }

    public static EventRelay Relay(
        NpgsqlDataSource dataSource, Uri broker, EventsOptions? options = null, RelayState? state = null, ILogger<EventRelay>? logger = null) =>
        new(new OutboxStore(dataSource), new AmqpEventPublisher(broker), state ?? new RelayState(),
            Options.Create(options ?? new EventsOptions()), logger ?? new ListLogger<EventRelay>());

    /// <summary>Polls until <paramref name="condition"/> holds, or fails after <paramref name="limit"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, string because)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {limit}: {because}");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>A logger that keeps what was logged, to check the relay's lines.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, EventId Event, string Message, Exception? Error)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        Entries.Enqueue((logLevel, eventId, formatter(state, exception), exception));
    }
}
