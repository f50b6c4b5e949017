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
        var connection = await StoreErrors.GuardAsync(dataSource, () => dataSource.OpenConnectionAsync(cancellationToken).AsTask());
        try
        {
            var transaction = await StoreErrors.GuardAsync(
                dataSource, () => connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).AsTask());
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
        await StoreErrors.GuardAsync(_dataSource, () => _products.FlushAsync(cancellationToken));
        await StoreErrors.GuardAsync(_dataSource, () => _transaction.CommitAsync(cancellationToken), committing: true);
    }

    public async ValueTask DisposeAsync()
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

    /// <summary>Gives repository reads the same error translation as the commit.</summary>
    private sealed class GuardedProductRepository(UnitOfWork unitOfWork) : IProductRepository
    {
        public Task<Domain.Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
            StoreErrors.GuardAsync(unitOfWork._dataSource, () => unitOfWork._products.GetAsync(sku, orderId, cancellationToken));

        public void Add(Domain.Product product) => unitOfWork._products.Add(product);
    }
}

internal sealed class UnitOfWorkFactory(NpgsqlDataSource dataSource) : IUnitOfWorkFactory
{
    public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken) =>
        await UnitOfWork.BeginAsync(dataSource, cancellationToken);
}
