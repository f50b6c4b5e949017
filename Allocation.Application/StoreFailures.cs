namespace Allocation.Application;

// What the ports report when the store could not do the work: nothing about the request itself.

/// <summary>Another writer changed the same product first, and retrying did not get past it.</summary>
public sealed class ConcurrencyConflict(string message, Exception? innerException = null)
    : Exception(message, innerException);

/// <summary>What a <see cref="StoreUnavailable"/> says about the write and about trying again.</summary>
public enum StoreFault
{
    /// <summary>
    /// Nothing was stored: the database cannot be reached, is starting, refuses writes (a demoted
    /// primary, a standby) or no host is a writable primary yet. Worth trying again after a pause:
    /// this is what a switchover or a failover looks like from here.
    /// </summary>
    Unavailable,

    /// <summary>
    /// This connection broke before anything was committed (a pooled connection the server had closed
    /// while it sat idle, a terminated backend): the use case may run again at once on a fresh one.
    /// </summary>
    BrokenConnection,

    /// <summary>
    /// The database did not answer in time (a hung server, an exhausted pool, a cancelled statement):
    /// waiting longer inside the request is no use.
    /// </summary>
    Timeout,

    /// <summary>
    /// The connection was lost while COMMIT was in flight: the write may or may not have been stored.
    /// Only a write that is safe to repeat may run again.
    /// </summary>
    OutcomeUnknown,

    /// <summary>
    /// The primary committed but its wait for the synchronous standby was cancelled: the write is on one
    /// server only and would be lost with it. Not a success, and not to be repeated inside the request
    /// (a repeat would find the write and report it as one).
    /// </summary>
    NotReplicated,
}

/// <summary>The database could not do the work; trying again later may work.</summary>
public sealed class StoreUnavailable : Exception
{
    /// <param name="message">What went wrong, for the log; never shown to callers.</param>
    /// <param name="innerException">The driver's error.</param>
    /// <param name="fault">What the failure means for the write and for trying again.</param>
    public StoreUnavailable(string message, Exception? innerException = null, StoreFault fault = StoreFault.Unavailable)
        : base(message, innerException) => Fault = fault;

    /// <param name="message">What went wrong, for the log; never shown to callers.</param>
    /// <param name="retryAtOnce">True for <see cref="StoreFault.BrokenConnection"/>, else <see cref="StoreFault.Unavailable"/>.</param>
    /// <param name="innerException">The driver's error.</param>
    public StoreUnavailable(string message, bool retryAtOnce, Exception? innerException = null)
        : this(message, innerException, retryAtOnce ? StoreFault.BrokenConnection : StoreFault.Unavailable)
    {
    }

    public StoreFault Fault { get; }

    /// <summary>A connection broke before anything was committed: the whole use case may run again at once on a fresh one.</summary>
    public bool RetryAtOnce => Fault == StoreFault.BrokenConnection;
}
