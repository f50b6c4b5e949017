using Allocation.Application;
using Allocation.Application.Idempotency;
using Allocation.Domain;
using Allocation.Tests.Support;

namespace Allocation.Tests.Integration;

/// <summary>The Idempotency-Key row on PostgreSQL: written by the change's own transaction, or not at all.</summary>
public class IdempotencyRecordTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly byte[] Fingerprint = [7, 7, 7];

    private static async Task<string> AddProductAsync(Store store, string sku)
    {
        var batch = Unique.BatchRef();
        await using var uow = await store.UnitsOfWork.BeginAsync(None);
        var product = new Product(sku, []);
        uow.Products.Add(product);
        product.AddBatch(new Batch(batch, sku, 10, eta: null));
        await uow.CommitAsync(None);
        return batch;
    }

    private static Task<long> KeysAsync(Store store, string key) =>
        store.ScalarAsync<long>("SELECT count(*) FROM idempotency_keys WHERE key = @key", new { key });

    [Test]
    public async Task The_key_is_stored_with_the_change_and_read_back_by_the_next_claim()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, orderId, key) = (Unique.Sku(), Unique.OrderId(), Unique.OrderId("key"));
        await AddProductAsync(store, sku);

        await using (var uow = await store.UnitsOfWork.BeginAsync(None))
        {
            (await uow.Idempotency.ClaimAsync("client:it", key, None)).Should().BeNull("the key is new");
            (await uow.Products.GetAsync(sku, orderId, None))!.Allocate(new OrderLine(orderId, sku, 2));
            uow.Idempotency.Record("client:it", key, Fingerprint, "\"answer\"");
            await uow.CommitAsync(None);
        }

        await using var next = await store.UnitsOfWork.BeginAsync(None);
        var stored = await next.Idempotency.ClaimAsync("client:it", key, None);
        stored.Should().NotBeNull();
        stored!.Answer.Should().Be("\"answer\"");
        stored.Fingerprint.ToArray().Should().Equal(Fingerprint);
        (await next.Idempotency.ClaimAsync("client:other", key, None)).Should().BeNull("another caller's key is another key");
    }

    [Test]
    public async Task A_commit_that_fails_stores_no_key()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, orderId, rival, key) = (Unique.Sku(), Unique.OrderId(), Unique.OrderId("rival"), Unique.OrderId("key"));
        await AddProductAsync(store, sku);

        await using (var uow = await store.UnitsOfWork.BeginAsync(None))
        {
            await uow.Idempotency.ClaimAsync("client:it", key, None);
            (await uow.Products.GetAsync(sku, orderId, None))!.Allocate(new OrderLine(orderId, sku, 2));
            uow.Idempotency.Record("client:it", key, Fingerprint, "\"answer\"");
            // A rival moves the product on after it was read: this commit loses the version check.
            await using (var other = await store.UnitsOfWork.BeginAsync(None))
            {
                (await other.Products.GetAsync(sku, rival, None))!.Allocate(new OrderLine(rival, sku, 1));
                await other.CommitAsync(None);
            }

            var commit = () => uow.CommitAsync(None);
            await commit.Should().ThrowAsync<ConcurrencyConflict>();
        }

        (await KeysAsync(store, key)).Should().Be(0, "a key exists exactly when its change committed");
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
    }

    [Test]
    public async Task A_key_is_held_by_its_transaction_until_it_ends()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var key = Unique.OrderId("key");

        await using (var holder = await store.UnitsOfWork.BeginAsync(None))
        {
            await holder.Idempotency.ClaimAsync("client:it", key, None);
            await using var second = await store.UnitsOfWork.BeginAsync(None);
            var claim = () => second.Idempotency.ClaimAsync("client:it", key, None);
            await claim.Should().ThrowAsync<IdempotencyKeyInUse>();
        }

        await using var afterwards = await store.UnitsOfWork.BeginAsync(None);
        (await afterwards.Idempotency.ClaimAsync("client:it", key, None)).Should().BeNull("the holder rolled back: no key, and free again");
    }
}
