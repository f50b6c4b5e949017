using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Every refusal to start ends the same way, whichever part of start-up refuses: one JSON log line
/// naming the problem, exit code 1 (<see cref="StartRefusal"/>). Refusals of authentication settings
/// are in <see cref="AuthenticationConfigurationTests"/>.
/// </summary>
[NonParallelizable]
public class StartupRefusalTests
{
    private static string Unreachable() => $"Host=127.0.0.1;Port={FreePort.Next()};Database=allocation;Username=allocation;Password=refusal-pass-31c7";

    [Test]
    public async Task Without_a_database_it_refuses_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync("", new Dictionary<string, string>(), bearer: true, "No database configured");

    [Test]
    public async Task A_contention_budget_past_the_deadline_is_refused_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync(
            Unreachable(), new Dictionary<string, string> { ["Limits:RequestTimeout"] = "00:00:02" }, bearer: true, "must be shorter than Limits:RequestTimeout");

    [Test]
    public async Task An_options_validation_failure_at_start_is_refused_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync(
            Unreachable(),
            new Dictionary<string, string> { ["Idempotency:Retention"] = "-00:00:01", ["Database:MigrateOnStartup"] = "false" },
            bearer: true,
            "Idempotency:Retention");

    [Test]
    public async Task A_command_consumer_setting_out_of_range_is_refused_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync(
            Unreachable(),
            new Dictionary<string, string> { ["Events:Commands:MaxDeliveries"] = "1", ["Database:MigrateOnStartup"] = "false" },
            bearer: true,
            "Events:Commands:MaxDeliveries must be between 2 and 1000.");

    [Test]
    public async Task A_rate_limit_out_of_range_is_refused_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync(
            Unreachable(),
            new Dictionary<string, string> { ["RateLimits:Write:PermitLimit"] = "0", ["Database:MigrateOnStartup"] = "false" },
            bearer: true,
            "RateLimits:Write:PermitLimit must be at least 1.");

    [Test]
    public async Task A_metrics_port_out_of_range_is_refused_on_one_line_with_exit_code_1() =>
        await StartRefusal.AssertRefusedAsync(
            Unreachable(),
            new Dictionary<string, string> { ["Metrics:Port"] = "70000", ["Database:MigrateOnStartup"] = "false" },
            bearer: true,
            "Metrics:Port must be a TCP port (1-65535), not 70000.");

    [Test]
    public async Task A_hosted_service_that_cannot_start_is_refused_on_one_line_with_exit_code_1()
    {
        var connectionString = Unreachable();

        var message = await StartRefusal.AssertRefusedAsync(
            connectionString, new Dictionary<string, string> { ["Database:StartupWaitLimit"] = "00:00:01" }, bearer: true, "127.0.0.1");

        message.Should().NotContain("refusal-pass-31c7");
    }
}
