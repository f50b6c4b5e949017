using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Api.Security;

/// <summary>
/// JWT bearer authentication configured the ASP.NET way, from <c>Authentication:Schemes:Bearer</c>
/// (an OpenID Connect <c>Authority</c>, or <c>ValidIssuer</c>/<c>ValidAudiences</c>/<c>SigningKeys</c>
/// as <c>dotnet user-jwts</c> writes them), and one policy per scope that the controllers name.
/// There is no fallback policy: endpoints without <c>[Authorize]</c> (health, Swagger, metrics) stay
/// anonymous, so that probes and scrapers need no token.
/// </summary>
internal static partial class AuthenticationSetup
{
    private const string BearerSection = AllocationAuthenticationOptions.SectionName + ":Schemes:" + JwtBearerDefaults.AuthenticationScheme;

    /// <summary>HS256 refuses keys shorter than its hash: 256 bits.</summary>
    private const int MinimumKeyBytes = 32;

    public static IServiceCollection AddAllocationAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        // Bound once; validated as the host starts (ValidateOnStart), which reaches the one refusal path in Program.cs.
        services.AddOptions<AllocationAuthenticationOptions>().Bind(configuration.GetSection(AllocationAuthenticationOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AllocationAuthenticationOptions>, AllocationAuthenticationOptions.Validator>();
        // Whether there is authentication at all decides what is registered, so it is read here.
        var disabled = configuration.GetValue($"{AllocationAuthenticationOptions.SectionName}:{nameof(AllocationAuthenticationOptions.Disabled)}", false);
        services.AddSingleton(new AuthenticationMode(disabled));
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        services.AddSingleton<IAuthorizationHandler, ScopeHandler>();
        services.Configure<MvcOptions>(mvc => mvc.Conventions.Add(new AuthorizationResponses()));

        if (disabled)
        {
            // Every policy passes without a token: the controllers keep their [Authorize] and nothing else changes.
            services.AddAuthentication();
            services.AddAuthorizationBuilder().AddScopePolicies(_ => new AuthorizationPolicyBuilder().RequireAssertion(_ => true));
            return services;
        }

        var signingKeys = RefuseIncompleteConfiguration(configuration.GetSection(BearerSection));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).PostConfigure<ILoggerFactory, IOptions<AllocationAuthenticationOptions>>((bearer, logs, settings) =>
        {
            if (bearer.ConfigurationManager is not null && bearer.MetadataAddress is { Length: > 0 } metadata)
            {
                // Runs after the framework's own post-configuration, which made a ConfigurationManager with its own schedule.
                bearer.ConfigurationManager = new ProviderKeySet(
                    metadata,
                    new HttpDocumentRetriever(bearer.Backchannel) { RequireHttps = bearer.RequireHttpsMetadata },
                    settings.Value.KeyRefresh,
                    TimeProvider.System,
                    logs.CreateLogger<ProviderKeySet>());
            }

            // Claims keep their JWT names ("scope", "scp"), not the WS-Federation URIs they would be mapped to.
            bearer.MapInboundClaims = false;
            bearer.TokenHandlers.Clear();
            bearer.TokenHandlers.Add(new CachingJsonWebTokenHandler(TimeProvider.System) { MapInboundClaims = false });
            var validation = bearer.TokenValidationParameters;
            // The framework validates the issuer and audience only when they are configured; in
            // Authority mode the issuer comes from the provider's metadata, so insist on both here.
            validation.ValidateIssuer = true;
            validation.ValidateAudience = true;
            validation.ValidateLifetime = true;
            validation.RequireExpirationTime = true;
            validation.RequireSignedTokens = true; // "alg": "none" is refused
            validation.ClockSkew = settings.Value.ClockSkew;
            // Never validate with an older key set than the provider publishes now (ProviderKeySet).
            validation.ValidateWithLKG = false;
            // Built here, once: the framework hands over a lazy sequence that decodes the configuration on
            // each validation, and takes only the first key of each issuer (a second one, for a rotation,
            // would never be used).
            validation.IssuerSigningKeys = signingKeys.Count == 0 ? null : signingKeys;
        });
        services.AddAuthorizationBuilder().AddScopePolicies(scope =>
            new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(scope)));
        return services;
    }

    /// <summary>Authentication (authorization follows the rate limiter in Program.cs); a request refused by either reaches no controller and no database.</summary>
    public static WebApplication UseAllocationAuthentication(this WebApplication app)
    {
        if (app.Services.GetRequiredService<AuthenticationMode>().Disabled)
        {
            LogDisabled(app.Logger);
            // Again after the start-up banner, where an operator looks.
            app.Lifetime.ApplicationStarted.Register(() => LogDisabled(app.Logger));
        }

        // UseAuthorization follows in Program.cs, after the rate limiter.
        app.UseAuthentication();
        return app;
    }

    private static AuthorizationBuilder AddScopePolicies(this AuthorizationBuilder authorization, Func<string, AuthorizationPolicyBuilder> policy)
    {
        foreach (var scope in Scopes.All)
        {
            authorization.AddPolicy(scope, policy(scope).Build());
        }

        return authorization;
    }

    /// <summary>
    /// Secure by default: without a way to check tokens the service does not start, in any environment,
    /// nor with keys that could never validate one (each would otherwise fail on every request instead).
    /// Returns the configured signing keys.
    /// </summary>
    private static List<SecurityKey> RefuseIncompleteConfiguration(IConfigurationSection bearer)
    {
        var hasAuthority = !string.IsNullOrWhiteSpace(bearer["Authority"]) || !string.IsNullOrWhiteSpace(bearer["MetadataAddress"]);
        var keys = bearer.GetSection("SigningKeys").GetChildren().Where(k => !string.IsNullOrWhiteSpace(k["Value"])).ToList();
        const string how =
            " Set Authentication:Schemes:Bearer:Authority (an OpenID Connect provider) and :ValidAudiences, or :ValidIssuer, " +
            ":ValidAudiences and :SigningKeys (as dotnet user-jwts writes them; environment: Authentication__Schemes__Bearer__…); " +
            "scripts/run does this for a developer's machine. Only to run without any authentication, set Authentication:Disabled=true.";
        if (!hasAuthority && keys.Count == 0)
        {
            throw new InvalidOperationException("No bearer token configuration, and the service does not run unprotected by accident." + how);
        }

        var audiences = bearer.GetSection("ValidAudiences").GetChildren().Select(a => a.Value)
            .Append(bearer["ValidAudience"]).Where(a => !string.IsNullOrWhiteSpace(a));
        if (!audiences.Any())
        {
            throw new InvalidOperationException(
                "No audience configured: without one, a token the provider issued for any other API would be accepted here." + how);
        }

        var issuers = bearer.GetSection("ValidIssuers").GetChildren().Select(i => i.Value).Append(bearer["ValidIssuer"])
            .Where(i => !string.IsNullOrWhiteSpace(i)).ToHashSet(StringComparer.Ordinal);
        if (!hasAuthority && issuers.Count == 0)
        {
            throw new InvalidOperationException(
                "Signing keys are configured but no ValidIssuer: every token would be refused, as no issuer is trusted." + how);
        }

        var signingKeys = new List<SecurityKey>(keys.Count);
        foreach (var key in keys)
        {
            if (string.IsNullOrWhiteSpace(key["Issuer"]))
            {
                throw new InvalidOperationException(
                    $"The signing key {key.Path} names no Issuer: it would never be used. Set {key.Path}:Issuer to one of the ValidIssuers." + how);
            }

            if (!issuers.Contains(key["Issuer"]!))
            {
                throw new InvalidOperationException(
                    $"The signing key {key.Path} names the issuer '{key["Issuer"]}', which is not a ValidIssuer: it would never be used." + how);
            }

            // The key's value is a secret: it is named by its path, never quoted.
            var bytes = new byte[key["Value"]!.Length];
            if (!Convert.TryFromBase64String(key["Value"]!, bytes, out var length))
            {
                throw new InvalidOperationException(
                    $"The signing key {key.Path}:Value is not base64: no token could be checked with it. " +
                    "Give the key's bytes in base64, as dotnet user-jwts writes them." + how);
            }

            if (length < MinimumKeyBytes)
            {
                throw new InvalidOperationException(
                    $"The signing key {key.Path} is {length * 8} bits long; HS256 needs at least {MinimumKeyBytes * 8} " +
                    $"({MinimumKeyBytes} bytes, base64), and would refuse every token signed with it." + how);
            }

            signingKeys.Add(new SymmetricSecurityKey(bytes[..length]));
        }

        return signingKeys;
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning,
        Message = "AUTHENTICATION IS DISABLED (Authentication:Disabled=true): every endpoint answers without a token. Never run a shared or public instance like this.")]
    private static partial void LogDisabled(ILogger logger);
}

/// <summary>Whether Authentication:Disabled was set.</summary>
internal sealed record AuthenticationMode(bool Disabled);
