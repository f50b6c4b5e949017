namespace Allocation.Application;

/// <summary>The SKU has no batches, so nothing can be allocated from it.</summary>
public sealed class InvalidSku(string sku) : Exception($"Invalid sku {sku}")
{
    public string Sku { get; } = sku;
}

/// <summary>Something the caller asked for by its identity does not exist.</summary>
public abstract class NotFound(string message) : Exception(message);

public sealed class BatchNotFound(string reference) : NotFound($"Batch {reference} not found")
{
    public string Reference { get; } = reference;
}

public sealed class OrderAllocationsNotFound(string orderId) : NotFound($"Order {orderId} has no allocations")
{
    public string OrderId { get; } = orderId;
}

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
