using System.Net.Sockets;
using Allocation.Application;
using Allocation.Infrastructure.Persistence;
using Npgsql;

namespace Allocation.Tests.Unit;

/// <summary>The SQLSTATE table, row by row, and what each outcome becomes for the application.</summary>
public class StoreErrorsTests
{
    [TestCase("08000", nameof(StoreOutcome.BrokenConnection), TestName = "08000 connection exception")]
    [TestCase("08006", nameof(StoreOutcome.BrokenConnection), TestName = "08006 connection failure")]
    [TestCase("08001", nameof(StoreOutcome.BrokenConnection), TestName = "08001 unable to establish")]
    [TestCase("28P01", nameof(StoreOutcome.Unavailable), TestName = "28P01 password rotated")]
    [TestCase("3D000", nameof(StoreOutcome.Unavailable), TestName = "3D000 database missing")]
    [TestCase("53300", nameof(StoreOutcome.Unavailable), TestName = "53300 too many connections")]
    [TestCase("53100", nameof(StoreOutcome.Unavailable), TestName = "53100 disk full")]
    [TestCase("53200", nameof(StoreOutcome.Unavailable), TestName = "53200 out of memory")]
    [TestCase("57P01", nameof(StoreOutcome.BrokenConnection), TestName = "57P01 admin shutdown or terminated backend")]
    [TestCase("57P02", nameof(StoreOutcome.Unavailable), TestName = "57P02 crash shutdown")]
    [TestCase("57P03", nameof(StoreOutcome.Unavailable), TestName = "57P03 cannot connect now")]
    [TestCase("57P04", nameof(StoreOutcome.Unavailable), TestName = "57P04 database dropped")]
    [TestCase("57P05", nameof(StoreOutcome.BrokenConnection), TestName = "57P05 idle session timeout")]
    [TestCase("25P03", nameof(StoreOutcome.BrokenConnection), TestName = "25P03 idle in transaction timeout")]
    [TestCase("25P04", nameof(StoreOutcome.BrokenConnection), TestName = "25P04 transaction timeout")]
    [TestCase("58030", nameof(StoreOutcome.Unavailable), TestName = "58030 I/O error")]
    [TestCase("25006", nameof(StoreOutcome.ReadOnly), TestName = "25006 read-only transaction")]
    [TestCase("40001", nameof(StoreOutcome.Conflict), TestName = "40001 serialization failure")]
    [TestCase("40P01", nameof(StoreOutcome.Conflict), TestName = "40P01 deadlock")]
    [TestCase("55P03", nameof(StoreOutcome.Conflict), TestName = "55P03 lock timeout")]
    [TestCase("57014", nameof(StoreOutcome.Timeout), TestName = "57014 statement timeout or cancel")]
    [TestCase("23505", nameof(StoreOutcome.Unrecognised), TestName = "23505 unique violation is a bug, not a fault")]
    [TestCase("23514", nameof(StoreOutcome.Unrecognised), TestName = "23514 check violation is a bug, not a fault")]
    [TestCase("42P01", nameof(StoreOutcome.Unrecognised), TestName = "42P01 undefined table is a bug")]
    [TestCase("22021", nameof(StoreOutcome.Unrecognised), TestName = "22021 bad encoding is a bug")]
    [TestCase("25P02", nameof(StoreOutcome.Unrecognised), TestName = "25P02 aborted transaction is a bug")]
    public void Every_sqlstate_has_an_outcome(string sqlState, string expected) =>
        StoreErrors.Classify(Postgres(sqlState)).ToString().Should().Be(expected);

    [Test]
    public void Every_row_of_the_table_is_a_sqlstate_or_a_class() =>
        StoreErrors.SqlStates.Keys.Should().OnlyContain(k => k.Length == 2 || k.Length == 5);

    [Test]
    public void Driver_failures_without_a_sqlstate_are_classified_too()
    {
        StoreErrors.Classify(new NpgsqlException("pool exhausted", new TimeoutException())).Should().Be(StoreOutcome.Unavailable);
        StoreErrors.Classify(new NpgsqlException("reading", new EndOfStreamException())).Should().Be(StoreOutcome.BrokenConnection);
        StoreErrors.Classify(new NpgsqlException("connect", new SocketException((int)SocketError.ConnectionRefused)))
            .Should().Be(StoreOutcome.BrokenConnection);
        StoreErrors.Classify(new InvalidOperationException("a bug")).Should().Be(StoreOutcome.Unrecognised);
    }

    [Test]
    public void Outcomes_become_the_applications_exceptions()
    {
        StoreErrors.Translate(Postgres("40P01")).Should().BeOfType<ConcurrencyConflict>();
        StoreErrors.Translate(Postgres("53300")).Should().BeOfType<StoreUnavailable>().Which.RetryAtOnce.Should().BeFalse();
        StoreErrors.Translate(Postgres("25006")).Should().BeOfType<StoreUnavailable>().Which.RetryAtOnce.Should().BeFalse();
        StoreErrors.Translate(Postgres("57014")).Should().BeOfType<StoreUnavailable>().Which.RetryAtOnce.Should().BeFalse();
        StoreErrors.Translate(Postgres("23505")).Should().BeNull();
    }

    [Test]
    public void A_broken_connection_is_retried_at_once_only_when_no_commit_was_in_flight()
    {
        StoreErrors.Translate(Postgres("57P05")).Should().BeOfType<StoreUnavailable>().Which.RetryAtOnce.Should().BeTrue();
        StoreErrors.Translate(Postgres("57P05"), committing: true).Should().BeOfType<StoreUnavailable>()
            .Which.RetryAtOnce.Should().BeFalse("the commit may have been stored");
    }

    [Test]
    public void Npgsqls_multi_host_errors_mean_no_writable_primary_and_are_waited_for()
    {
        var skipped = new NpgsqlException("No suitable host was found.");
        var failed = new NpgsqlException(
            "Unable to connect to a suitable host. Check inner exception for more details.",
            new AggregateException(new NpgsqlException("connect", new SocketException((int)SocketError.ConnectionRefused))));

        StoreErrors.Classify(skipped).Should().Be(StoreOutcome.NoWritablePrimary);
        StoreErrors.Classify(failed).Should().Be(StoreOutcome.NoWritablePrimary);
        StoreErrors.Translate(skipped).Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Unavailable);
        StoreErrors.Translate(failed).Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Unavailable);
    }

    [Test]
    public void Each_fault_says_whether_waiting_can_mend_it()
    {
        StoreErrors.Translate(Postgres("25006")).Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Unavailable);
        StoreErrors.Translate(Postgres("57P03")).Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Unavailable);
        StoreErrors.Translate(Postgres("57014")).Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Timeout);
        StoreErrors.Translate(new NpgsqlException("pool exhausted", new TimeoutException()))
            .Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Timeout, "a hung server is not waited for twice");
        StoreErrors.Translate(Postgres("57P01"), committing: true)
            .Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.OutcomeUnknown);
        StoreErrors.Translate(Postgres("57P02"), committing: true)
            .Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.OutcomeUnknown);
        StoreErrors.Translate(Postgres("25006"), committing: true)
            .Should().BeOfType<StoreUnavailable>().Which.Fault.Should().Be(StoreFault.Unavailable, "a refused statement stored nothing");
    }

    private static PostgresException Postgres(string sqlState) =>
        new("message", "ERROR", "ERROR", sqlState);
}
