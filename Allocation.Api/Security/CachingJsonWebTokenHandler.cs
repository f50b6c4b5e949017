using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Api.Security;

/// <summary>
/// Remembers tokens that passed validation, by their exact text (signature included), so that a
/// client sending the same token on every request pays for parsing, the signature check and the
/// claims once instead of on every request (docs/performance.md: about a third of a read's cost
/// with a token). An entry lives until the token expires, and never longer than <see cref="MaxAge"/>;
/// and it answers only while the key that verified its signature is still among the keys the request
/// is validated with, so that a key withdrawn from the provider's key set stops being honoured as soon
/// as the service has re-read the set (<see cref="ProviderKeySet"/>), not up to <see cref="MaxAge"/> later.
/// Failures are never remembered: a refused token is checked again, in full, every time.
/// </summary>
internal sealed class CachingJsonWebTokenHandler(TimeProvider time, int capacity = CachingJsonWebTokenHandler.DefaultCapacity) : JsonWebTokenHandler
{
    public const int DefaultCapacity = 10_000;
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Validated> _validated = new(StringComparer.Ordinal);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (_validated.TryGetValue(token, out var known))
        {
            if (now < known.Until && StillTrusted(known.Token.SigningKey, validationParameters))
            {
                // A copy per request: the identity and its claims are the request's to change.
                return new TokenValidationResult
                {
                    IsValid = true,
                    ClaimsIdentity = known.Identity.Clone(),
                    SecurityToken = known.Token,
                    Issuer = known.Issuer,
                    TokenType = known.TokenType,
                };
            }

            _validated.TryRemove(new KeyValuePair<string, Validated>(token, known));
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken validated && validated.ValidTo != DateTime.MinValue)
        {
            var until = validated.ValidTo < now + MaxAge ? validated.ValidTo : now + MaxAge;
            if (until > now && HasRoom(now))
            {
                _validated[token] = new Validated(result.ClaimsIdentity.Clone(), validated, result.Issuer, result.TokenType, until);
            }
        }

        return result;
    }

    /// <summary>
    /// Whether the key that verified a remembered token is still trusted. The same instance while the
    /// key set is unchanged (the cheap check); otherwise the same key material (a re-read key set, or
    /// configuration that built its keys anew), compared by JWK thumbprint.
    /// </summary>
    private static bool StillTrusted(SecurityKey? key, TokenValidationParameters parameters)
    {
        if (key is null)
        {
            return false;
        }

        var trusted = parameters.IssuerSigningKeys ?? [];
        if (parameters.IssuerSigningKey is { } single)
        {
            trusted = trusted.Append(single);
        }

        if (trusted.Any(k => ReferenceEquals(k, key)))
        {
            return true;
        }

        if (!key.CanComputeJwkThumbprint())
        {
            return false;
        }

        var thumbprint = key.ComputeJwkThumbprint();
        return trusted.Any(k => k.CanComputeJwkThumbprint() && k.ComputeJwkThumbprint().AsSpan().SequenceEqual(thumbprint));
    }

    /// <summary>Bounded: expired entries make room; when the cache is full of live ones, new tokens are simply not remembered.</summary>
    private bool HasRoom(DateTime now)
    {
        if (_validated.Count < capacity)
        {
            return true;
        }

        foreach (var entry in _validated)
        {
            if (entry.Value.Until <= now)
            {
                _validated.TryRemove(entry);
            }
        }

        return _validated.Count < capacity;
    }

    private sealed record Validated(ClaimsIdentity Identity, JsonWebToken Token, string Issuer, string TokenType, DateTime Until);
}
