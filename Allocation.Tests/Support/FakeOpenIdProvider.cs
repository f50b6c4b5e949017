using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.Support;

/// <summary>
/// The two documents an API reads from an OpenID Connect provider: the discovery document and the
/// JSON Web Key Set with the provider's RSA signing key, served over plain HTTP on loopback.
/// </summary>
public sealed class FakeOpenIdProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _rsa = RSA.Create(2048);

    private FakeOpenIdProvider(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
    }

    /// <summary>The provider's issuer, which is also its Authority.</summary>
    public string Issuer { get; }

    public SigningCredentials Credentials => new(new RsaSecurityKey(_rsa) { KeyId = "provider-key-1" }, SecurityAlgorithms.RsaSha256);

    public static async Task<FakeOpenIdProvider> StartAsync()
    {
        var issuer = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(issuer);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var provider = new FakeOpenIdProvider(app, issuer);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = $"{issuer}/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/jwks", () =>
        {
            var key = provider._rsa.ExportParameters(includePrivateParameters: false);
            return Results.Json(new
            {
                keys = new[]
                {
                    new { kty = "RSA", use = "sig", alg = "RS256", kid = "provider-key-1", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) },
                },
            });
        });
        await app.StartAsync();
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _rsa.Dispose();
    }
}
