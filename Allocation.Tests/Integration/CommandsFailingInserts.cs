using Dapper;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>
/// Makes chosen inserts fail inside the database (a trigger), so that the transaction writing them rolls
/// back: an inbox key (idempotency_keys.key) or any event of a subject (outbox.subject). The SQLSTATE says
/// how the failure looks to the service: P0001 is no fault it knows (a bug), 57014 a statement the
/// database cancelled (a timeout: transient).
/// </summary>
internal sealed class CommandsFailingInserts(NpgsqlDataSource dataSource)
{
    public const string Unrecognised = "P0001";
    public const string StatementCancelled = "57014";

    public async Task InstallAsync()
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            CREATE TABLE test_failing_inserts (value text PRIMARY KEY, sqlstate char(5) NOT NULL);
            CREATE FUNCTION test_fail_chosen() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                code char(5);
            BEGIN
                SELECT sqlstate INTO code FROM test_failing_inserts WHERE value = (to_jsonb(NEW) ->> TG_ARGV[0]);
                IF code IS NOT NULL THEN
                    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = 'chosen to fail: ' || (to_jsonb(NEW) ->> TG_ARGV[0]);
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_fail_key BEFORE INSERT ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION test_fail_chosen('key');
            CREATE TRIGGER test_fail_event BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_fail_chosen('subject');
            """);
    }

    public Task FailAsync(string value, string sqlState = Unrecognised) =>
        ExecuteAsync("INSERT INTO test_failing_inserts VALUES (@value, @sqlState)", new { value, sqlState });

    public Task StopFailingAsync(string value) => ExecuteAsync("DELETE FROM test_failing_inserts WHERE value = @value", new { value });

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }
}
