using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.Support;

/// <summary>
/// The two documents an API reads from an OpenID Connect provider: the discovery document and the
/// JSON Web Key Set with the provider's RSA signing keys, served over plain HTTP on loopback. Keys
/// can be added and withdrawn, as a provider rotates them.
/// </summary>
public sealed class FakeOpenIdProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly List<RSA> _rotated = [];
    private readonly object _keysLock = new();
    private List<(string Id, RSA Key)> _published;
    private int _keySetReads;

    private FakeOpenIdProvider(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
        _published = [("provider-key-1", _rsa)];
    }

    /// <summary>How many times the key set was read.</summary>
    public int KeySetReads => Volatile.Read(ref _keySetReads);

    /// <summary>The provider's issuer, which is also its Authority.</summary>
    public string Issuer { get; }

    public SigningCredentials Credentials => new(new RsaSecurityKey(_rsa) { KeyId = "provider-key-1" }, SecurityAlgorithms.RsaSha256);

    /// <summary>Publishes a new key (beside the others) and returns credentials that sign with it.</summary>
    public SigningCredentials AddKey(string id)
    {
        var key = RSA.Create(2048);
        lock (_keysLock)
        {
            _rotated.Add(key);
            _published = [.. _published, (id, key)];
        }

        return new SigningCredentials(new RsaSecurityKey(key) { KeyId = id }, SecurityAlgorithms.RsaSha256);
    }

    /// <summary>Takes a key out of the published set (its tokens must stop being accepted).</summary>
    public void Withdraw(string id)
    {
        lock (_keysLock)
        {
            _published = [.. _published.Where(k => k.Id != id)];
        }
    }

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
            Interlocked.Increment(ref provider._keySetReads);
            List<(string Id, RSA Key)> published;
            lock (provider._keysLock)
            {
                published = provider._published;
            }

            return Results.Json(new
            {
                keys = published.Select(k => (k.Id, Parameters: k.Key.ExportParameters(includePrivateParameters: false))).Select(k => new
                {
                    kty = "RSA",
                    use = "sig",
                    alg = "RS256",
                    kid = k.Id,
                    n = Base64UrlEncoder.Encode(k.Parameters.Modulus),
                    e = Base64UrlEncoder.Encode(k.Parameters.Exponent),
                }).ToArray(),
            });
        });
        await app.StartAsync();
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _rsa.Dispose();
        foreach (var key in _rotated)
        {
            key.Dispose();
        }
    }
}
