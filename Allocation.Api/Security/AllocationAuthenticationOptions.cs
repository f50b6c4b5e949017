using Microsoft.Extensions.Options;

namespace Allocation.Api.Security;

/// <summary>
/// The service's own authentication settings (configuration section <c>Authentication</c>, beside the
/// framework's <c>Authentication:Schemes:Bearer</c>, which <see cref="AuthenticationSetup"/> checks).
/// Not <c>Microsoft.AspNetCore.Authentication.AuthenticationOptions</c>, hence the name.
/// </summary>
internal sealed class AllocationAuthenticationOptions
{
    public const string SectionName = "Authentication";

    /// <summary>Serve every endpoint without a token (a developer's machine only; a warning says so at start).</summary>
    public bool Disabled { get; set; }

    /// <summary>Leeway for clocks that disagree; ASP.NET's own 5 minutes keeps a stolen token alive too long.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the OpenID Connect provider's keys are re-read: a withdrawn key is refused within it (<see cref="ProviderKeySet"/>).</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The least time between two reads when a token names an unknown key: a new key is accepted within it.</summary>
    public TimeSpan KeyRefreshMinimumInterval { get; set; } = TimeSpan.FromSeconds(10);

    public KeyRefreshSettings KeyRefresh => new(KeyRefreshInterval, KeyRefreshMinimumInterval);

    /// <summary>Every setting out of range, each named by its key, refuses the start (ValidateOnStart).</summary>
    internal sealed class Validator : IValidateOptions<AllocationAuthenticationOptions>
    {
        public ValidateOptionsResult Validate(string? name, AllocationAuthenticationOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var failures = new List<string>();
            void Require(bool valid, string key, string rule)
            {
                if (!valid)
                {
                    failures.Add($"{SectionName}:{key} {rule}.");
                }
            }

            // TokenValidationParameters.ClockSkew throws on a negative leeway, but only when a request first builds the bearer options, not at start.
            Require(options.ClockSkew >= TimeSpan.Zero, nameof(ClockSkew), "must not be negative");
            // A second is the least that keeps a flood of tokens naming unknown keys from becoming a flood at the provider;
            // a day the most that still lets a withdrawn key die the same day.
            Require(options.KeyRefreshInterval <= TimeSpan.FromDays(1), nameof(KeyRefreshInterval), "must be at most 1 day");
            Require(options.KeyRefreshMinimumInterval >= TimeSpan.FromSeconds(1), nameof(KeyRefreshMinimumInterval), "must be at least 1 s");
            Require(
                options.KeyRefreshMinimumInterval <= options.KeyRefreshInterval,
                nameof(KeyRefreshMinimumInterval),
                $"must be at most {SectionName}:{nameof(KeyRefreshInterval)}");
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
