using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Domain;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Unit.Application;

public class SkuWriteGateTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static SkuWriteGate Gate(int writersPerSku = 1, TimeSpan? stuckAfter = null) =>
        new(Options.Create(new ConflictRetryOptions { WritersPerSku = writersPerSku, StuckWriteAfter = stuckAfter ?? TimeSpan.FromSeconds(2) }));

    private static ConflictRetry RetryWaitingForAPrimary(TimeSpan budget, TimeSpan failoverWait)
    {
        var options = Options.Create(new ConflictRetryOptions
        {
            Budget = budget,
            FailoverWait = failoverWait,
            FailoverFirstDelay = TimeSpan.FromMilliseconds(10),
            FailoverMaxDelay = TimeSpan.FromMilliseconds(50),
        });
        return new ConflictRetry(options, new SkuWriteGate(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<ConflictRetry>.Instance);
    }

    /// <summary>
    /// A write of the SKU through the gate, as every write comes: it waits up to <paramref name="budget"/>
    /// for a turn and then learns why none came; the write itself must never run.
    /// </summary>
    private static Func<Task<int>> WriteWaitingAtMost(SkuWriteGate gate, TimeSpan budget)
    {
        var retry = new ConflictRetry(
            Options.Create(new ConflictRetryOptions { Budget = budget }),
            gate,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ConflictRetry>.Instance);
        return () => retry.ExecuteAsync<int>(
            ["LAMP"], _ => throw new InvalidOperationException("The write ran without a turn."), None);
    }

    [Test]
    public async Task Writes_of_one_sku_take_turns_and_other_skus_pass_freely()
    {
        var gate = Gate();
        using var first = await gate.TryEnterAsync("LAMP", TimeSpan.FromSeconds(1), None);

        var second = gate.TryEnterAsync("LAMP", TimeSpan.FromSeconds(5), None);
        using var other = await gate.TryEnterAsync("CHAIR", TimeSpan.Zero, None);

        other.Should().NotBeNull("another SKU never waits");
        second.IsCompleted.Should().BeFalse("the SKU's one turn is taken");
        first!.Dispose();
        using var secondTurn = await second;
        secondTurn.Should().NotBeNull();
    }

    [Test]
    public async Task A_write_that_cannot_get_a_turn_in_time_gets_none()
    {
        var gate = Gate();
        using var holder = await gate.TryEnterAsync("LAMP", TimeSpan.Zero, None);

        var turn = await gate.TryEnterAsync("LAMP", TimeSpan.FromMilliseconds(30), None);

        turn.Should().BeNull();
    }

    /// <remarks>Alone: a stall of a second between entering and giving up would turn "busy" into "stuck".</remarks>
    [Test]
    [NonParallelizable]
    public async Task Giving_up_behind_busy_writers_is_contention_but_behind_a_stuck_one_the_store_is_unavailable()
    {
        // Generous margins: a loaded two-core machine can stall a thread for a few hundred milliseconds.
        var gate = Gate(stuckAfter: TimeSpan.FromSeconds(1));
        using (var holder = await gate.TryEnterAsync("LAMP", TimeSpan.Zero, None))
        {
            holder.Should().NotBeNull();
            var busy = WriteWaitingAtMost(gate, TimeSpan.FromMilliseconds(20));
            await busy.Should().ThrowAsync<ConcurrencyConflict>();

            var stuck = WriteWaitingAtMost(gate, TimeSpan.FromMilliseconds(1200));
            await stuck.Should().ThrowAsync<StoreUnavailable>("no write of the SKU has had an answer from the database for over a second");

            holder!.DatabaseAnswered();
            await busy.Should().ThrowAsync<ConcurrencyConflict>("the database answered just now: busy, not stuck");
        }

        using var afterwards = await gate.TryEnterAsync("LAMP", TimeSpan.Zero, None);
        afterwards.Should().NotBeNull();
    }

    /// <remarks>Alone: it holds the queue to wall-clock bounds.</remarks>
    [Test]
    [NonParallelizable]
    public async Task Writes_queued_behind_one_waiting_for_a_primary_wait_past_the_contention_budget_and_then_succeed()
    {
        // The first write of the SKU meets no writable primary for 600 ms (a switchover), longer than the
        // 200 ms contention budget the queued writes have; they are waiting out a failover, not contention.
        var retry = RetryWaitingForAPrimary(budget: TimeSpan.FromMilliseconds(200), failoverWait: TimeSpan.FromSeconds(3));
        var primaryBack = System.Diagnostics.Stopwatch.StartNew();
        Task<int> Write(int n) => retry.ExecuteAsync(
            ["LAMP"],
            _ => primaryBack.ElapsedMilliseconds < 600 ? throw new StoreUnavailable("no suitable host") : Task.FromResult(n),
            None);

        var first = Write(0);
        await Task.Delay(50);
        var results = await Task.WhenAll(Enumerable.Range(1, 5).Select(Write).Prepend(first));

        results.Should().Equal(0, 1, 2, 3, 4, 5);
    }

    /// <remarks>Alone: it holds the queue to wall-clock bounds.</remarks>
    [Test]
    [NonParallelizable]
    public async Task Writes_queued_behind_a_failover_that_outlasts_the_wait_get_unavailable_not_a_conflict()
    {
        var retry = RetryWaitingForAPrimary(budget: TimeSpan.FromMilliseconds(100), failoverWait: TimeSpan.FromMilliseconds(400));
        Task<int> Write() => retry.ExecuteAsync<int>(["LAMP"], _ => throw new StoreUnavailable("no suitable host"), None);

        var first = Write();
        await Task.Delay(30);
        var queued = Enumerable.Range(0, 3).Select(_ => Write()).ToList();

        foreach (var write in queued.Prepend(first))
        {
            await ((Func<Task>)(() => write)).Should().ThrowAsync<StoreUnavailable>();
        }
    }

    /// <remarks>Alone: a stall between entering and giving up would change what the gate sees.</remarks>
    [Test]
    [NonParallelizable]
    public async Task Behind_a_write_stuck_at_the_database_the_store_is_unavailable_even_while_other_skus_are_answered()
    {
        var gate = Gate(stuckAfter: TimeSpan.FromMilliseconds(300));
        using var stuck = await gate.TryEnterAsync("LAMP", TimeSpan.Zero, None);
        using var other = await gate.TryEnterAsync("CHAIR", TimeSpan.Zero, None);
        stuck.Should().NotBeNull();
        other.Should().NotBeNull();
        var otherAnswered = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                other!.DatabaseAnswered();
                await Task.Delay(50);
            }
        });

        var queued = WriteWaitingAtMost(gate, TimeSpan.FromMilliseconds(600));

        await queued.Should().ThrowAsync<StoreUnavailable>("the write ahead has had no answer for longer than a healthy write takes")
            .WithMessage("*ahead of this one*");
        await otherAnswered;
    }

    [Test]
    public async Task Nothing_is_left_behind_once_every_writer_is_done_or_gave_up()
    {
        var gate = Gate(writersPerSku: 2);
        var turns = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => gate.TryEnterAsync("LAMP", TimeSpan.Zero, None)));
        using var cancelled = new CancellationTokenSource();
        var waiting = gate.TryEnterAsync("LAMP", TimeSpan.FromSeconds(5), cancelled.Token);
        (await gate.TryEnterAsync("LAMP", TimeSpan.Zero, None)).Should().BeNull();
        gate.ActiveSkus.Should().Be(1);

        await cancelled.CancelAsync();
        await ((Func<Task>)(() => waiting)).Should().ThrowAsync<OperationCanceledException>();
        foreach (var turn in turns)
        {
            turn!.Dispose();
            turn.Dispose(); // twice is harmless
        }

        gate.ActiveSkus.Should().Be(0);
    }

    [Test]
    public async Task Concurrent_allocations_of_one_sku_reach_the_store_one_at_a_time()
    {
        var store = new OneWriterAtATimeStore(new Product("LAMP", [new Batch("b1", "LAMP", 1000, eta: null)]));
        var allocations = Services.Allocations(store);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => allocations.AllocateAsync($"o{i}", "LAMP", 1, None))));

        store.MostAtOnce.Should().Be(1);
        store.Product.Batches[0].AllocatedQuantity.Should().Be(50);
    }

    /// <summary>Counts how many units of work are open at once; each takes a little while, as a real one does.</summary>
    private sealed class OneWriterAtATimeStore(Product product) : IUnitOfWorkFactory, IUnitOfWork, IProductRepository
    {
        private int _open;

        public Product Product { get; } = product;

        public int MostAtOnce { get; private set; }

        public IProductRepository Products => this;

        public Allocation.Application.Idempotency.IIdempotencyRecords Idempotency =>
            throw new NotSupportedException("No request here has an Idempotency-Key.");

        public Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken)
        {
            var open = Interlocked.Increment(ref _open);
            lock (this)
            {
                MostAtOnce = Math.Max(MostAtOnce, open);
            }

            return Task.FromResult<IUnitOfWork>(this);
        }

        public async Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken)
        {
            await Task.Delay(1, cancellationToken);
            return Product;
        }

        public Task<Product?> GetForChangeAsync(string sku, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public void Add(Product product) => throw new NotSupportedException();

        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void ConfirmEarlierWrites() => throw new NotSupportedException("No commit is cut off here.");

        public ValueTask DisposeAsync()
        {
            Interlocked.Decrement(ref _open);
            return ValueTask.CompletedTask;
        }
    }
}
