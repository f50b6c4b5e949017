using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Domain;
using Moq;

namespace Allocation.Tests.Unit.Application;

/// <summary>The retry loop's interactions with the unit of work are the point here, so Moq.</summary>
public class ConflictRetryTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static (Mock<IUnitOfWorkFactory> Factory, Mock<IUnitOfWork> Uow) UowThatCommits(params Exception?[] outcomes)
    {
        var repository = new Mock<IProductRepository>();
        repository.Setup(r => r.GetAsync("LAMP", "o1", It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => new Product("LAMP", [new Batch("b1", "LAMP", 10, eta: null)]));
        var uow = new Mock<IUnitOfWork>();
        uow.SetupGet(u => u.Products).Returns(repository.Object);
        var commit = uow.SetupSequence(u => u.CommitAsync(It.IsAny<CancellationToken>()));
        foreach (var outcome in outcomes)
        {
            commit = outcome is null ? commit.Returns(Task.CompletedTask) : commit.ThrowsAsync(outcome);
        }

        var factory = new Mock<IUnitOfWorkFactory>();
        factory.Setup(f => f.BeginAsync(It.IsAny<CancellationToken>())).ReturnsAsync(uow.Object);
        return (factory, uow);
    }

    [Test]
    public async Task A_conflict_is_retried_from_a_fresh_unit_of_work_until_it_commits()
    {
        var (factory, uow) = UowThatCommits(new ConcurrencyConflict("lost"), new ConcurrencyConflict("lost"), null);

        var result = await Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        result.Should().Be("b1");
        factory.Verify(f => f.BeginAsync(It.IsAny<CancellationToken>()), Times.Exactly(3));
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(3));
        uow.Verify(u => u.DisposeAsync(), Times.Exactly(3));
    }

    [Test]
    public async Task Retries_are_bounded_and_then_the_conflict_reaches_the_caller()
    {
        var conflicts = Enumerable.Repeat<Exception?>(new ConcurrencyConflict("lost"), 10).ToArray();
        var (factory, uow) = UowThatCommits(conflicts);

        var act = () => Services.Allocations(factory.Object, retry: Services.Retry(maxAttempts: 4))
            .AllocateAsync("o1", "LAMP", 1, None);

        await act.Should().ThrowAsync<ConcurrencyConflict>().WithMessage("*4 attempts*");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(4));
    }

    /// <remarks>Alone: it holds an attempt to a wall-clock length.</remarks>
    [Test]
    [NonParallelizable]
    public async Task A_conflict_met_after_the_database_held_the_write_for_seconds_is_unavailability_not_contention()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new ConflictRetryOptions
        {
            Budget = TimeSpan.FromMilliseconds(150),
            StuckWriteAfter = TimeSpan.FromMilliseconds(100),
        });
        var retry = new ConflictRetry(options, new SkuWriteGate(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<ConflictRetry>.Instance);

        var held = () => retry.ExecuteAsync<int>(
            ["LAMP"],
            async ct =>
            {
                await Task.Delay(300, ct);
                throw new ConcurrencyConflict("the product moved on while this write waited for its lock");
            },
            None);
        var quick = () => retry.ExecuteAsync<int>(["LAMP"], _ => throw new ConcurrencyConflict("lost"), None);

        await held.Should().ThrowAsync<StoreUnavailable>().WithMessage("*held this write*");
        await quick.Should().ThrowAsync<ConcurrencyConflict>("quick losses until the budget is spent are contention");
    }

    [Test]
    public async Task Business_errors_are_not_retried()
    {
        var (factory, _) = UowThatCommits((Exception?)null);

        var act = () => Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 11, None);

        await act.Should().ThrowAsync<OutOfStock>();
        factory.Verify(f => f.BeginAsync(It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task Without_a_writable_primary_the_write_is_tried_again_after_a_pause_until_it_commits()
    {
        var (factory, uow) = UowThatCommits(new StoreUnavailable("no suitable host"), new StoreUnavailable("read-only"), null);

        var result = await Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        result.Should().Be("b1");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(3));
    }

    /// <remarks>Alone: it holds the wait to a wall-clock bound.</remarks>
    [Test]
    [NonParallelizable]
    public async Task Waiting_for_a_primary_ends_with_the_store_unavailable_once_the_failover_wait_is_spent()
    {
        var away = Enumerable.Repeat<Exception?>(new StoreUnavailable("no suitable host"), 1000).ToArray();
        var (factory, uow) = UowThatCommits(away);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var act = () => Services.Allocations(factory.Object, retry: Services.Retry(failoverWait: TimeSpan.FromMilliseconds(300)))
            .AllocateAsync("o1", "LAMP", 1, None);

        await act.Should().ThrowAsync<StoreUnavailable>();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(300 + 500), "no pause is started that would end past the wait");
        uow.Invocations.Count(i => i.Method.Name == nameof(IUnitOfWork.CommitAsync)).Should().BeInRange(3, 200);
    }

    [TestCase(StoreFault.Timeout, TestName = "A hung database is not waited for a second time")]
    [TestCase(StoreFault.NotReplicated, TestName = "A commit the synchronous standby never confirmed is not repeated")]
    public async Task Faults_that_waiting_cannot_mend_reach_the_caller_at_once(StoreFault fault)
    {
        var (factory, uow) = UowThatCommits(new StoreUnavailable("fault", null, fault), null);

        var act = () => Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        (await act.Should().ThrowAsync<StoreUnavailable>()).Which.Fault.Should().Be(fault);
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Once);
    }

    [Test]
    public async Task A_commit_whose_outcome_was_lost_is_repeated_for_an_allocation_which_finds_its_own_line()
    {
        var (factory, uow) = UowThatCommits(new StoreUnavailable("broken during COMMIT", null, StoreFault.OutcomeUnknown), null);

        var result = await Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        result.Should().Be("b1");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(2));
        uow.Verify(u => u.ConfirmEarlierWrites(), Times.Once(), "the repeat's commit waits for the standby to have the earlier write too");
    }

    [Test]
    public async Task A_commit_whose_outcome_was_lost_is_not_repeated_for_a_write_that_is_not_safe_to_repeat()
    {
        var retry = Services.Retry();
        var attempts = 0;

        var act = () => retry.ExecuteAsync<int>(
            ["LAMP"],
            _ =>
            {
                attempts++;
                throw new StoreUnavailable("broken during COMMIT", null, StoreFault.OutcomeUnknown);
            },
            None);

        (await act.Should().ThrowAsync<StoreUnavailable>()).Which.Fault.Should().Be(StoreFault.OutcomeUnknown);
        attempts.Should().Be(1);
    }

    [Test]
    public async Task A_connection_that_broke_before_the_commit_costs_the_caller_nothing_it_runs_once_more()
    {
        var (factory, uow) = UowThatCommits(new StoreUnavailable("idle connection closed", retryAtOnce: true), null);

        var result = await Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        result.Should().Be("b1");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Test]
    public async Task Broken_connections_are_retried_at_once_a_bounded_number_of_times()
    {
        var broken = Enumerable.Range(0, 10).Select(i => (Exception?)new StoreUnavailable($"broken {i}", retryAtOnce: true)).ToArray();
        var (factory, uow) = UowThatCommits(broken);

        // No failover wait: only the retries at once.
        var act = () => Services.Allocations(factory.Object, retry: Services.Retry(failoverWait: TimeSpan.Zero))
            .AllocateAsync("o1", "LAMP", 1, None);

        await act.Should().ThrowAsync<StoreUnavailable>().WithMessage($"broken {ConflictRetry.FreshConnectionRetries}");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(ConflictRetry.FreshConnectionRetries + 1));
    }

    [Test]
    public async Task Connections_that_keep_breaking_a_restarting_server_are_waited_out_after_the_retries_at_once()
    {
        var broken = Enumerable.Range(0, 10).Select(i => (Exception?)new StoreUnavailable($"broken {i}", retryAtOnce: true)).Append(null).ToArray();
        var (factory, uow) = UowThatCommits(broken);

        var result = await Services.Allocations(factory.Object).AllocateAsync("o1", "LAMP", 1, None);

        result.Should().Be("b1");
        uow.Verify(u => u.CommitAsync(It.IsAny<CancellationToken>()), Times.Exactly(11));
    }

    /// <remarks>Alone: it holds the retries to a wall-clock bound.</remarks>
    [Test]
    [NonParallelizable]
    public async Task Retries_stop_when_the_time_budget_is_spent_even_with_attempts_left()
    {
        var conflicts = Enumerable.Repeat<Exception?>(new ConcurrencyConflict("lost"), 100).ToArray();
        var (factory, uow) = UowThatCommits(conflicts);
        var retry = Services.Retry(maxAttempts: 100, baseDelay: TimeSpan.FromMilliseconds(40), budget: TimeSpan.FromMilliseconds(150));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var act = () => Services.Allocations(factory.Object, retry: retry).AllocateAsync("o1", "LAMP", 1, None);

        await act.Should().ThrowAsync<ConcurrencyConflict>().WithMessage("*gave up after*");
        // 100 attempts at up to 40 ms each would take seconds; the budget stops them at about 150 ms
        // (the margin is for a loaded machine's scheduling, not for another retry).
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(150 + 500), "no retry is started that would end past the budget");
        uow.Invocations.Count(i => i.Method.Name == nameof(IUnitOfWork.CommitAsync)).Should().BeInRange(2, 20);
    }
}
