using Microsoft.Extensions.Options;

namespace Allocation.Api.Security;

/// <summary>
/// Per-caller request limits, per instance. A caller is one client (its token's <c>client_id</c>,
/// <c>azp</c> or <c>sub</c>), or one remote address when it sent no valid token. Reads and writes
/// have separate buckets, so a caller that floods reads can still write.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>POST and PATCH: allocate, deallocate, add and change batches.</summary>
    public RateLimitBucket Write { get; set; } = new() { PermitLimit = 10_000, Window = TimeSpan.FromSeconds(1) };

    /// <summary>GET and HEAD of the resources (not health, Swagger or metrics, which are not limited).</summary>
    public RateLimitBucket Read { get; set; } = new() { PermitLimit = 40_000, Window = TimeSpan.FromSeconds(1) };

    /// <summary>Every setting out of range, each named by its key, refuses the start (ValidateOnStart).</summary>
    internal sealed class Validator : IValidateOptions<RateLimitOptions>
    {
        public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var failures = new List<string>();
            void RequireBucket(RateLimitBucket bucket, string key)
            {
                if (bucket.PermitLimit < 1)
                {
                    failures.Add($"{SectionName}:{key}:{nameof(RateLimitBucket.PermitLimit)} must be at least 1.");
                }

                if (bucket.Window <= TimeSpan.Zero)
                {
                    failures.Add($"{SectionName}:{key}:{nameof(RateLimitBucket.Window)} must be positive.");
                }
            }

            RequireBucket(options.Write, nameof(Write));
            RequireBucket(options.Read, nameof(Read));
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}

/// <summary>
/// A token bucket: up to <see cref="PermitLimit"/> requests at once, refilled with
/// <see cref="PermitLimit"/> every <see cref="Window"/>.
/// </summary>
public sealed class RateLimitBucket
{
    public int PermitLimit { get; set; }

    public TimeSpan Window { get; set; }
}
