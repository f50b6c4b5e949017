namespace Allocation.Application;

// What the ports report when the store could not do the work: nothing about the request itself.

/// <summary>Another writer changed the same product first, and retrying did not get past it.</summary>
public sealed class ConcurrencyConflict(string message, Exception? innerException = null)
    : Exception(message, innerException);

/// <summary>
/// The database cannot be reached, is restarting, refuses writes or gave up on a statement;
/// trying again later may work.
/// </summary>
/// <param name="message">What went wrong, for the log; never shown to callers.</param>
/// <param name="innerException">The driver's error.</param>
/// <param name="retryAtOnce">
/// True when a connection broke before anything was committed (a pooled connection the server had
/// closed while it sat idle, a backend that was terminated): the whole use case may run again at
/// once on a fresh connection. False when the database itself is away, or when the connection was
/// lost while committing and the write may or may not have been stored.
/// </param>
public sealed class StoreUnavailable(string message, Exception? innerException = null, bool retryAtOnce = false)
    : Exception(message, innerException)
{
    public bool RetryAtOnce { get; } = retryAtOnce;
}
