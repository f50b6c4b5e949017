using System.Globalization;
using System.Text.Json;
using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Application.Idempotency;
using Allocation.Application.Orders;
using Allocation.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>How a command ended: each is acknowledged.</summary>
internal enum CommandOutcome
{
    /// <summary>Its effect committed now, with its inbox record.</summary>
    Applied,

    /// <summary>It was handled before (a redelivery, or the sender sent it again): nothing changed.</summary>
    Replayed,

    /// <summary>
    /// It cannot succeed: its rejection event committed now, with its inbox record (allocation.command.rejected,
    /// or allocation.order.rejected for an order without stock).
    /// </summary>
    Rejected,
}

/// <summary>
/// Runs one command through the same use case the REST API runs, with its id as the Idempotency-Key of
/// the caller <see cref="CommandInbox.Caller"/>: the inbox record commits with the effect or not at all.
/// A refusal of the use case (unknown batch, bad data) is an outcome: recorded and answered with
/// <c>allocation.command.rejected</c>. Anything else is thrown for the consumer to retry: the database's
/// faults, a duplicate of the command being handled elsewhere at this moment, and bugs.
/// </summary>
internal class CommandHandler(IServiceScopeFactory scopes, CommandInbox inbox, TimeProvider? clock = null)
{
    /// <exception cref="CommandIdReused">The id came before with another command.</exception>
    /// <exception cref="CommandExpired">Too old for the inbox to say whether it was handled.</exception>
    public virtual async Task<CommandOutcome> HandleAsync(CommandEnvelope command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        inbox.EnsureRemembered(command, (clock ?? TimeProvider.System).GetUtcNow());
        // The usual redelivery ends here, without taking the SKU's turn or reading the product.
        if (await inbox.IsHandledAsync(command, cancellationToken))
        {
            return CommandOutcome.Replayed;
        }

        await using var scope = scopes.CreateAsyncScope();
        var request = scope.ServiceProvider.GetRequiredService<IdempotentRequest>();
        request.Use(CommandInbox.Caller, command.Id, command.Fingerprint);
        // A conflict that outlives the retries is transient here: the consumer handles the command again.
        request.RepeatsOnContention = true;
        try
        {
            var succeeded = await RunAsync(scope.ServiceProvider, command, cancellationToken);
            return request.Replayed ? CommandOutcome.Replayed : succeeded ? CommandOutcome.Applied : CommandOutcome.Rejected;
        }
        catch (Exception) when (request.Replayed)
        {
            // Handled meanwhile by another delivery (whose stored answer may be a rejection rather than this use case's answer).
            return CommandOutcome.Replayed;
        }
        catch (IdempotencyKeyReused)
        {
            throw new CommandIdReused(command.Id);
        }
        catch (Exception refusal) when (Rejection(refusal) is { } reason)
        {
            return await inbox.RejectAsync(command, reason, refusal.Message, cancellationToken)
                ? CommandOutcome.Rejected
                : CommandOutcome.Replayed;
        }
    }

    /// <summary>The rejection's reason code for a refusal of the use case; null for everything that is not one.</summary>
    internal static string? Rejection(Exception error) => error switch
    {
        InvalidCommandData => "invalid",
        BatchNotFound => "unknown_batch",
        InvalidSku or InvalidSkus => "unknown_sku",
        InvalidOrder => "invalid",
        ConflictingOrder => "conflicting_order",
        OrderAllocationsNotFound => "not_allocated",
        OutOfStock => "out_of_stock",
        LineNotAllocated => "not_allocated",
        ConflictingOrderLine => "conflicting_order_line",
        NotFound => "not_found",
        DomainException => "refused",
        _ => null,
    };

    /// <returns>False when the use case's own answer is a refusal it committed (an order without stock: allocation.order.rejected).</returns>
    private static Task<bool> RunAsync(IServiceProvider services, CommandEnvelope command, CancellationToken cancellationToken) => command.Type switch
    {
        CommandTypes.ChangeBatch => ChangeBatchAsync(services.GetRequiredService<BatchService>(), command.Data, cancellationToken),
        CommandTypes.AllocateOrder => AllocateOrderAsync(services.GetRequiredService<OrderAllocationService>(), command.Data, cancellationToken),
        CommandTypes.DeallocateOrder => DeallocateOrderAsync(services.GetRequiredService<OrderAllocationService>(), command.Data, cancellationToken),
        _ => throw new MalformedCommand($"no handler for type {command.Type}"),
    };

    /// <summary>
    /// <c>{"orderid": "...", "lines": [{"sku": "...", "qty": 3}]}</c>: every line or none. Out of stock is the
    /// use case's answer, committed with its allocation.order.rejected event.
    /// </summary>
    private static async Task<bool> AllocateOrderAsync(OrderAllocationService orders, JsonElement data, CancellationToken cancellationToken)
    {
        Allow(data, "orderid", "lines");
        var orderId = Identifier(data, "orderid");
        if (!data.TryGetProperty("lines", out var lines) || lines.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidCommandData("'lines' must be an array of {\"sku\", \"qty\"}.");
        }

        var requested = new List<RequestedLine>(lines.GetArrayLength());
        foreach (var line in lines.EnumerateArray())
        {
            if (line.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidCommandData("Each line must be an object {\"sku\", \"qty\"}.");
            }

            Allow(line, "sku", "qty");
            var sku = Identifier(line, "sku");
            requested.Add(line.TryGetProperty("qty", out var qty) && qty.ValueKind == JsonValueKind.Number && qty.TryGetInt32(out var quantity)
                ? new RequestedLine(sku, quantity)
                : throw new InvalidCommandData($"The 'qty' of sku {sku} must be a whole number."));
        }

        var result = await orders.AllocateOrderAsync(orderId, requested, cancellationToken);
        return result.IsAllocated;
    }

    /// <summary><c>{"orderid": "..."}</c>: gives back every line the order holds.</summary>
    private static async Task<bool> DeallocateOrderAsync(OrderAllocationService orders, JsonElement data, CancellationToken cancellationToken)
    {
        Allow(data, "orderid");
        await orders.DeallocateOrderAsync(Identifier(data, "orderid"), cancellationToken);
        return true;
    }

    /// <summary>The book's ChangeBatchQuantity, with the REST call's rules: <c>{"ref": "...", "qty": 40, "eta": "2026-12-15"}</c>, qty or eta or both.</summary>
    private static async Task<bool> ChangeBatchAsync(BatchService batches, JsonElement data, CancellationToken cancellationToken)
    {
        Allow(data, "ref", "qty", "eta");
        var reference = Identifier(data, "ref");
        int? quantity = null;
        if (data.TryGetProperty("qty", out var qty))
        {
            quantity = qty.ValueKind == JsonValueKind.Number && qty.TryGetInt32(out var value) && value is >= 0 and <= Limits.MaxQuantity
                ? value
                : throw new InvalidCommandData($"'qty' must be a whole number from 0 to {Limits.MaxQuantity}.");
        }

        var eta = EtaChange.Keep;
        if (data.TryGetProperty("eta", out var etaValue))
        {
            eta = EtaChange.To(Eta(etaValue));
        }

        if (quantity is null && !eta.Changes)
        {
            throw new InvalidCommandData("Give 'qty', 'eta' or both.");
        }

        await batches.ChangeBatchAsync(reference, quantity, eta, cancellationToken);
        return true;
    }

    private static void Allow(JsonElement data, params string[] names)
    {
        foreach (var property in data.EnumerateObject())
        {
            if (!names.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new InvalidCommandData($"Unknown field '{property.Name}'; the fields are {string.Join(", ", names)}.");
            }
        }
    }

    private static string Identifier(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && Identifiers.IsValid(value.GetString())
            ? value.GetString()!
            : throw new InvalidCommandData(
                $"'{name}' must be printable text of 1 to {Limits.MaxIdentifierLength} characters without '/'.");

    private static DateOnly? Eta(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            && date >= Limits.EarliestEta && date <= Limits.LatestEta
            ? date
            : throw new InvalidCommandData(
                $"'eta' must be null or a date YYYY-MM-DD from {Limits.EarliestEta:yyyy-MM-dd} to {Limits.LatestEta:yyyy-MM-dd}.");
    }
}
