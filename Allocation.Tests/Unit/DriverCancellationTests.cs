using System.Diagnostics;
using Allocation.Infrastructure.Persistence;

namespace Allocation.Tests.Unit;

/// <summary>Npgsql's cancel can block for as long as a hung server stays hung; the deadline must not wait for it.</summary>
public class DriverCancellationTests
{
    [Test]
    public async Task A_deadline_fires_at_once_even_when_the_drivers_cancel_blocks()
    {
        using var deadline = new CancellationTokenSource();
        using var driver = new DriverCancellation(deadline.Token);
        using var hungServer = new ManualResetEventSlim();
        var driverCancelled = new TaskCompletionSource();
        // What Npgsql does: a callback on the token it was given that blocks until the server answers.
        using var blocking = driver.Token.Register(() =>
        {
            driverCancelled.TrySetResult();
            hungServer.Wait(TimeSpan.FromSeconds(10));
        });
        var clock = Stopwatch.StartNew();

        await deadline.CancelAsync();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "firing the deadline does not run the driver's cancel");
        await driverCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        hungServer.Set();
    }

    [Test]
    public async Task A_deadline_that_fired_is_passed_on_even_when_the_caller_stopped_waiting_first()
    {
        using var deadline = new CancellationTokenSource();
        var driver = new DriverCancellation(deadline.Token);
        var token = driver.Token;
        // The caller's own callback runs first (registered last) and disposes before forwarding had its turn.
        using var stopWaiting = deadline.Token.Register(driver.Dispose);

        await deadline.CancelAsync();

        var forwarded = new TaskCompletionSource();
        using var registration = token.Register(forwarded.SetResult);
        await forwarded.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Test]
    public void A_deadline_already_past_cancels_the_driver_before_it_starts()
    {
        using var deadline = new CancellationTokenSource();
        deadline.Cancel();

        using var driver = new DriverCancellation(deadline.Token);

        driver.Token.IsCancellationRequested.Should().BeTrue("nothing may be sent, above all no COMMIT, once the caller has been told 504");
    }

    [Test]
    public void Without_a_deadline_nothing_is_cancelled()
    {
        using var driver = new DriverCancellation(CancellationToken.None);
        driver.Token.IsCancellationRequested.Should().BeFalse();
    }
}
