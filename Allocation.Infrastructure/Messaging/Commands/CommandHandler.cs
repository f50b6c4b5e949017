using System.Globalization;
using System.Text.Json;
using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Application.Idempotency;
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

    /// <summary>It cannot succeed: its rejection event committed now, with its inbox record.</summary>
    Rejected,
}

/// <summary>
/// Runs one command through the same use case the REST API runs, with its id as the Idempotency-Key of
/// the caller <see cref="CommandInbox.Caller"/>: the inbox record commits with the effect or not at all.
/// A refusal of the use case (unknown batch, bad data) is an outcome: recorded and answered with
/// <c>allocation.command.rejected</c>. Anything else is thrown for the consumer to retry: the database's
/// faults, a duplicate of the command being handled elsewhere at this moment, and bugs.
/// </summary>
internal class CommandHandler(IServiceScopeFactory scopes, CommandInbox inbox)
{
    /// <exception cref="CommandIdReused">The id came before with another command.</exception>
    public virtual async Task<CommandOutcome> HandleAsync(CommandEnvelope command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        // The usual redelivery ends here, without taking the SKU's turn or reading the product.
        if (await inbox.IsHandledAsync(command, cancellationToken))
        {
            return CommandOutcome.Replayed;
        }

        await using var scope = scopes.CreateAsyncScope();
        var request = scope.ServiceProvider.GetRequiredService<IdempotentRequest>();
        request.Use(CommandInbox.Caller, command.Id, command.Fingerprint);
        try
        {
            await RunAsync(scope.ServiceProvider, command, cancellationToken);
            return request.Replayed ? CommandOutcome.Replayed : CommandOutcome.Applied;
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
        InvalidSku => "unknown_sku",
        OutOfStock => "out_of_stock",
        LineNotAllocated => "not_allocated",
        ConflictingOrderLine => "conflicting_order_line",
        NotFound => "not_found",
        DomainException => "refused",
        _ => null,
    };

    private static Task RunAsync(IServiceProvider services, CommandEnvelope command, CancellationToken cancellationToken) => command.Type switch
    {
        CommandTypes.ChangeBatch => ChangeBatchAsync(services.GetRequiredService<BatchService>(), command.Data, cancellationToken),
        _ => throw new MalformedCommand($"no handler for type {command.Type}"),
    };

    /// <summary>The book's ChangeBatchQuantity, with the REST call's rules: <c>{"ref": "...", "qty": 40, "eta": "2026-12-15"}</c>, qty or eta or both.</summary>
    private static async Task ChangeBatchAsync(BatchService batches, JsonElement data, CancellationToken cancellationToken)
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
