// The floor under the service's CPU per request on this machine: POST /allocate and
// GET /allocations/{orderid} answered with nothing of the service's stack (no MVC, validation,
// authentication, rate limiting, telemetry, Dapper, retries or deadlines), straight on Kestrel and
// Npgsql, with the same HTTP exchange and the same round trips to PostgreSQL:
//   allocate: BEGIN + the product's batches + the order's line of that SKU (one round trip), then the
//             version move with its outbox event + the allocation + COMMIT (one round trip);
//   read:     one query.
// Floor:Mode=http answers the same requests without the database, to separate HTTP from SQL.
// bench/floor/run compares it with the service in one bench/ab session. Not for production: it skips
// every check the service makes.
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false); // as the service
var mode = builder.Configuration["Floor:Mode"] ?? "db";
const string JsonContentType = "application/json; charset=utf-8";
var connectionString = new NpgsqlConnectionStringBuilder(builder.Configuration.GetConnectionString("Allocation"))
{
    // The service's defaults (Allocation.Infrastructure/ConnectionDefaults.cs).
    MaxPoolSize = (2 * Environment.ProcessorCount) + 4,
    MaxAutoPrepare = 32,
    AutoPrepareMinUsages = 2,
    NoResetOnClose = true,
}.ConnectionString;
await using var dataSource = NpgsqlDataSource.Create(connectionString);
builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(sockets =>
    sockets.UnsafePreferInlineScheduling = builder.Configuration.GetValue("Transport:PreferInlineScheduling", false));
var app = builder.Build();

app.Run(context =>
{
    var request = context.Request;
    if (request.Method == "POST" && request.Path == "/allocate")
    {
        return mode == "http" ? AllocateWithoutDatabase(context) : Allocate(context, dataSource);
    }

    if (request.Method == "GET" && request.Path.StartsWithSegments("/allocations", out var rest) && rest.HasValue)
    {
        var orderId = rest.Value![1..];
        return mode == "http" ? ReadWithoutDatabase(context, orderId) : Read(context, dataSource, orderId);
    }

    if (request.Path == "/health")
    {
        return context.Response.WriteAsync("Healthy");
    }

    context.Response.StatusCode = 404;
    return Task.CompletedTask;
});
app.Run();

static async Task AllocateWithoutDatabase(HttpContext context)
{
    context.Response.ContentType = JsonContentType;
    var line = await JsonSerializer.DeserializeAsync(context.Request.Body, FloorJson.Default.AllocateRequest);
    context.Response.StatusCode = 201;
    await JsonSerializer.SerializeAsync(context.Response.Body, new AllocateResponse("batch-" + line!.Sku), FloorJson.Default.AllocateResponse);
}

static async Task ReadWithoutDatabase(HttpContext context, string orderId)
{
    context.Response.ContentType = JsonContentType;
    await JsonSerializer.SerializeAsync(context.Response.Body, [new OrderAllocation("sku-" + orderId, "batch-1")], FloorJson.Default.OrderAllocationArray);
}

static async Task Allocate(HttpContext context, NpgsqlDataSource dataSource)
{
    var line = await JsonSerializer.DeserializeAsync(context.Request.Body, FloorJson.Default.AllocateRequest);
    await using var connection = await dataSource.OpenConnectionAsync();
    // A concurrent writer of the SKU moved its version first: load and decide again, as the service does.
    for (var attempt = 1; ; attempt++)
    {
        var (status, batchReference) = await TryAllocate(connection, line!);
        if (status != 409 || attempt == 10)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = JsonContentType;
            if (status == 201)
            {
                context.Response.Headers.Location = "/allocations/" + line!.OrderId;
            }

            await JsonSerializer.SerializeAsync(context.Response.Body, new AllocateResponse(batchReference), FloorJson.Default.AllocateResponse);
            return;
        }
    }
}

static async Task<(int Status, string BatchReference)> TryAllocate(NpgsqlConnection connection, AllocateRequest line)
{

    // Round trip 1: BEGIN, the product's batches, the order's line of this SKU (a repeat).
    await using var load = new NpgsqlBatch(connection)
    {
        BatchCommands =
        {
            new NpgsqlBatchCommand("BEGIN"),
            new NpgsqlBatchCommand(FloorSql.Batches) { Parameters = { new() { Value = line.Sku } } },
            new NpgsqlBatchCommand(FloorSql.Line) { Parameters = { new() { Value = line.OrderId }, new() { Value = line.Sku } } },
        },
    };
    var version = -1;
    string? chosen = null, repeat = null;
    var best = (Warehouse: false, Eta: DateOnly.MaxValue);
    await using (var reader = await load.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync())
        {
            version = reader.GetInt32(0);
            if (reader.IsDBNull(1) || reader.GetInt32(2) - reader.GetInt32(4) < line.Qty)
            {
                continue;
            }

            var warehouse = reader.IsDBNull(3);
            var eta = warehouse ? DateOnly.MinValue : reader.GetFieldValue<DateOnly>(3);
            if (chosen is null || (warehouse && !best.Warehouse) || (warehouse == best.Warehouse && eta < best.Eta))
            {
                (chosen, best) = (reader.GetString(1), (warehouse, eta));
            }
        }

        await reader.NextResultAsync();
        if (await reader.ReadAsync())
        {
            repeat = reader.GetString(2);
        }
    }

    // The service also commits an out_of_stock event before answering 400; the benchmark's seed never runs out.
    if (repeat is not null || chosen is null || version < 0)
    {
        await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
        await rollback.ExecuteNonQueryAsync();
        return (repeat is not null ? 200 : 400, repeat ?? "");
    }

    // Round trip 2: the version move with its event, the allocation, COMMIT.
    var data = JsonSerializer.Serialize(new AllocatedEvent(line.OrderId, line.Sku, line.Qty, chosen), FloorJson.Default.AllocatedEvent);
    await using var write = new NpgsqlBatch(connection)
    {
        BatchCommands =
        {
            new NpgsqlBatchCommand(FloorSql.VersionMoveAndAllocate)
            {
                Parameters =
                {
                    new() { Value = line.Sku },
                    new() { Value = line.OrderId },
                    new() { Value = line.Qty },
                    new() { Value = chosen },
                    new() { Value = version },
                    new() { Value = version + 1 },
                    new() { Value = 1 },
                    new() { Value = new[] { Guid.CreateVersion7() } },
                    new() { Value = FloorSql.AllocatedEventTypes },
                    new() { Value = new[] { data } },
                },
            },
            new NpgsqlBatchCommand("COMMIT"),
        },
    };
    var written = await write.ExecuteScalarAsync();
    return (written is null ? 409 : 201, chosen);
}

static async Task Read(HttpContext context, NpgsqlDataSource dataSource, string orderId)
{
    await using var connection = await dataSource.OpenConnectionAsync();
    await using var command = new NpgsqlCommand(FloorSql.AllocationsOfOrder, connection) { Parameters = { new() { Value = orderId } } };
    var allocations = new List<OrderAllocation>();
    await using (var reader = await command.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync())
        {
            allocations.Add(new OrderAllocation(reader.GetString(0), reader.GetString(1)));
        }
    }

    if (allocations.Count == 0)
    {
        context.Response.StatusCode = 404;
        return;
    }

    context.Response.ContentType = JsonContentType;
    await JsonSerializer.SerializeAsync(context.Response.Body, allocations.ToArray(), FloorJson.Default.OrderAllocationArray);
}

// The service's JSON names (orderid, sku, qty, batchref); reading is case-insensitive (web defaults).
internal sealed record AllocateRequest(string OrderId, string Sku, int Qty);

internal sealed record AllocateResponse([property: JsonPropertyName("batchref")] string BatchRef);

internal sealed record OrderAllocation(string Sku, [property: JsonPropertyName("batchref")] string BatchRef);

internal sealed record AllocatedEvent(
    [property: JsonPropertyName("orderid")] string OrderId,
    string Sku,
    int Qty,
    [property: JsonPropertyName("batchref")] string BatchRef);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AllocateRequest))]
[JsonSerializable(typeof(AllocateResponse))]
[JsonSerializable(typeof(OrderAllocation[]))]
[JsonSerializable(typeof(AllocatedEvent))]
internal sealed partial class FloorJson : JsonSerializerContext;

/// <summary>The service's statements (Allocation.Infrastructure/Persistence), with positional parameters.</summary>
internal static class FloorSql
{
    public static readonly string[] AllocatedEventTypes = ["allocation.line.allocated"];

    public const string Batches = """
        SELECT p.version_number, b.reference, b.purchased_quantity, b.eta, b.allocated_quantity
        FROM products p LEFT JOIN batches b ON b.sku = p.sku
        WHERE p.sku = $1
        """;

    public const string Line = """
        SELECT ol.orderid, ol.qty, b.reference
        FROM order_lines ol JOIN allocations a ON a.orderline_id = ol.id JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = $1 AND ol.sku = $2
        """;

    public const string VersionMoveAndAllocate = """
        WITH version_check AS (
            UPDATE products SET version_number = $6, last_event_sequence = last_event_sequence + $7
            WHERE sku = $1 AND version_number = $5
            RETURNING sku, last_event_sequence
        ), events AS (
            INSERT INTO outbox (event_id, type, subject, sku_sequence, data)
            SELECT e.id, e.type, v.sku, v.last_event_sequence - $7 + e.n, e.data::json
            FROM version_check v,
                 unnest($8::uuid[], $9::text[], $10::text[]) WITH ORDINALITY AS e (id, type, data, n)
        ), line AS (
            INSERT INTO order_lines (orderid, sku, qty) SELECT $2, sku, $3 FROM version_check RETURNING id
        ), batch AS (
            UPDATE batches SET allocated_quantity = allocated_quantity + $3
            WHERE reference = $4 AND EXISTS (SELECT 1 FROM version_check)
            RETURNING id
        )
        INSERT INTO allocations (orderline_id, batch_id) SELECT line.id, batch.id FROM line CROSS JOIN batch
        RETURNING 1
        """;

    public const string AllocationsOfOrder = """
        SELECT ol.sku, b.reference
        FROM order_lines ol JOIN allocations a ON a.orderline_id = ol.id JOIN batches b ON b.id = a.batch_id
        WHERE ol.orderid = $1
        ORDER BY ol.sku
        """;
}
