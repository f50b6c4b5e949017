using System.Data;
using Allocation.Application;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>One pooled connection and one READ COMMITTED transaction for one use case.</summary>
internal sealed class UnitOfWork : IUnitOfWork
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly DapperProductRepository _products;

    /// <summary>The last database operation started; the connection is not released while it runs.</summary>
    private Task _lastOperation = Task.CompletedTask;

    private UnitOfWork(NpgsqlDataSource dataSource, NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _dataSource = dataSource;
        _connection = connection;
        _transaction = transaction;
        _products = new DapperProductRepository(connection, transaction);
        Products = new GuardedProductRepository(this);
    }

    public IProductRepository Products { get; }

    public static async Task<UnitOfWork> BeginAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        // Waits for a pooled connection within the request's deadline rather than opening more than the pool allows.
        var opening = dataSource.OpenConnectionAsync(cancellationToken).AsTask();
        NpgsqlConnection connection;
        try
        {
            connection = await StoreErrors.GuardAsync(dataSource, opening, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Given up on at the deadline: should it open after all, it goes straight back to the pool.
            _ = opening.ContinueWith(
                static (opened, _) => opened.Result.DisposeAsync(),
                null,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
            throw;
        }

        try
        {
            // Npgsql sends BEGIN with the first statement: nothing to wait for here.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            return new UnitOfWork(dataSource, connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        // Until COMMIT is sent nothing can have been stored, so a broken connection there is safe to retry.
        await RunAsync(_products.FlushAsync(cancellationToken), cancellationToken);
        await RunAsync(_transaction.CommitAsync(cancellationToken), cancellationToken, committing: true);
    }

    public ValueTask DisposeAsync()
    {
        if (!_lastOperation.IsCompleted)
        {
            // Abandoned at the request's deadline while the database had not answered: release the
            // connection only once Npgsql is done with it (it breaks it after its own timeouts).
            _ = _lastOperation.ContinueWith(
                (_, unitOfWork) => ((UnitOfWork)unitOfWork!).ReleaseAsync(),
                this,
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }

        return ReleaseAsync();
    }

    private async ValueTask ReleaseAsync()
    {
        try
        {
            // Disposing an uncommitted transaction rolls it back; a broken connection has nothing to roll back.
            await _transaction.DisposeAsync();
        }
        catch (NpgsqlException)
        {
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }

    private Task<T> RunAsync<T>(Task<T> operation, CancellationToken cancellationToken, bool committing = false)
    {
        _lastOperation = operation;
        return StoreErrors.GuardAsync(_dataSource, operation, cancellationToken, committing);
    }

    private Task RunAsync(Task operation, CancellationToken cancellationToken, bool committing = false)
    {
        _lastOperation = operation;
        return StoreErrors.GuardAsync(_dataSource, operation, cancellationToken, committing);
    }

    /// <summary>Gives repository reads the same error translation and deadline as the commit.</summary>
    private sealed class GuardedProductRepository(UnitOfWork unitOfWork) : IProductRepository
    {
        public Task<Domain.Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
            unitOfWork.RunAsync(unitOfWork._products.GetAsync(sku, orderId, cancellationToken), cancellationToken);

        public void Add(Domain.Product product) => unitOfWork._products.Add(product);
    }
}

internal sealed class UnitOfWorkFactory(NpgsqlDataSource dataSource) : IUnitOfWorkFactory
{
    public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken) =>
        await UnitOfWork.BeginAsync(dataSource, cancellationToken);
}
