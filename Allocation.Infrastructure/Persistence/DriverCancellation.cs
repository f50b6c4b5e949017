namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// The cancellation token Npgsql is given: cancelled when the request's deadline fires, but on a
/// thread of its own. Npgsql cancels by sending PostgreSQL a cancel request from inside the token's
/// callback and blocking until the server closes it; on the deadline's own token that callback would
/// hold up every callback after it, our own stop-waiting one included, for as long as a hung server
/// stays hung. A dedicated thread also keeps those waits off the thread pool.
/// </summary>
internal sealed class DriverCancellation : IDisposable
{
    private readonly CancellationToken _deadline;
    private readonly CancellationTokenSource _driver = new();
    private readonly CancellationTokenRegistration _forwarding;

    public DriverCancellation(CancellationToken deadline)
    {
        _deadline = deadline;
        if (deadline.IsCancellationRequested)
        {
            // Nothing of Npgsql's is registered yet, so nothing can block: cancel before it starts.
            _driver.Cancel();
            return;
        }

        _forwarding = deadline.UnsafeRegister(static driver => Forward((CancellationTokenSource)driver!), _driver);
    }

    public CancellationToken Token => _driver.Token;

    /// <summary>
    /// Stops forwarding. A deadline that has fired is still passed on: the caller may have stopped
    /// waiting (and be disposing this) before the forwarding callback had its turn. The source itself is
    /// not disposed: a forwarded cancel may still be on its way to it.
    /// </summary>
    public void Dispose()
    {
        _forwarding.Dispose();
        if (_deadline.IsCancellationRequested && !_driver.IsCancellationRequested)
        {
            Forward(_driver);
        }
    }

    private static void Forward(CancellationTokenSource driver) =>
        new Thread(static state => CancelQuietly((CancellationTokenSource)state!)) { IsBackground = true, Name = "Npgsql cancel" }
            .Start(driver);

    private static void CancelQuietly(CancellationTokenSource driver)
    {
        try
        {
            driver.Cancel();
        }
#pragma warning disable CA1031 // A callback's failure must not take the process down with this thread; the operation fails on its own.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
