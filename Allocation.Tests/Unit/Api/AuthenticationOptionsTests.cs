using Allocation.Api.Security;

namespace Allocation.Tests.Unit.Api;

/// <summary>The rules on Authentication:* (the process-level refusals are in AuthenticationConfigurationTests).</summary>
public class AuthenticationOptionsTests
{
    private static IEnumerable<string> Failures(AllocationAuthenticationOptions options) =>
        new AllocationAuthenticationOptions.Validator().Validate(null, options).Failures ?? [];

    [Test]
    public void The_defaults_pass() => Failures(new()).Should().BeEmpty();

    [Test]
    public void The_bounds_themselves_pass() =>
        Failures(new() { ClockSkew = TimeSpan.Zero, KeyRefreshInterval = TimeSpan.FromDays(1), KeyRefreshMinimumInterval = TimeSpan.FromSeconds(1) })
            .Should().BeEmpty();

    [Test]
    public void A_minimum_interval_longer_than_the_refresh_interval_is_refused_naming_both_keys() =>
        Failures(new() { KeyRefreshInterval = TimeSpan.FromSeconds(30), KeyRefreshMinimumInterval = TimeSpan.FromMinutes(1) })
            .Should().Equal("Authentication:KeyRefreshMinimumInterval must be at most Authentication:KeyRefreshInterval.");

    [Test]
    public void Every_rule_broken_is_named() =>
        Failures(new() { ClockSkew = TimeSpan.FromSeconds(-1), KeyRefreshInterval = TimeSpan.FromDays(2), KeyRefreshMinimumInterval = TimeSpan.FromMilliseconds(100) })
            .Should().Equal(
                "Authentication:ClockSkew must not be negative.",
                "Authentication:KeyRefreshInterval must be at most 1 day.",
                "Authentication:KeyRefreshMinimumInterval must be at least 1 s.");
}
