namespace Allocation.Application;

/// <summary>
/// One transaction for one use case. Changes to the products loaded or added through
/// <see cref="Products"/> are stored by <see cref="CommitAsync"/>; disposing without
/// committing rolls everything back.
/// </summary>
public interface IUnitOfWork : IAsyncDisposable
{
    IProductRepository Products { get; }

    /// <summary>Idempotency-Key records, stored by <see cref="CommitAsync"/> with the change.</summary>
    Idempotency.IIdempotencyRecords Idempotency { get; }

    /// <exception cref="ConcurrencyConflict">Another unit of work changed one of the products first.</exception>
    Task CommitAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes <see cref="CommitAsync"/> wait for the synchronous standby even when this unit of work
    /// changed nothing. For the repeat of a write whose COMMIT was cut off: when the repeat finds the
    /// earlier write, its answer is a success only once that write is on the standby too.
    /// </summary>
    void ConfirmEarlierWrites();
}

/// <summary>Opens units of work.</summary>
public interface IUnitOfWorkFactory
{
    Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken);
}
