using Allocation.Infrastructure;
using Allocation.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Allocation.Tests.Integration;

public class MigrationTests
{
    [Test]
    public async Task Migrations_build_the_schema_from_an_empty_database_and_a_second_run_changes_nothing()
    {
        var database = await TestDatabase.SharedAsync();
        await using var store = new Store(database);

        var tables = await store.QueryAsync<string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
        tables.Should().Equal("allocations", "batches", "idempotency_keys", "order_lines", "outbox", "products", "schemaversions");

        var applied = await store.ScalarAsync<long>("SELECT count(*) FROM schemaversions");
        await new DatabaseMigrator(database.ConnectionString, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(CancellationToken.None);
        (await store.ScalarAsync<long>("SELECT count(*) FROM schemaversions")).Should().Be(applied);
        var scripts = typeof(DatabaseMigrator).Assembly.GetManifestResourceNames().Count(n => n.EndsWith(".sql", StringComparison.Ordinal));
        applied.Should().Be(scripts);
    }

    [TestCase("infinity")]
    [TestCase("-infinity")]
    public async Task The_database_refuses_an_infinite_eta(string eta)
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var sku = Unique.Sku();
        await using var connection = await store.OpenAsync();
        await using var insert = new Npgsql.NpgsqlCommand(
            "INSERT INTO products (sku) VALUES (@sku); INSERT INTO batches (reference, sku, purchased_quantity, eta) VALUES (@sku, @sku, 1, @eta::date)",
            connection);
        insert.Parameters.AddWithValue("sku", sku);
        insert.Parameters.AddWithValue("eta", eta);

        var act = () => insert.ExecuteNonQueryAsync();

        (await act.Should().ThrowAsync<Npgsql.PostgresException>()).Which.ConstraintName.Should().Be("batches_eta_finite");
    }

    [TestCase("SELECT * FROM batches WHERE sku = 'x'", "batches_sku_idx")]
    [TestCase("SELECT * FROM batches WHERE reference = 'x'", "batches_reference_key")]
    [TestCase("SELECT * FROM order_lines WHERE orderid = 'x'", "order_lines_orderid_sku_key")]
    [TestCase("SELECT * FROM order_lines WHERE orderid = 'x' AND sku = 'y'", "order_lines_orderid_sku_key")]
    [TestCase("SELECT * FROM allocations WHERE batch_id = 1", "allocations_batch_id_idx")]
    [TestCase("SELECT * FROM products WHERE sku = 'x'", "products_pkey")]
    public async Task Every_lookup_has_an_index(string query, string index)
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        await using var connection = await store.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // Tables this small would be scanned anyway; forbid scans to see whether an index can serve the lookup.
        await using (var noScans = new Npgsql.NpgsqlCommand("SET LOCAL enable_seqscan = off", connection, transaction))
        {
            await noScans.ExecuteNonQueryAsync();
        }

        await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN " + query, connection, transaction);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        string.Join('\n', plan).Should().Contain(index).And.NotContain("Seq Scan");
    }
}
