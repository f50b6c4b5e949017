using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Application.Idempotency;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

/// <summary>
/// Idempotency-Key in the write path: the key and the answer are committed with the change, a repeat
/// with the same request gets the stored answer and changes nothing, the same key with another request
/// is refused, and a key held by a running request is refused. Over the fake store, which holds keys as
/// the advisory lock does.
/// </summary>
public class IdempotencyKeyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static IdempotentRequest Keyed(string key, params byte[] fingerprint)
    {
        var request = new IdempotentRequest();
        request.Use("client:order-service", key, fingerprint.Length > 0 ? fingerprint : [1, 2, 3]);
        return request;
    }

    [Test]
    public async Task A_repeated_deallocation_with_the_key_gets_the_first_answer_and_changes_nothing()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);
        await Services.Allocations(uows).AllocateAsync("o1", "LAMP", 2, None);
        var eventsBefore = store.CommittedEvents.Count;

        var first = await Services.Allocations(uows, request: Keyed("k1")).DeallocateAsync("o1", "LAMP", None);
        var repeat = Keyed("k1");
        var second = await Services.Allocations(uows, request: repeat).DeallocateAsync("o1", "LAMP", None);

        first.Should().Be("b1");
        second.Should().Be("b1", "without the key a repeat would answer 404: the line is gone");
        repeat.Replayed.Should().BeTrue();
        store.CommittedEvents.Should().HaveCount(eventsBefore + 1, "the repeat recorded nothing");
        store.CommittedKeys.Should().ContainKey(("client:order-service", "k1"));
    }

    [Test]
    public async Task A_repeated_batch_change_with_the_key_records_one_change_event()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        var first = await Services.Batches(uows, new FakeStoreReadModel(store), Keyed("k2"))
            .ChangeBatchAsync("b1", 5, EtaChange.Keep, None);
        var second = await Services.Batches(uows, new FakeStoreReadModel(store), Keyed("k2"))
            .ChangeBatchAsync("b1", 5, EtaChange.Keep, None);

        second.Should().BeEquivalentTo(first);
        store.CommittedEvents.OfType<BatchChanged>().Should().ContainSingle();
    }

    [Test]
    public async Task A_repeated_add_batch_with_the_key_gets_201s_answer_instead_of_duplicate_batch()
    {
        var store = new FakeStore();
        var uows = new FakeUnitOfWorkFactory(store);

        var first = await Services.Batches(uows, request: Keyed("k3")).AddBatchAsync("b1", "LAMP", 10, new DateOnly(2027, 1, 1), None);
        var second = await Services.Batches(uows, request: Keyed("k3")).AddBatchAsync("b1", "LAMP", 10, new DateOnly(2027, 1, 1), None);

        second.Should().Be(first);
        store.CommittedEvents.OfType<BatchCreated>().Should().ContainSingle();
    }

    [Test]
    public async Task An_out_of_stock_answer_is_stored_and_replayed_even_after_stock_arrives()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 1, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        var first = () => Services.Allocations(uows, request: Keyed("k4")).AllocateAsync("o1", "LAMP", 5, None);
        await first.Should().ThrowAsync<OutOfStock>();
        await Services.Batches(uows).AddBatchAsync("b2", "LAMP", 100, null, None);
        var repeat = () => Services.Allocations(uows, request: Keyed("k4")).AllocateAsync("o1", "LAMP", 5, None);

        await repeat.Should().ThrowAsync<OutOfStock>("the key's answer is the first one, not a new decision");
        store.CommittedEvents.OfType<StockRanOut>().Should().ContainSingle();
        store.CommittedEvents.OfType<LineAllocated>().Should().BeEmpty();
    }

    [Test]
    public async Task The_same_key_with_another_request_is_refused_and_changes_nothing()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);
        await Services.Allocations(uows, request: Keyed("k5", 1)).AllocateAsync("o1", "LAMP", 2, None);
        var events = store.CommittedEvents.Count;

        var other = () => Services.Allocations(uows, request: Keyed("k5", 2)).AllocateAsync("o2", "LAMP", 2, None);

        await other.Should().ThrowAsync<IdempotencyKeyReused>();
        store.CommittedEvents.Should().HaveCount(events);
    }

    [Test]
    public async Task A_request_that_changes_nothing_and_fails_stores_no_key()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        var unknown = () => Services.Allocations(uows, request: Keyed("k6")).AllocateAsync("o1", "NOPE", 2, None);

        await unknown.Should().ThrowAsync<InvalidSku>();
        store.CommittedKeys.Should().BeEmpty("nothing was committed, so the key is free for a corrected request");
    }

    [Test]
    public async Task A_key_held_by_a_running_request_is_refused_as_in_use()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var running = new FakeUnitOfWork(store);
        await running.Idempotency.ClaimAsync("client:order-service", "k7", None);

        var second = () => Services.Allocations(new FakeUnitOfWorkFactory(store), request: Keyed("k7")).AllocateAsync("o1", "LAMP", 2, None);

        await second.Should().ThrowAsync<IdempotencyKeyInUse>();
        await running.DisposeAsync();
        (await Services.Allocations(new FakeUnitOfWorkFactory(store), request: Keyed("k7")).AllocateAsync("o1", "LAMP", 2, None))
            .Should().Be("b1", "the key is free once the running request's transaction ended");
    }

    [Test]
    public async Task Keys_of_different_callers_never_meet()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);
        var mine = new IdempotentRequest();
        mine.Use("client:a", "same", [1]);
        var theirs = new IdempotentRequest();
        theirs.Use("client:b", "same", [2]);

        await Services.Allocations(uows, request: mine).AllocateAsync("o1", "LAMP", 2, None);
        var other = await Services.Allocations(uows, request: theirs).AllocateAsync("o2", "LAMP", 3, None);

        other.Should().Be("b1");
        theirs.Replayed.Should().BeFalse();
        store.CommittedKeys.Should().HaveCount(2);
    }
}
