using System.Net.Http.Headers;
using System.Security.Cryptography;
using Allocation.Api.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.Support;

/// <summary>
/// The suite's token issuer: a signing key of its own (new each run), given to every test API in
/// the shape <c>dotnet user-jwts</c> writes, and tokens minted with it. Clients of test APIs send
/// <see cref="AllScopes"/> unless a test says otherwise.
/// </summary>
public static class TestTokens
{
    public const string Issuer = "allocation-tests";
    public const string Audience = "allocation";

    private static readonly JsonWebTokenHandler Handler = new();

    public static byte[] Key { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>A token with every scope, valid for a day: longer than any suite run.</summary>
    public static string AllScopes { get; } = Mint(Scopes.All);

    /// <summary>The API's bearer settings for <see cref="Key"/> (keys use ':'; ApiProcess turns them into '__').</summary>
    public static IReadOnlyDictionary<string, string> Settings(byte[]? key = null, string issuer = Issuer) => new Dictionary<string, string>
    {
        ["Authentication:Schemes:Bearer:ValidIssuer"] = issuer,
        ["Authentication:Schemes:Bearer:ValidAudiences:0"] = Audience,
        ["Authentication:Schemes:Bearer:SigningKeys:0:Id"] = "tests",
        ["Authentication:Schemes:Bearer:SigningKeys:0:Issuer"] = issuer,
        ["Authentication:Schemes:Bearer:SigningKeys:0:Value"] = Convert.ToBase64String(key ?? Key),
        ["Authentication:Schemes:Bearer:SigningKeys:0:Length"] = (key ?? Key).Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static AuthenticationHeaderValue Header(string token) => new("Bearer", token);

    /// <summary>An HS256 token; every part can be made wrong for the refusal tests.</summary>
    public static string Mint(
        IEnumerable<string> scopes, string issuer = Issuer, string audience = Audience, DateTime? expires = null, byte[]? key = null) =>
        Mint(scopes, issuer, audience, expires, new SigningCredentials(new SymmetricSecurityKey(key ?? Key), SecurityAlgorithms.HmacSha256));

    /// <summary>A token with any signing credentials (an RSA key, for an OpenID Connect provider), or none: <c>"alg": "none"</c>.</summary>
    public static string Mint(IEnumerable<string> scopes, string issuer, string audience, DateTime? expires, SigningCredentials? credentials)
    {
        var expiry = expires ?? DateTime.UtcNow.AddDays(1);
        var issuedAt = expiry < DateTime.UtcNow ? expiry.AddHours(-1) : DateTime.UtcNow;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = issuedAt,
            NotBefore = issuedAt,
            Expires = expiry,
            Claims = new Dictionary<string, object> { ["sub"] = "allocation-tests", ["scope"] = string.Join(' ', scopes) },
            SigningCredentials = credentials,
        });
    }
}
