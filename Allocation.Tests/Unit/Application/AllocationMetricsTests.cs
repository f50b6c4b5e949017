using System.Diagnostics.Metrics;
using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Common;
using Allocation.Application.Idempotency;
using Allocation.Application.Orders;
using Allocation.Domain;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;

namespace Allocation.Tests.Unit.Application;

/// <summary>
/// What the use cases count. Each test has a meter factory of its own and listens to its meters only,
/// so that the other fixtures running meanwhile (and recording on meters of the same name) do not count.
/// </summary>
public sealed class AllocationMetricsTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly List<(string Instrument, string? Outcome)> _recorded = [];
    private OwnMeters _meters = null!;
    private MeterListener _listener = null!;

    [SetUp]
    public void ListenToOwnMeters()
    {
        _recorded.Clear();
        _meters = new OwnMeters();
        _listener = new MeterListener();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == _meters)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var outcome = tags.ToArray().Where(t => t.Key == "outcome").Select(t => (string?)t.Value).SingleOrDefault();
            lock (_recorded)
            {
                for (var i = 0; i < value; i++)
                {
                    _recorded.Add((instrument.Name, outcome));
                }
            }
        });
        _listener.Start();
    }

    [TearDown]
    public void StopListening()
    {
        _listener.Dispose();
        _meters.Dispose();
    }

    [Test]
    public async Task Each_allocate_counts_once_by_how_it_ended()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var service = Service(new FakeUnitOfWorkFactory(store));

        await service.AllocateAsync("o1", "LAMP", 4, None);
        await service.AllocateAsync("o1", "LAMP", 4, None);
        await FluentActions.Awaiting(() => service.AllocateAsync("o1", "LAMP", 5, None)).Should().ThrowAsync<ConflictingOrderLine>();
        await FluentActions.Awaiting(() => service.AllocateAsync("o2", "LAMP", 7, None)).Should().ThrowAsync<OutOfStock>();
        await FluentActions.Awaiting(() => service.AllocateAsync("o3", "NO-SUCH-SKU", 1, None)).Should().ThrowAsync<InvalidSku>();

        Outcomes().Should().Equal("allocated", "repeated", "conflicting_order_line", "out_of_stock", "invalid_sku");
    }

    [Test]
    public async Task Retries_are_counted_and_a_conflict_that_outlives_them_counts_as_gave_up()
    {
        var factory = UowThatAlwaysLoses();
        var service = Service(factory.Object, maxAttempts: 3);

        await FluentActions.Awaiting(() => service.AllocateAsync("o1", "LAMP", 1, None)).Should().ThrowAsync<ConcurrencyConflict>();

        Outcomes().Should().Equal("conflict_gave_up");
        _recorded.Count(r => r.Instrument == "allocation.conflict_retries").Should().Be(2, "three attempts are two retries");
    }

    [Test]
    public async Task Each_whole_order_allocate_counts_once_by_how_it_ended()
    {
        var store = FakeStore.With(new Batch("chairs", "CHAIR", 10, eta: null), new Batch("lamps", "LAMP", 2, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        await Orders(uows, store).AllocateOrderAsync("o1", [new("CHAIR", 3), new("LAMP", 1)], None);
        await Orders(uows, store).AllocateOrderAsync("o1", [new("CHAIR", 3), new("LAMP", 1)], None);
        await Orders(uows, store).AllocateOrderAsync("o2", [new("CHAIR", 1), new("LAMP", 2)], None);
        await FluentActions.Awaiting(() => Orders(uows, store).AllocateOrderAsync("o3", [new("CHAIR", 1), new("NO-SUCH-SKU", 1)], None))
            .Should().ThrowAsync<InvalidSkus>();
        await FluentActions.Awaiting(() => Orders(uows, store).AllocateOrderAsync("o1", [new("CHAIR", 3)], None))
            .Should().ThrowAsync<ConflictingOrder>();

        OrderOutcomes().Should().Equal("allocated", "repeated", "out_of_stock", "invalid_sku", "conflicting_order");
        Outcomes().Should().BeEmpty("a whole order is not counted as single allocations");
    }

    [Test]
    public async Task A_whole_order_answered_from_its_idempotency_key_counts_as_replayed()
    {
        var store = FakeStore.With(new Batch("chairs", "CHAIR", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        await Orders(uows, store, Keyed("k1")).AllocateOrderAsync("o1", [new("CHAIR", 3)], None);
        var replay = await Orders(uows, store, Keyed("k1")).AllocateOrderAsync("o1", [new("CHAIR", 3)], None);

        replay.IsAllocated.Should().BeTrue("the stored answer is given again");
        OrderOutcomes().Should().Equal("allocated", "replayed");
    }

    [Test]
    public async Task A_whole_order_whose_conflicts_outlive_the_retries_counts_as_gave_up()
    {
        var factory = UowThatAlwaysLoses();
        var metrics = new AllocationMetrics(_meters);
        var retry = Retry(metrics, maxAttempts: 3);
        var orders = new OrderAllocationService(new ProductWrites(factory.Object, retry, new IdempotentRequest()), new FakeReadModel(), retry, metrics);

        await FluentActions.Awaiting(() => orders.AllocateOrderAsync("o1", [new("LAMP", 1)], None)).Should().ThrowAsync<ConcurrencyConflict>();

        OrderOutcomes().Should().Equal("conflict_gave_up");
    }

    [Test]
    public async Task A_whole_order_command_that_gives_up_on_contention_is_not_counted_yet_its_consumer_runs_it_again()
    {
        var factory = UowThatAlwaysLoses();
        var metrics = new AllocationMetrics(_meters);
        var retry = Retry(metrics, maxAttempts: 3);
        var request = new IdempotentRequest { RepeatsOnContention = true };
        var orders = new OrderAllocationService(new ProductWrites(factory.Object, retry, request), new FakeReadModel(), retry, metrics, request);

        await FluentActions.Awaiting(() => orders.AllocateOrderAsync("o1", [new("LAMP", 1)], None)).Should().ThrowAsync<ConcurrencyConflict>();

        OrderOutcomes().Should().BeEmpty("the attempt that gave up is repeated, and the repeat's outcome is the one counted");
    }

    private static IdempotentRequest Keyed(string key)
    {
        var request = new IdempotentRequest();
        request.Use("client:order-service", key, [1, 2, 3]);
        return request;
    }

    private List<string?> Outcomes() => Recorded("allocation.allocations");

    private List<string?> OrderOutcomes() => Recorded("allocation.orders");

    private List<string?> Recorded(string instrument)
    {
        lock (_recorded)
        {
            return _recorded.Where(r => r.Instrument == instrument).Select(r => r.Outcome).ToList();
        }
    }

    /// <summary>The service as the host makes it: one scoped IdempotentRequest shared by the writes and the service.</summary>
    private OrderAllocationService Orders(FakeUnitOfWorkFactory uows, FakeStore store, IdempotentRequest? request = null)
    {
        var metrics = new AllocationMetrics(_meters);
        var retry = Retry(metrics);
        request ??= new IdempotentRequest();
        return new OrderAllocationService(new ProductWrites(uows, retry, request), new FakeStoreReadModel(store), retry, metrics, request);
    }

    private static ConflictRetry Retry(AllocationMetrics metrics, int maxAttempts = 5)
    {
        var options = Options.Create(new ConflictRetryOptions { MaxAttempts = maxAttempts, BaseDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero });
        return new ConflictRetry(options, new SkuWriteGate(options), NullLogger<ConflictRetry>.Instance, metrics);
    }

    private AllocationService Service(IUnitOfWorkFactory unitsOfWork, int maxAttempts = 5)
    {
        var metrics = new AllocationMetrics(_meters);
        var options = Options.Create(new ConflictRetryOptions { MaxAttempts = maxAttempts, BaseDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero });
        var retry = new ConflictRetry(options, new SkuWriteGate(options), NullLogger<ConflictRetry>.Instance, metrics);
        return new AllocationService(
            new ProductWrites(unitsOfWork, retry, new Allocation.Application.Idempotency.IdempotentRequest()),
            new FakeReadModel(),
            retry,
            metrics);
    }

    private static Mock<IUnitOfWorkFactory> UowThatAlwaysLoses()
    {
        var repository = new Mock<IProductRepository>();
        repository.Setup(r => r.GetAsync("LAMP", "o1", It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => new Product("LAMP", [new Batch("b1", "LAMP", 10, eta: null)]));
        var uow = new Mock<IUnitOfWork>();
        uow.SetupGet(u => u.Products).Returns(repository.Object);
        uow.Setup(u => u.CommitAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new ConcurrencyConflict("lost"));
        var factory = new Mock<IUnitOfWorkFactory>();
        factory.Setup(f => f.BeginAsync(It.IsAny<CancellationToken>())).ReturnsAsync(uow.Object);
        return factory;
    }

    /// <summary>A meter factory whose meters are told apart from everyone else's by their scope.</summary>
    private sealed class OwnMeters : IMeterFactory
    {
        private readonly List<Meter> _created = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _created.Add(meter);
            return meter;
        }

        public void Dispose() => _created.ForEach(m => m.Dispose());
    }
}
