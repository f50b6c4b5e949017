using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Allocation.Api.Security;

/// <summary>
/// The OpenID Connect provider's metadata and signing keys, re-read on the service's own schedule
/// instead of Microsoft.IdentityModel's (every 12 hours plus up to an hour of jitter, not below 5
/// minutes, and at most once per 5 minutes when a token names a key it does not know). Here:
/// <list type="bullet">
/// <item>every <see cref="KeyRefreshSettings.RefreshInterval"/>, so that a key the provider withdrew stops
/// being accepted within that time (the token cache checks the key set too: <see cref="CachingJsonWebTokenHandler"/>);</item>
/// <item>when a token is signed by a key not in the set (a rotation), at most once per
/// <see cref="KeyRefreshSettings.MinimumInterval"/>, so that a second rotation soon after the first
/// is picked up within that time, while tokens naming made-up keys cannot make it hammer the provider.</item>
/// </list>
/// The read happens on the request that finds the set due, so the next token is checked against what
/// the provider publishes now, not what a background refresh may fetch later. When the provider cannot
/// be reached, the keys last read stay in use (refusing every token would turn its outage into ours),
/// and it is asked again after the minimum interval. There is no "last known good" configuration
/// beyond that: this is not a <c>BaseConfigurationManager</c>, so token validation never falls back to one.
/// </summary>
internal sealed partial class ProviderKeySet(
    string metadataAddress, IDocumentRetriever documents, KeyRefreshSettings settings, TimeProvider time, ILogger<ProviderKeySet> logger)
    : IConfigurationManager<OpenIdConnectConfiguration>, IDisposable
{
    private readonly SemaphoreSlim _reading = new(1, 1);
    private OpenIdConnectConfiguration? _current;
    private DateTimeOffset _readAt;
    private volatile bool _unknownKeySeen;

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        if (_current is { } current && !IsDue(time.GetUtcNow()))
        {
            return current;
        }

        await _reading.WaitAsync(cancel);
        try
        {
            var now = time.GetUtcNow();
            if (_current is not null && !IsDue(now))
            {
                return _current;
            }

            try
            {
                // Not the request's token: one read serves every request waiting for it.
                _current = await OpenIdConnectConfigurationRetriever.GetAsync(metadataAddress, documents, CancellationToken.None);
                _readAt = now;
                _unknownKeySeen = false;
            }
            catch (Exception error) when (_current is not null)
            {
                // Keep the keys last read; ask again after the minimum interval rather than on every request.
                _readAt = now - settings.RefreshInterval + settings.MinimumInterval;
                _unknownKeySeen = false;
                LogUnreachable(logger, metadataAddress, settings.MinimumInterval.TotalSeconds, error.Message);
            }

            return _current;
        }
        finally
        {
            _reading.Release();
        }
    }

    public void Dispose() => _reading.Dispose();

    /// <summary>Called by the bearer handler when a token is signed by a key that is not in the set.</summary>
    public void RequestRefresh() => _unknownKeySeen = true;

    private bool IsDue(DateTimeOffset now) =>
        now >= _readAt + settings.RefreshInterval || (_unknownKeySeen && now >= _readAt + settings.MinimumInterval);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning,
        Message = "The identity provider's metadata at {Address} could not be read; the keys read before stay in use, and it is asked again in {RetrySeconds:0.#} s ({Reason})")]
    private static partial void LogUnreachable(ILogger logger, string address, double retrySeconds, string reason);
}

/// <summary>
/// How often the OpenID Connect provider's keys are re-read: <c>Authentication:KeyRefreshInterval</c>
/// (a withdrawn key is refused within it) and <c>Authentication:KeyRefreshMinimumInterval</c> (a new
/// key is accepted within it), as <see cref="AllocationAuthenticationOptions"/> validated them.
/// </summary>
internal sealed record KeyRefreshSettings(TimeSpan RefreshInterval, TimeSpan MinimumInterval);
