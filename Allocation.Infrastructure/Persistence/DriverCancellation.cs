namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// The cancellation token Npgsql is given: cancelled when the request's deadline fires, but on a
/// thread of its own. Npgsql cancels by sending PostgreSQL a cancel request from inside the token's
/// callback and blocking until the server closes it; on the deadline's own token that callback would
/// hold up every callback after it, our own stop-waiting one included, for as long as a hung server
/// stays hung.
/// </summary>
internal sealed class DriverCancellation : IDisposable
{
    private readonly CancellationToken _deadline;
    private readonly CancellationTokenSource _driver = new();
    private readonly CancellationTokenRegistration _forwarding;

    public DriverCancellation(CancellationToken deadline)
    {
        _deadline = deadline;
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
        if (_deadline.IsCancellationRequested)
        {
            Forward(_driver);
        }
    }

    private static void Forward(CancellationTokenSource driver) =>
        ThreadPool.UnsafeQueueUserWorkItem(static d => d.Cancel(), driver, preferLocal: false);
}
