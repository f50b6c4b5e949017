using Allocation.Infrastructure;

namespace Allocation.Tests.Unit;

public class ConnectionDefaultsTests
{
    [Test]
    public void A_fleet_friendly_pool_and_deadlines_inside_the_request_timeout_unless_told_otherwise()
    {
        var builder = ConnectionDefaults.Apply("Host=127.0.0.1;Database=allocation", processorCount: 2);

        builder.MaxPoolSize.Should().Be(8, "2 × cores + 4");
        builder.ConnectionIdleLifetime.Should().Be(30);
        builder.Timeout.Should().Be(5, "waiting to open or for a pooled connection stays inside the 10 s request deadline");
        builder.CommandTimeout.Should().Be(5);
        builder.CancellationTimeout.Should().Be(1000);
        builder.MaxAutoPrepare.Should().Be(32);
        builder.AutoPrepareMinUsages.Should().Be(2);
        builder.NoResetOnClose.Should().BeTrue();
    }

    [TestCase(1, 6)]
    [TestCase(4, 12)]
    public void The_pool_grows_with_the_cores_of_the_host(int cores, int expected) =>
        ConnectionDefaults.Apply("Host=127.0.0.1", cores).MaxPoolSize.Should().Be(expected);

    [Test]
    public void Settings_in_the_connection_string_win_under_any_of_their_names()
    {
        var builder = ConnectionDefaults.Apply(
            "Host=127.0.0.1;MaxPoolSize=40;Connection Idle Lifetime=300;timeout=15;Command Timeout=30;" +
            "Cancellation Timeout=-1;Max Auto Prepare=0;No Reset On Close=false",
            processorCount: 2);

        builder.MaxPoolSize.Should().Be(40);
        builder.ConnectionIdleLifetime.Should().Be(300);
        builder.Timeout.Should().Be(15);
        builder.CommandTimeout.Should().Be(30);
        builder.CancellationTimeout.Should().Be(-1);
        builder.MaxAutoPrepare.Should().Be(0);
        builder.NoResetOnClose.Should().BeFalse();
    }

    [Test]
    public void Gss_encryption_is_not_probed_unless_the_connection_string_asks_for_it()
    {
        // Probing it loads libgssapi_krb5, and its absence prints a plain-text line into the JSON log.
        ConnectionDefaults.Apply("Host=127.0.0.1", 2).GssEncryptionMode.Should().Be(Npgsql.GssEncryptionMode.Disable);
        ConnectionDefaults.Apply("Host=127.0.0.1;Gss Encryption Mode=Prefer", 2).GssEncryptionMode
            .Should().Be(Npgsql.GssEncryptionMode.Prefer);
        new Npgsql.NpgsqlConnectionStringBuilder(ConnectionDefaults.WithoutGssProbe("Host=127.0.0.1;Command Timeout=0"))
            .Should().BeEquivalentTo(new { GssEncryptionMode = Npgsql.GssEncryptionMode.Disable, CommandTimeout = 0, MaxPoolSize = 100 },
                "the migrations keep their own settings, only without the probe");
        new Npgsql.NpgsqlConnectionStringBuilder(ConnectionDefaults.WithoutGssProbe("Host=127.0.0.1;Gss Encryption Mode=Require"))
            .GssEncryptionMode.Should().Be(Npgsql.GssEncryptionMode.Require);
    }
}
