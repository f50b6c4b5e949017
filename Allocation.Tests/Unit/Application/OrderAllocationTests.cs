using Allocation.Application;
using Allocation.Application.Idempotency;
using Allocation.Application.Orders;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

/// <summary>Whole orders through the use case, over the fake store: all or nothing, in one commit.</summary>
public class OrderAllocationTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static FakeStore Shop() => FakeStore.With(
        new Batch("chairs", "CHAIR", 10, eta: null),
        new Batch("lamps", "LAMP", 2, eta: null),
        new Batch("tables", "TABLE", 10, eta: null));

    private static RequestedLine[] Lines(params (string Sku, int Quantity)[] lines) =>
        [.. lines.Select(l => new RequestedLine(l.Sku, l.Quantity))];

    private static int Allocated(FakeStore store, string sku) => store.Load(sku, null)!.Batches.Sum(b => b.AllocatedQuantity);

    [Test]
    public async Task Allocates_every_line_in_one_commit_and_answers_in_sku_order()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);

        var result = await Services.Orders(uows, store).AllocateOrderAsync("o1", Lines(("TABLE", 1), ("CHAIR", 3), ("LAMP", 2)), None);

        result.IsAllocated.Should().BeTrue();
        result.Lines.Should().Equal(
            new OrderLineAllocation("CHAIR", 3, "chairs"), new OrderLineAllocation("LAMP", 2, "lamps"), new OrderLineAllocation("TABLE", 1, "tables"));
        uows.Commits.Should().Be(1);
        (Allocated(store, "CHAIR"), Allocated(store, "LAMP"), Allocated(store, "TABLE")).Should().Be((3, 2, 1));
    }

    [Test]
    public async Task Records_each_line_then_the_order_in_the_same_commit()
    {
        var store = Shop();

        await Services.Orders(new FakeUnitOfWorkFactory(store), store).AllocateOrderAsync("o1", Lines(("TABLE", 1), ("CHAIR", 3)), None);

        store.CommittedEvents.Should().Equal(
            new LineAllocated(new OrderLine("o1", "CHAIR", 3), "chairs"),
            new LineAllocated(new OrderLine("o1", "TABLE", 1), "tables"),
            new OrderAllocated("o1", [
                new AllocatedLine(new OrderLine("o1", "CHAIR", 3), "chairs"),
                new AllocatedLine(new OrderLine("o1", "TABLE", 1), "tables")]));
    }

    [Test]
    public async Task One_line_out_of_stock_allocates_nothing_and_records_only_the_rejection()
    {
        var store = Shop();

        var result = await Services.Orders(new FakeUnitOfWorkFactory(store), store)
            .AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("LAMP", 3), ("TABLE", 1)), None);

        result.IsAllocated.Should().BeFalse();
        result.OutOfStockSkus.Should().Equal("LAMP");
        result.Lines.Should().BeEmpty();
        (Allocated(store, "CHAIR"), Allocated(store, "LAMP"), Allocated(store, "TABLE")).Should().Be((0, 0, 0));
        store.CommittedEvents.Should().Equal(new OrderRejected(
            "o1",
            [new OrderLine("o1", "CHAIR", 3), new OrderLine("o1", "LAMP", 3), new OrderLine("o1", "TABLE", 1)],
            ["LAMP"]));
        (await new FakeStoreReadModel(store).GetAllocationsAsync("o1", None)).Should().BeEmpty();
    }

    [Test]
    public async Task Several_lines_out_of_stock_are_all_named()
    {
        var store = Shop();

        var result = await Services.Orders(new FakeUnitOfWorkFactory(store), store)
            .AllocateOrderAsync("o1", Lines(("TABLE", 11), ("LAMP", 3), ("CHAIR", 1)), None);

        result.OutOfStockSkus.Should().Equal("LAMP", "TABLE");
        Allocated(store, "CHAIR").Should().Be(0);
    }

    [Test]
    public async Task Unknown_skus_are_all_named_and_nothing_is_recorded()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);

        var act = () => Services.Orders(uows, store)
            .AllocateOrderAsync("o1", Lines(("NO-SUCH-B", 1), ("LAMP", 3), ("CHAIR", 1), ("NO-SUCH-A", 1)), None);

        (await act.Should().ThrowAsync<InvalidSkus>()).Which.Skus.Should().Equal("NO-SUCH-A", "NO-SUCH-B");
        uows.Commits.Should().Be(0);
        store.CommittedEvents.Should().BeEmpty("an order naming unknown SKUs is bad input, not a rejection");
    }

    [Test]
    public async Task The_same_order_with_the_same_lines_in_any_order_answers_the_same_and_changes_nothing()
    {
        var store = Shop();
        var orders = Services.Orders(new FakeUnitOfWorkFactory(store), store);
        var first = await orders.AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("LAMP", 2), ("TABLE", 1)), None);
        var eventsAfterFirst = store.CommittedEvents.Count;

        var repeat = await orders.AllocateOrderAsync("o1", Lines(("TABLE", 1), ("LAMP", 2), ("CHAIR", 3)), None);

        repeat.Lines.Should().Equal(first.Lines);
        repeat.Repeated.Should().BeTrue();
        store.CommittedEvents.Should().HaveCount(eventsAfterFirst, "a repeat records no event");
        (Allocated(store, "CHAIR"), Allocated(store, "LAMP"), Allocated(store, "TABLE")).Should().Be((3, 2, 1));
    }

    [Test]
    public async Task The_same_order_with_other_lines_is_a_conflict_naming_what_is_allocated()
    {
        var store = Shop();
        var orders = Services.Orders(new FakeUnitOfWorkFactory(store), store);
        await orders.AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("LAMP", 2)), None);
        var eventsBefore = store.CommittedEvents.Count;

        var otherQuantity = () => orders.AllocateOrderAsync("o1", Lines(("CHAIR", 4), ("LAMP", 2)), None);
        var withoutALine = () => orders.AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("TABLE", 1)), None);

        (await otherQuantity.Should().ThrowAsync<ConflictingOrder>()).Which.Held
            .Should().Equal(new AllocatedLine(new OrderLine("o1", "CHAIR", 3), "chairs"), new AllocatedLine(new OrderLine("o1", "LAMP", 2), "lamps"));
        (await withoutALine.Should().ThrowAsync<ConflictingOrder>()).Which.Message.Should().Contain("sku LAMP");
        store.CommittedEvents.Should().HaveCount(eventsBefore);
        Allocated(store, "TABLE").Should().Be(0);
    }

    [Test]
    public async Task Lines_allocated_one_by_one_count_as_part_of_the_order()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);
        await Services.Allocations(uows).AllocateAsync("o1", "CHAIR", 3, None);

        var result = await Services.Orders(uows, store).AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("TABLE", 1)), None);

        result.Lines.Should().Equal(new OrderLineAllocation("CHAIR", 3, "chairs"), new OrderLineAllocation("TABLE", 1, "tables"));
        Allocated(store, "CHAIR").Should().Be(3, "the line is not allocated twice");
        store.CommittedEvents.OfType<LineAllocated>().Select(e => e.Line.Sku).Should().Equal("CHAIR", "TABLE");
        store.CommittedEvents[^1].Should().BeOfType<OrderAllocated>();
    }

    [Test]
    public async Task Deallocating_the_order_gives_back_every_line_however_it_was_allocated()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);
        await Services.Allocations(uows).AllocateAsync("o1", "LAMP", 1, None);
        await Services.Orders(uows, store).AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("LAMP", 1)), None);
        var commits = uows.Commits;

        var released = await Services.Orders(uows, store).DeallocateOrderAsync("o1", None);

        released.Lines.Should().Equal(new OrderLineAllocation("CHAIR", 3, "chairs"), new OrderLineAllocation("LAMP", 1, "lamps"));
        uows.Commits.Should().Be(commits + 1, "one commit for the whole order");
        (Allocated(store, "CHAIR"), Allocated(store, "LAMP")).Should().Be((0, 0));
        store.CommittedEvents.OfType<LineDeallocated>().Select(e => e.Line.Sku).Should().Equal("CHAIR", "LAMP");
    }

    [Test]
    public async Task Deallocating_an_order_that_holds_nothing_is_not_found()
    {
        var store = Shop();

        var act = () => Services.Orders(new FakeUnitOfWorkFactory(store), store).DeallocateOrderAsync("o1", None);

        await act.Should().ThrowAsync<OrderAllocationsNotFound>();
        store.CommittedEvents.Should().BeEmpty();
    }

    [Test]
    public async Task A_keyed_repeat_of_a_release_answers_as_the_release_did_and_not_404()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);
        await Services.Orders(uows, store).AllocateOrderAsync("o1", Lines(("CHAIR", 3)), None);
        var first = await Services.Orders(uows, store, Keyed("release")).DeallocateOrderAsync("o1", None);

        var repeat = Keyed("release");
        var second = await Services.Orders(uows, store, repeat).DeallocateOrderAsync("o1", None);
        var unkeyed = () => Services.Orders(uows, store).DeallocateOrderAsync("o1", None);

        second.Should().BeEquivalentTo(first);
        repeat.Replayed.Should().BeTrue();
        await unkeyed.Should().ThrowAsync<OrderAllocationsNotFound>();
    }

    [Test]
    public async Task A_conflict_on_any_product_runs_the_whole_order_again()
    {
        var store = Shop();
        var uows = new InterferingFactory(store, () => Services.Allocations(new FakeUnitOfWorkFactory(store)).AllocateAsync("rival", "TABLE", 9, None));

        var result = await Services.Orders(uows, store).AllocateOrderAsync("o1", Lines(("CHAIR", 3), ("TABLE", 2)), None);

        uows.Inner.Begun.Should().HaveCount(2, "the first attempt lost the version check on TABLE");
        result.IsAllocated.Should().BeFalse("the retry saw the rival's allocation");
        result.OutOfStockSkus.Should().Equal("TABLE");
        Allocated(store, "CHAIR").Should().Be(0, "the lost attempt kept nothing, not even its line on CHAIR");
    }

    [Test]
    public async Task An_idempotency_key_replays_the_first_answer_even_after_stock_arrived()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);
        var first = await Services.Orders(uows, store, Keyed("k1")).AllocateOrderAsync("o1", Lines(("LAMP", 3)), None);
        await Services.Batches(uows).AddBatchAsync("more-lamps", "LAMP", 10, null, None);
        var eventsBefore = store.CommittedEvents.Count;

        var repeat = Keyed("k1");
        var second = await Services.Orders(uows, store, repeat).AllocateOrderAsync("o1", Lines(("LAMP", 3)), None);

        second.Should().BeEquivalentTo(first);
        second.OutOfStockSkus.Should().Equal("LAMP");
        repeat.Replayed.Should().BeTrue();
        store.CommittedEvents.Should().HaveCount(eventsBefore);
    }

    [Test]
    public async Task An_order_breaking_the_rules_is_refused_before_anything_is_read()
    {
        var store = Shop();
        var uows = new FakeUnitOfWorkFactory(store);
        var orders = Services.Orders(uows, store);

        var noLines = () => orders.AllocateOrderAsync("o1", [], None);
        var tooMany = () => orders.AllocateOrderAsync("o1", [.. Enumerable.Range(0, OrderRules.MaxLines + 1).Select(i => new RequestedLine($"S{i}", 1))], None);
        var repeatedSku = () => orders.AllocateOrderAsync("o1", Lines(("LAMP", 1), ("LAMP", 1)), None);
        var badQuantity = () => orders.AllocateOrderAsync("o1", Lines(("LAMP", 0)), None);
        var badOrderId = () => orders.AllocateOrderAsync("a/b", Lines(("LAMP", 1)), None);

        await noLines.Should().ThrowAsync<InvalidOrder>();
        await tooMany.Should().ThrowAsync<InvalidOrder>();
        await repeatedSku.Should().ThrowAsync<InvalidOrder>().WithMessage("Sku LAMP appears in more than one line.");
        await badQuantity.Should().ThrowAsync<InvalidOrder>();
        await badOrderId.Should().ThrowAsync<InvalidOrder>();
        uows.Begun.Should().BeEmpty();
    }

    private static IdempotentRequest Keyed(string key)
    {
        var request = new IdempotentRequest();
        request.Use("client:order-service", key, [1, 2, 3]);
        return request;
    }

    /// <summary>Runs a rival write after the first unit of work loaded and before it commits: its commit then loses the version check.</summary>
    private sealed class InterferingFactory(FakeStore store, Func<Task> rival) : IUnitOfWorkFactory
    {
        public FakeUnitOfWorkFactory Inner { get; } = new(store);

        public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken)
        {
            var uow = await Inner.BeginAsync(cancellationToken);
            return Inner.Begun.Count == 1 ? new Interfered(uow, rival) : uow;
        }

        private sealed class Interfered(IUnitOfWork inner, Func<Task> rival) : IUnitOfWork
        {
            public IProductRepository Products => inner.Products;

            public IIdempotencyRecords Idempotency => inner.Idempotency;

            public async Task CommitAsync(CancellationToken cancellationToken)
            {
                await rival();
                await inner.CommitAsync(cancellationToken);
            }

            public void ConfirmEarlierWrites() => inner.ConfirmEarlierWrites();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
