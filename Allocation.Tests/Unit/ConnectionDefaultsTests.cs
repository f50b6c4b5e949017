using Allocation.Infrastructure;

namespace Allocation.Tests.Unit;

public class ConnectionDefaultsTests
{
    [Test]
    public void The_service_prepares_its_statements_and_skips_the_reset_unless_told_otherwise()
    {
        var builder = DependencyInjection.WithServiceDefaults("Host=127.0.0.1;Database=allocation");

        builder.MaxAutoPrepare.Should().Be(32);
        builder.AutoPrepareMinUsages.Should().Be(2);
        builder.NoResetOnClose.Should().BeTrue();
    }

    [Test]
    public void Settings_in_the_connection_string_win()
    {
        var builder = DependencyInjection.WithServiceDefaults("Host=127.0.0.1;Max Auto Prepare=0;No Reset On Close=false");

        builder.MaxAutoPrepare.Should().Be(0);
        builder.NoResetOnClose.Should().BeFalse();
    }
}
