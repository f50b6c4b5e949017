using Allocation.Application.Common;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Unit.Application;

/// <summary>A write of several SKUs (a whole order) takes every SKU's turn, in SKU order, and gives them all back.</summary>
public class SeveralSkuTurnsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static (ConflictRetry Retry, SkuWriteGate Gate) Retry(TimeSpan? budget = null)
    {
        var options = Options.Create(new ConflictRetryOptions { WritersPerSku = 1, Budget = budget ?? TimeSpan.FromSeconds(5) });
        var gate = new SkuWriteGate(options);
        return (new ConflictRetry(options, gate, NullLogger<ConflictRetry>.Instance), gate);
    }

    [Test]
    public async Task Turns_are_taken_in_sku_order_whatever_order_the_skus_come_in()
    {
        var (retry, gate) = Retry();
        var holderOfA = await gate.TryEnterAsync("A", TimeSpan.Zero, None);
        var ran = new TaskCompletionSource();

        var order = retry.ExecuteAsync(["B", "A"], _ => { ran.SetResult(); return Task.FromResult(1); }, None);
        await Task.Delay(50);
        using var turnOfB = await gate.TryEnterAsync("B", TimeSpan.Zero, None);

        turnOfB.Should().NotBeNull("the order waits for A first and holds nothing meanwhile; taking B first could deadlock with a write holding A and waiting for B");
        ran.Task.IsCompleted.Should().BeFalse();
        holderOfA!.Dispose();
        turnOfB!.Dispose();
        (await order).Should().Be(1);
    }

    [Test]
    public async Task Concurrent_writes_of_shared_skus_in_random_orders_all_finish_and_leave_no_turn_behind()
    {
        var (retry, gate) = Retry();
        var skus = new[] { "A", "B", "C", "D", "E" };
        var running = 0;
        var overlapped = false;

        var writes = Enumerable.Range(0, 20).Select(i => retry.ExecuteAsync(
            [.. skus.OrderBy(_ => Random.Shared.Next()).Take(3)],
            async ct =>
            {
                await Task.Yield();
                overlapped |= Interlocked.Increment(ref running) > 1;
                await Task.Delay(2, ct);
                Interlocked.Decrement(ref running);
                return i;
            },
            None)).ToList();

        (await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(10))).Should().HaveCount(20);
        overlapped.Should().BeFalse("any two sets of 3 of the 5 SKUs share one, so no two of these writes may run at once");
        gate.ActiveSkus.Should().Be(0);
    }

    [Test]
    public async Task A_sku_that_stays_taken_gives_back_the_turns_already_taken()
    {
        var (retry, gate) = Retry(budget: TimeSpan.FromMilliseconds(100));
        using var holderOfB = await gate.TryEnterAsync("B", TimeSpan.Zero, None);

        var act = () => retry.ExecuteAsync(["A", "B"], _ => Task.FromResult(1), None);

        await act.Should().ThrowAsync<Allocation.Application.ConcurrencyConflict>();
        using var turnOfA = await gate.TryEnterAsync("A", TimeSpan.Zero, None);
        turnOfA.Should().NotBeNull("A's turn was given back when B's did not come");
    }
}
