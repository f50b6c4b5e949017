using Allocation.Application.Common;
using Microsoft.Extensions.Options;

namespace Allocation.Api.Operations;

/// <summary>What one request, and the process's end, may take (configuration section <c>Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>The largest request body read; a larger one is refused with 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024;

    /// <summary>A request still running after this long is cancelled and answered 504.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stopping process lets requests in flight and background work finish.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    internal sealed class Validator : IValidateOptions<LimitsOptions>
    {
        public ValidateOptionsResult Validate(string? name, LimitsOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var failures = new List<string>();
            if (options.MaxRequestBodyBytes <= 0)
            {
                failures.Add($"{SectionName}:{nameof(MaxRequestBodyBytes)} must be positive.");
            }

            if (options.RequestTimeout <= TimeSpan.Zero)
            {
                failures.Add($"{SectionName}:{nameof(RequestTimeout)} must be positive.");
            }

            if (options.ShutdownGracePeriod < TimeSpan.Zero)
            {
                failures.Add($"{SectionName}:{nameof(ShutdownGracePeriod)} must not be negative.");
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}

/// <summary>
/// Contention must end as a retryable 409, and a failover wait as a 503, before the request deadline
/// turns either into a 504: the write retry's budgets are checked against Limits:RequestTimeout.
/// </summary>
internal sealed class ConflictRetryWithinRequestTimeout(IOptions<LimitsOptions> limits) : IValidateOptions<ConflictRetryOptions>
{
    public ValidateOptionsResult Validate(string? name, ConflictRetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var requestTimeout = limits.Value.RequestTimeout;
        return options.Budget < requestTimeout && options.FailoverWait < requestTimeout
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"ConflictRetry:Budget ({options.Budget}) and ConflictRetry:FailoverWait ({options.FailoverWait}) must be shorter " +
                $"than Limits:RequestTimeout ({requestTimeout}), so that a contended write gives up with 409, and a write that waited " +
                "for a writable primary with 503, before the request deadline answers 504.");
    }
}
