using System.Text;
using System.Text.Json;
using Allocation.Application;
using Allocation.Application.Idempotency;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Persistence;
using Allocation.Infrastructure.Telemetry;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// The inbox: the commands this service has handled, by id. It is the Idempotency-Key table
/// (<c>idempotency_keys</c>) under the caller <see cref="Caller"/>: a command's effect is written by
/// <see cref="Application.Common.ProductWrites"/> with the key in one transaction, exactly as a REST write with an
/// Idempotency-Key is, and a rejection is written here with its event in one transaction. So a command
/// id is in the inbox exactly when its effect or its rejection committed (docs/adr/0009-commands-and-the-inbox.md).
/// </summary>
internal class CommandInbox(NpgsqlDataSource dataSource, IOptions<IdempotencyOptions> idempotency)
{
    /// <summary>Whose keys the commands' ids are: no REST caller has this name (theirs are "client:…", "address:…" or "anonymous").</summary>
    public const string Caller = "amqp:allocation.commands";

    /// <summary>The CloudEvents type of the answer to a command that cannot succeed.</summary>
    public const string RejectedEventType = "allocation.command.rejected";

    private static readonly TimeSpan StatementDeadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Accepts only commands the inbox will remember for as long as they can come again. A record lives
    /// Idempotency:Retention from its handling; a command is taken only while its own <c>time</c> is less
    /// than the retention minus a margin ago, and not more than the margin ahead (the sender's clock may run
    /// ahead by that much). So whenever a command is taken, the record of any earlier handling of it still exists.
    /// </summary>
    /// <exception cref="CommandExpired">The command is too old (or too far ahead) for that.</exception>
    public void EnsureRemembered(CommandEnvelope command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var retention = idempotency.Value.Retention;
        var margin = ClockMargin(retention);
        if (command.Time > now + margin)
        {
            throw new CommandExpired(command.Id, $"is dated {(command.Time - now).TotalMinutes:0} min ahead of this instance's clock (at most {margin.TotalMinutes:0} min allowed)");
        }

        if (now - command.Time > retention - margin)
        {
            throw new CommandExpired(
                command.Id,
                $"was issued {(now - command.Time).TotalHours:0.#} h ago; the inbox remembers commands for {(retention - margin).TotalHours:0.#} h " +
                "(Idempotency:Retention less the clock margin), so it may have been handled already");
        }
    }

    /// <summary>How far apart the sender's clock and this one may be: an hour, or a quarter of a shorter retention.</summary>
    internal static TimeSpan ClockMargin(TimeSpan retention) => TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, retention.Ticks / 4));

    /// <summary>
    /// The rejection's event. Its subject is <c>commands/{id}</c>, which no SKU can be (a SKU has no '/'),
    /// and it is the first and only event of that subject: the unique (subject, sequence) of the outbox
    /// would refuse a second one even if the inbox did not.
    /// </summary>
    internal const string InsertRejectionEvent = """
        INSERT INTO outbox (event_id, type, subject, sku_sequence, data, traceparent, tracestate)
        VALUES (@EventId, @Type, @Subject, 1, @Data::json, @TraceParent::text, @TraceState::text)
        """;

    private const string Read = """
        SELECT request_hash FROM idempotency_keys
        WHERE caller = @Caller AND key = @Key AND expires_at > now()
        """;

    /// <summary>True when the command was handled before (its effect or its rejection committed).</summary>
    /// <exception cref="CommandIdReused">The id was handled with another command.</exception>
    public virtual async Task<bool> IsHandledAsync(CommandEnvelope command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var stored = await StoreErrors.OnOwnConnectionAsync(
            dataSource,
            StatementDeadline,
            (connection, token) => connection.QuerySingleOrDefaultAsync<byte[]?>(
                new CommandDefinition(Read, new { Caller, Key = command.Id }, cancellationToken: token)),
            cancellationToken);
        return stored is not null && Same(command, stored);
    }

    /// <summary>
    /// Records the command as handled by its rejection and writes the rejection event, in one transaction.
    /// Returns false when it was handled meanwhile (by another delivery of it): then nothing is written.
    /// </summary>
    /// <exception cref="IdempotencyKeyInUse">Another delivery of the command is being handled right now.</exception>
    /// <exception cref="CommandIdReused">The id was handled with another command.</exception>
    public virtual Task<bool> RejectAsync(CommandEnvelope command, string reason, string detail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        return StoreErrors.OnOwnConnectionAsync(
            dataSource,
            StatementDeadline,
            async (connection, token) =>
            {
                await using var transaction = await connection.BeginTransactionAsync(token);
                await using (var claim = await connection.QueryMultipleAsync(new CommandDefinition(
                    IdempotencyRecords.Claim, new { Caller, Key = command.Id }, transaction, cancellationToken: token)))
                {
                    if (!await claim.ReadSingleAsync<bool>())
                    {
                        throw new IdempotencyKeyInUse(command.Id);
                    }

                    if (await claim.ReadSingleOrDefaultAsync<StoredRow>() is { } stored)
                    {
                        Same(command, stored.Fingerprint);
                        return false;
                    }
                }

                var answer = JsonSerializer.Serialize(new { rejected = reason });

                // The rejection continues the command's trace, as its effect's events would have.
                var writer = TraceContext.OfTracedCurrent();
                await connection.ExecuteAsync(new CommandDefinition(
                    IdempotencyRecords.Insert,
                    new { Caller, Key = command.Id, command.Fingerprint, Answer = answer, Retention = idempotency.Value.Retention },
                    transaction,
                    cancellationToken: token));
                await connection.ExecuteAsync(new CommandDefinition(
                    InsertRejectionEvent,
                    new
                    {
                        EventId = Guid.CreateVersion7(),
                        Type = RejectedEventType,
                        Subject = "commands/" + command.Id,
                        Data = RejectionData(command, reason, detail),
                        writer?.TraceParent,
                        writer?.TraceState,
                    },
                    transaction,
                    cancellationToken: token));
                await transaction.CommitAsync(token);
                return true;
            },
            cancellationToken);
    }

    /// <summary>The rejection event's data: which command, why (a fixed code) and the use case's own words.</summary>
    internal static string RejectionData(CommandEnvelope command, string reason, string detail)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("commandid", command.Id);
            json.WriteString("commandtype", command.Type);
            json.WriteString("reason", reason);
            json.WriteString("detail", detail);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static bool Same(CommandEnvelope command, byte[] storedFingerprint) =>
        command.Fingerprint.AsSpan().SequenceEqual(storedFingerprint) ? true : throw new CommandIdReused(command.Id);

    private sealed record StoredRow(byte[] Fingerprint, string Answer);
}
