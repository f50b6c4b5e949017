using System.Text;
using System.Text.Json;
using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Infrastructure.Messaging.Commands;
using Allocation.Tests.Support;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>
/// The inbox on PostgreSQL: a command's id is recorded by the transaction that makes its effect (or its
/// rejection), never without it, and a command handled before changes nothing. A trigger that fails one
/// chosen insert stands in for a transaction that cannot commit.
/// </summary>
[NonParallelizable]
public class CommandInboxTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private TestDatabase _database = null!;
    private Store _store = null!;
    private CommandHandler _handler = null!;
    private CommandsFailingInserts _failing = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase()
    {
        _database = await TestDatabase.OwnAsync();
        _store = new Store(_database);
        _handler = new CommandHandler(
            _store.Get<IServiceScopeFactory>(),
            new CommandInbox(_database.DataSource, _store.Get<IOptions<Allocation.Infrastructure.Persistence.IdempotencyOptions>>()));
        _failing = new CommandsFailingInserts(_database.DataSource);
        await _failing.InstallAsync();
    }

    [OneTimeTearDown]
    public async Task DropDatabase()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task A_change_command_takes_effect_once_however_often_it_is_handled()
    {
        var (sku, reference) = await AddBatchAsync(quantity: 10);
        var command = Command(CommandTypes.ChangeBatch, new { @ref = reference, qty = 7 });

        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Applied);
        var repeats = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => RetryInUseAsync(command)));

        repeats.Should().AllBeEquivalentTo(CommandOutcome.Replayed);
        (await QuantityAsync(reference)).Should().Be(7);
        (await EventsAsync(sku, "allocation.batch.changed")).Should().Be(1);
        (await InboxAsync(command.Id)).Should().Be(1);
    }

    [Test]
    public async Task The_inbox_record_and_the_effect_commit_together_or_not_at_all()
    {
        var (sku, reference) = await AddBatchAsync(quantity: 10);
        var command = Command(CommandTypes.ChangeBatch, new { @ref = reference, qty = 4 });

        // The inbox record cannot be written: the effect is not kept either.
        await FailInsertsOfAsync(command.Id);
        var failed = () => _handler.HandleAsync(command, None);
        await failed.Should().ThrowAsync<Exception>();
        (await QuantityAsync(reference)).Should().Be(10, "the change rolled back with its inbox record");
        (await EventsAsync(sku, "allocation.batch.changed")).Should().Be(0);
        (await InboxAsync(command.Id)).Should().Be(0);

        // The effect cannot be written (its event is refused): the command is not recorded as handled.
        await StopFailingAsync(command.Id);
        await FailInsertsOfAsync(sku);
        await failed.Should().ThrowAsync<Exception>();
        (await InboxAsync(command.Id)).Should().Be(0, "no record without the effect");
        (await QuantityAsync(reference)).Should().Be(10);

        // Redelivered once both can commit: applied, exactly once.
        await StopFailingAsync(sku);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Applied);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Replayed);
        (await QuantityAsync(reference)).Should().Be(4);
        (await EventsAsync(sku, "allocation.batch.changed")).Should().Be(1);
        (await InboxAsync(command.Id)).Should().Be(1);
    }

    [Test]
    public async Task A_command_that_cannot_succeed_is_answered_with_one_rejection_event_recorded_with_it()
    {
        var command = Command(CommandTypes.ChangeBatch, new { @ref = Unique.BatchRef("missing"), qty = 3 });
        var subject = "commands/" + command.Id;

        // The rejection cannot be written: nothing is recorded, so the next delivery decides again.
        await FailInsertsOfAsync(subject);
        var rejecting = () => _handler.HandleAsync(command, None);
        await rejecting.Should().ThrowAsync<Exception>();
        (await InboxAsync(command.Id)).Should().Be(0);
        (await EventsAsync(subject, CommandInbox.RejectedEventType)).Should().Be(0);

        await StopFailingAsync(subject);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Rejected);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Replayed);
        (await EventsAsync(subject, CommandInbox.RejectedEventType)).Should().Be(1);
        (await InboxAsync(command.Id)).Should().Be(1);
        var data = await ScalarAsync<string>("SELECT data::text FROM outbox WHERE subject = @subject", new { subject });
        using var json = JsonDocument.Parse(data);
        json.RootElement.GetProperty("commandid").GetString().Should().Be(command.Id);
        json.RootElement.GetProperty("commandtype").GetString().Should().Be(CommandTypes.ChangeBatch);
        json.RootElement.GetProperty("reason").GetString().Should().Be("unknown_batch");
    }

    [TestCase("""{"ref": "REF", "qty": -1}""")]
    [TestCase("""{"ref": "REF", "qty": "7"}""")]
    [TestCase("""{"ref": "REF"}""")]
    [TestCase("""{"ref": "REF", "eta": "2026-02-30"}""")]
    [TestCase("""{"ref": "REF", "qty": 5, "colour": "red"}""")]
    [TestCase("""{"qty": 5}""")]
    public async Task A_command_with_data_the_use_case_cannot_take_is_rejected_as_invalid_and_changes_nothing(string data)
    {
        var (sku, reference) = await AddBatchAsync(quantity: 10);
        var command = Command(CommandTypes.ChangeBatch, JsonDocument.Parse(data.Replace("REF", reference, StringComparison.Ordinal)).RootElement);

        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Rejected);

        (await QuantityAsync(reference)).Should().Be(10);
        (await EventsAsync(sku, "allocation.batch.changed")).Should().Be(0);
        var reason = await ScalarAsync<string>(
            "SELECT data ->> 'reason' FROM outbox WHERE subject = @subject", new { subject = "commands/" + command.Id });
        reason.Should().Be("invalid");
    }

    [Test]
    public async Task An_id_used_again_with_another_command_is_refused_and_the_first_effect_stands()
    {
        var (_, reference) = await AddBatchAsync(quantity: 10);
        var first = Command(CommandTypes.ChangeBatch, new { @ref = reference, qty = 6 });
        var other = Envelope(first.Id, CommandTypes.ChangeBatch, new { @ref = reference, qty = 2 });

        (await _handler.HandleAsync(first, None)).Should().Be(CommandOutcome.Applied);
        var reused = () => _handler.HandleAsync(other, None);

        await reused.Should().ThrowAsync<CommandIdReused>();
        (await QuantityAsync(reference)).Should().Be(6);
    }

    [Test]
    public async Task An_order_command_allocates_every_line_once_however_often_it_is_handled()
    {
        var ((skuA, batchA), (skuB, batchB)) = (await AddBatchWithSkuAsync(10), await AddBatchWithSkuAsync(10));
        var orderId = Unique.OrderId();
        var command = Command(CommandTypes.AllocateOrder, new { orderid = orderId, lines = new[] { new { sku = skuA, qty = 3 }, new { sku = skuB, qty = 4 } } });

        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Applied);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Replayed);

        (await AllocatedAsync(batchA)).Should().Be(3);
        (await AllocatedAsync(batchB)).Should().Be(4);
        (await OrderEventsAsync(orderId, "allocation.order.allocated")).Should().Be(1);
        (await InboxAsync(command.Id)).Should().Be(1);

        var release = Command(CommandTypes.DeallocateOrder, new { orderid = orderId });
        (await _handler.HandleAsync(release, None)).Should().Be(CommandOutcome.Applied);
        (await _handler.HandleAsync(release, None)).Should().Be(CommandOutcome.Replayed);
        (await AllocatedAsync(batchA)).Should().Be(0);
        (await ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
        (await ScalarAsync<long>(
            "SELECT count(*) FROM outbox WHERE type = 'allocation.line.deallocated' AND data ->> 'orderid' = @orderId", new { orderId }))
            .Should().Be(2, "each line was given back once");
    }

    [Test]
    public async Task An_order_without_stock_is_answered_once_with_its_rejection_and_allocates_nothing()
    {
        var ((skuA, batchA), (skuB, _)) = (await AddBatchWithSkuAsync(10), await AddBatchWithSkuAsync(2));
        var orderId = Unique.OrderId();
        var command = Command(CommandTypes.AllocateOrder, new { orderid = orderId, lines = new[] { new { sku = skuA, qty = 3 }, new { sku = skuB, qty = 4 } } });

        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Rejected);
        (await _handler.HandleAsync(command, None)).Should().Be(CommandOutcome.Replayed);

        (await AllocatedAsync(batchA)).Should().Be(0);
        (await OrderEventsAsync(orderId, "allocation.order.rejected")).Should().Be(1);
        (await InboxAsync(command.Id)).Should().Be(1);
    }

    [Test]
    public async Task An_order_with_an_unknown_sku_or_nothing_to_give_back_is_rejected_once()
    {
        var (sku, batch) = await AddBatchWithSkuAsync(10);
        var unknown = Command(CommandTypes.AllocateOrder, new { orderid = Unique.OrderId(), lines = new[] { new { sku, qty = 1 }, new { sku = Unique.Sku("none"), qty = 1 } } });
        var nothingHeld = Command(CommandTypes.DeallocateOrder, new { orderid = Unique.OrderId() });

        (await _handler.HandleAsync(unknown, None)).Should().Be(CommandOutcome.Rejected);
        (await _handler.HandleAsync(nothingHeld, None)).Should().Be(CommandOutcome.Rejected);
        (await _handler.HandleAsync(unknown, None)).Should().Be(CommandOutcome.Replayed);

        (await AllocatedAsync(batch)).Should().Be(0);
        (await RejectionReasonAsync(unknown.Id)).Should().Be("unknown_sku");
        (await RejectionReasonAsync(nothingHeld.Id)).Should().Be("not_allocated");
        (await EventsAsync("commands/" + unknown.Id, CommandInbox.RejectedEventType)).Should().Be(1);
    }

    [Test]
    public async Task A_command_older_than_the_inbox_remembers_is_refused_before_anything_is_decided()
    {
        var (_, reference) = await AddBatchAsync(quantity: 10);
        var command = Command(CommandTypes.ChangeBatch, new { @ref = reference, qty = 2 });
        var retention = _store.Get<IOptions<Allocation.Infrastructure.Persistence.IdempotencyOptions>>().Value.Retention;
        var late = new CommandHandler(
            _store.Get<IServiceScopeFactory>(),
            new CommandInbox(_database.DataSource, _store.Get<IOptions<Allocation.Infrastructure.Persistence.IdempotencyOptions>>()),
            new FixedClock(command.Time + retention - CommandInbox.ClockMargin(retention) + TimeSpan.FromMinutes(1)));
        var early = new CommandHandler(
            _store.Get<IServiceScopeFactory>(),
            new CommandInbox(_database.DataSource, _store.Get<IOptions<Allocation.Infrastructure.Persistence.IdempotencyOptions>>()),
            new FixedClock(command.Time - CommandInbox.ClockMargin(retention) - TimeSpan.FromMinutes(1)));

        await late.Invoking(h => h.HandleAsync(command, None)).Should().ThrowAsync<CommandExpired>();
        await early.Invoking(h => h.HandleAsync(command, None)).Should().ThrowAsync<CommandExpired>();

        (await QuantityAsync(reference)).Should().Be(10);
        (await InboxAsync(command.Id)).Should().Be(0);
    }

    private static CommandEnvelope Command(string type, object data) => Envelope(Unique.OrderId("cmd"), type, data);

    private static CommandEnvelope Envelope(string id, string type, object data) =>
        CommandEnvelope.Parse(CommandsBroker.Envelope(id, type, data));

    /// <summary>Two deliveries of one command at once: the second waits (in use) and then finds the first's record.</summary>
    private async Task<CommandOutcome> RetryInUseAsync(CommandEnvelope command)
    {
        while (true)
        {
            try
            {
                return await _handler.HandleAsync(command, None);
            }
            catch (Allocation.Application.Idempotency.IdempotencyKeyInUse)
            {
                await Task.Delay(20);
            }
        }
    }

    private Task<(string Sku, string Reference)> AddBatchWithSkuAsync(int quantity) => AddBatchAsync(quantity);

    private Task<int> AllocatedAsync(string reference) =>
        ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @reference", new { reference });

    private Task<long> OrderEventsAsync(string orderId, string type) =>
        ScalarAsync<long>("SELECT count(*) FROM outbox WHERE type = @type AND data ->> 'orderid' = @orderId", new { type, orderId });

    private Task<string> RejectionReasonAsync(string id) =>
        ScalarAsync<string>("SELECT data ->> 'reason' FROM outbox WHERE subject = @subject", new { subject = "commands/" + id });

    private async Task<(string Sku, string Reference)> AddBatchAsync(int quantity)
    {
        var (sku, reference) = (Unique.Sku(), Unique.BatchRef());
        await using var scope = _store.Get<IServiceScopeFactory>().CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<BatchService>().AddBatchAsync(reference, sku, quantity, eta: null, None);
        return (sku, reference);
    }

    private Task<int> QuantityAsync(string reference) =>
        ScalarAsync<int>("SELECT purchased_quantity FROM batches WHERE reference = @reference", new { reference });

    private Task<long> EventsAsync(string subject, string type) =>
        ScalarAsync<long>("SELECT count(*) FROM outbox WHERE subject = @subject AND type = @type", new { subject, type });

    private Task<long> InboxAsync(string id) => ScalarAsync<long>(
        "SELECT count(*) FROM idempotency_keys WHERE caller = @caller AND key = @id", new { caller = CommandInbox.Caller, id });

    private Task FailInsertsOfAsync(string value) => _failing.FailAsync(value);

    private Task StopFailingAsync(string value) => _failing.StopFailingAsync(value);

    private async Task<T> ScalarAsync<T>(string sql, object parameters)
    {
        await using NpgsqlConnection connection = await _database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"No value from {sql}");
    }
}

/// <summary>A clock standing still at a chosen instant.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
