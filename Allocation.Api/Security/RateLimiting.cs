using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Allocation.Api.Errors;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Allocation.Api.Security;

/// <summary>Per-caller limits on the API's resources (<see cref="RateLimitOptions"/>), answered with 429 and Retry-After.</summary>
internal static class RateLimiting
{
    public const string PolicyName = "per-caller";

    public static IServiceCollection AddAllocationRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        // Bound once and validated as the host starts (ValidateOnStart); the limiter reads the validated settings.
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptions.Validator>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((limiter, limits) =>
        {
            var options = limits.Value;
            var write = BucketOptions(options.Write);
            var read = BucketOptions(options.Read);
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PolicyName, context =>
            {
                var isRead = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
                return RateLimitPartition.GetTokenBucketLimiter(
                    new Partition(isRead, CallerKey(context.User, context.Connection.RemoteIpAddress)),
                    _ => isRead ? read : write);
            });
            limiter.OnRejected = (rejection, cancellationToken) =>
                WriteTooManyRequestsAsync(rejection.HttpContext, rejection.Lease, options);
        });
        return services;
    }

    /// <summary>
    /// Who the limit is counted against: the client the token was issued to, else its subject;
    /// without a valid token, the remote address (behind a proxy, that is the proxy's).
    /// </summary>
    internal static string CallerKey(ClaimsPrincipal user, IPAddress? remoteAddress)
    {
        if (user.Identity?.IsAuthenticated == true)
        {
            var client = user.FindFirst("client_id")?.Value
                ?? user.FindFirst("azp")?.Value
                ?? user.FindFirst("sub")?.Value
                ?? user.FindFirst(ClaimTypes.NameIdentifier)?.Value;
            if (!string.IsNullOrEmpty(client))
            {
                return "client:" + client;
            }
        }

        return "address:" + (remoteAddress?.ToString() ?? "unknown");
    }

    private static TokenBucketRateLimiterOptions BucketOptions(RateLimitBucket bucket)
    {
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = bucket.PermitLimit,
            TokensPerPeriod = bucket.PermitLimit,
            ReplenishmentPeriod = bucket.Window,
            AutoReplenishment = true,
            // Refuse at once: a queued request would hold its deadline and a connection slot for nothing.
            QueueLimit = 0,
        };
    }

    private static async ValueTask WriteTooManyRequestsAsync(HttpContext context, RateLimitLease lease, RateLimitOptions options)
    {
        var isRead = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        var bucket = isRead ? options.Read : options.Write;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : bucket.Window;
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);

        await ProblemShape.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Type = ProblemTypes.TooManyRequests,
            Title = "Too many requests",
            Detail = $"This caller sent more than {bucket.PermitLimit} {(isRead ? "reads" : "writes")} per " +
                $"{bucket.Window.TotalSeconds:0.###} s to this instance. Retry after {seconds} s.",
        });
    }

    private readonly record struct Partition(bool IsRead, string Caller);
}
