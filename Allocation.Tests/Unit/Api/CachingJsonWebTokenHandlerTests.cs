using System.Security.Claims;
using System.Security.Cryptography;
using Allocation.Api.Security;
using Allocation.Tests.Support;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.Unit.Api;

/// <summary>
/// Remembering validated tokens must not accept anything full validation would refuse, not even a
/// token whose key was withdrawn since it was remembered.
/// </summary>
public class CachingJsonWebTokenHandlerTests
{
    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    private static TokenValidationParameters Trusting(byte[] key) => new()
    {
        ValidIssuer = TestTokens.Issuer,
        ValidAudience = TestTokens.Audience,
        IssuerSigningKey = new SymmetricSecurityKey(key),
        RequireExpirationTime = true,
        ClockSkew = TimeSpan.Zero,
    };

    private static string Token(byte[] key, DateTime? expires = null) => TestTokens.Mint(Scopes.All, key: key, expires: expires);

    [Test]
    public async Task A_remembered_token_is_refused_once_it_has_expired()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = Token(KeyA, DateTime.UtcNow.AddSeconds(2));
        (await handler.ValidateTokenAsync(token, Trusting(KeyA))).IsValid.Should().BeTrue();

        var expiry = new JsonWebToken(token).ValidTo;
        await Task.Delay(expiry - DateTime.UtcNow + TimeSpan.FromMilliseconds(200));

        (await handler.ValidateTokenAsync(token, Trusting(KeyA))).IsValid.Should().BeFalse();
    }

    [Test]
    public async Task The_same_claims_with_another_signature_are_not_served_from_the_cache()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = Token(KeyA);
        (await handler.ValidateTokenAsync(token, Trusting(KeyA))).IsValid.Should().BeTrue();

        // Header and payload as remembered, signed with a key the API does not trust.
        var forged = token[..(token.LastIndexOf('.') + 1)] + Token(KeyB).Split('.')[2];
        var signedWithB = new JsonWebToken(forged);
        signedWithB.EncodedPayload.Should().Be(new JsonWebToken(token).EncodedPayload);

        (await handler.ValidateTokenAsync(forged, Trusting(KeyA))).IsValid.Should().BeFalse();
    }

    [Test]
    public async Task A_withdrawn_key_is_not_honoured_from_the_cache()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var handler = new CachingJsonWebTokenHandler(clock);
        var token = Token(KeyA);
        (await handler.ValidateTokenAsync(token, Trusting(KeyA))).IsValid.Should().BeTrue();

        // Key A withdrawn (the key set re-read holds only B): refused at once, well within the cache's cap.
        clock.Now += TimeSpan.FromSeconds(1);
        (await handler.ValidateTokenAsync(token, Trusting(KeyB))).IsValid.Should().BeFalse();
    }

    [Test]
    public async Task A_remembered_token_answers_from_the_cache_while_its_key_is_trusted_until_the_cap()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var handler = new CachingJsonWebTokenHandler(clock);
        var token = Token(KeyA);
        var key = new SymmetricSecurityKey(KeyA);
        var parameters = Trusting(KeyA);
        parameters.IssuerSigningKey = key;
        var original = await handler.ValidateTokenAsync(token, parameters);
        original.IsValid.Should().BeTrue();

        // The same key material, read anew (another instance): still trusted, from the cache.
        var first = await handler.ValidateTokenAsync(token, Trusting(KeyA));
        var again = await handler.ValidateTokenAsync(token, parameters);
        first.SecurityToken.Should().BeSameAs(original.SecurityToken, "served from the cache, not validated anew");
        again.SecurityToken.Should().BeSameAs(original.SecurityToken);

        clock.Now += CachingJsonWebTokenHandler.MaxAge;
        (await handler.ValidateTokenAsync(token, parameters)).SecurityToken.Should().NotBeSameAs(original.SecurityToken, "past the cap it is validated anew");
    }

    [Test]
    public async Task A_refusal_is_not_remembered()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = Token(KeyA);

        (await handler.ValidateTokenAsync(token, Trusting(KeyB))).IsValid.Should().BeFalse();
        (await handler.ValidateTokenAsync(token, Trusting(KeyA))).IsValid.Should().BeTrue();
    }

    [Test]
    public async Task Every_request_gets_an_identity_of_its_own()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = Token(KeyA);
        var first = await handler.ValidateTokenAsync(token, Trusting(KeyA));
        var second = await handler.ValidateTokenAsync(token, Trusting(KeyA));

        first.ClaimsIdentity.AddClaim(new Claim("added-by", "first request"));

        second.IsValid.Should().BeTrue();
        second.ClaimsIdentity.Should().NotBeSameAs(first.ClaimsIdentity);
        second.ClaimsIdentity.FindFirst("added-by").Should().BeNull();
        second.ClaimsIdentity.FindFirst("scope")!.Value.Should().Be(string.Join(' ', Scopes.All));
        second.SecurityToken.Should().BeOfType<JsonWebToken>().Which.ValidTo.Should().Be(new JsonWebToken(token).ValidTo);
    }

    [Test]
    public async Task When_full_of_live_tokens_it_remembers_no_more()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var handler = new CachingJsonWebTokenHandler(clock, capacity: 2);
        var tokens = new[] { Token(KeyA), Token(KeyA, DateTime.UtcNow.AddHours(2)), Token(KeyA, DateTime.UtcNow.AddHours(3)) };
        var first = new List<Microsoft.IdentityModel.Tokens.SecurityToken>();
        foreach (var token in tokens)
        {
            var result = await handler.ValidateTokenAsync(token, Trusting(KeyA));
            result.IsValid.Should().BeTrue();
            first.Add(result.SecurityToken);
        }

        // Only what was remembered is answered from the cache (the very token it validated); the third is validated anew.
        (await handler.ValidateTokenAsync(tokens[0], Trusting(KeyA))).SecurityToken.Should().BeSameAs(first[0]);
        (await handler.ValidateTokenAsync(tokens[1], Trusting(KeyA))).SecurityToken.Should().BeSameAs(first[1]);
        (await handler.ValidateTokenAsync(tokens[2], Trusting(KeyA))).SecurityToken.Should().NotBeSameAs(first[2]);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
