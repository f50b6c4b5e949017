using Allocation.Api.Security;

namespace Allocation.Tests.Unit.Api;

/// <summary>The rules on RateLimits:* (StartupRefusalTests shows a refusal reaching the process's one line).</summary>
public class RateLimitOptionsTests
{
    private static IEnumerable<string> Failures(RateLimitOptions options) =>
        new RateLimitOptions.Validator().Validate(null, options).Failures ?? [];

    [Test]
    public void The_defaults_pass() => Failures(new()).Should().BeEmpty();

    [Test]
    public void One_permit_per_tick_passes() =>
        Failures(new() { Write = new() { PermitLimit = 1, Window = TimeSpan.FromTicks(1) } }).Should().BeEmpty();

    [Test]
    public void Every_rule_broken_is_named_by_its_key() =>
        Failures(new()
        {
            Write = new() { PermitLimit = 0, Window = TimeSpan.FromSeconds(1) },
            Read = new() { PermitLimit = 5, Window = TimeSpan.Zero },
        }).Should().Equal("RateLimits:Write:PermitLimit must be at least 1.", "RateLimits:Read:Window must be positive.");
}
