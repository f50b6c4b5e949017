using System.Data;
using Allocation.Application;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>One pooled connection and one READ COMMITTED transaction for one use case.</summary>
internal sealed class UnitOfWork : IUnitOfWork
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly DapperProductRepository _products;

    private UnitOfWork(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
        _products = new DapperProductRepository(connection, transaction);
        Products = new GuardedProductRepository(_products);
    }

    public IProductRepository Products { get; }

    public static async Task<UnitOfWork> BeginAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var connection = await PostgresErrors.Guard(() => dataSource.OpenConnectionAsync(cancellationToken).AsTask());
        try
        {
            var transaction = await PostgresErrors.Guard(
                () => connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).AsTask());
            return new UnitOfWork(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public Task CommitAsync(CancellationToken cancellationToken) =>
        PostgresErrors.Guard(async () =>
        {
            await _products.FlushAsync(cancellationToken);
            await _transaction.CommitAsync(cancellationToken);
        });

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
    private sealed class GuardedProductRepository(DapperProductRepository inner) : IProductRepository
    {
        public Task<Domain.Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
            PostgresErrors.Guard(() => inner.GetAsync(sku, orderId, cancellationToken));

        public void Add(Domain.Product product) => inner.Add(product);
    }
}

internal sealed class UnitOfWorkFactory(NpgsqlDataSource dataSource) : IUnitOfWorkFactory
{
    public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken) =>
        await UnitOfWork.BeginAsync(dataSource, cancellationToken);
}
