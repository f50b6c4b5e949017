using Allocation.Infrastructure;
using Allocation.Infrastructure.Messaging.Commands;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Integration;

/// <summary>How AddCommandConsumer validates Events:Commands: as the host starts, with or without a broker.</summary>
public class CommandConsumerRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddLogging()
            .AddCommandConsumer(configuration)
            .BuildServiceProvider();
    }

    [TestCase("Events:Commands:Prefetch", "0", "Events:Commands:Prefetch must be at least 1.")]
    [TestCase("Events:Commands:MaxDeliveries", "1", "Events:Commands:MaxDeliveries must be between 2 and 1000.")]
    [TestCase("Events:Commands:AttemptTimeout", "00:00:00", "Events:Commands:AttemptTimeout must be positive.")]
    [TestCase("Events:Commands:FirstRetryDelay", "-00:00:01", "Events:Commands:FirstRetryDelay must be positive.")]
    [TestCase("Events:Commands:LongestRetryDelay", "00:00:00.100", "Events:Commands:LongestRetryDelay must be at least Events:Commands:FirstRetryDelay.")]
    public async Task Settings_out_of_range_stop_the_start_and_name_the_key_even_without_a_broker(string key, string value, string message)
    {
        // No broker: the consumer is not registered, yet its settings are still checked (ValidateOnStart).
        await using var services = Build(new() { [key] = value });
        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal(message);
    }

    [Test]
    public async Task The_defaults_pass()
    {
        await using var services = Build([]);

        services.GetRequiredService<IStartupValidator>().Validate();
        services.GetRequiredService<IOptions<CommandConsumerOptions>>().Value.MaxDeliveries.Should().Be(10);
    }
}
