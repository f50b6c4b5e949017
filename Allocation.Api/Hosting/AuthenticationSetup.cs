using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Hosting;

/// <summary>
/// JWT bearer authentication configured the ASP.NET way, from <c>Authentication:Schemes:Bearer</c>
/// (an OpenID Connect <c>Authority</c>, or <c>ValidIssuer</c>/<c>ValidAudiences</c>/<c>SigningKeys</c>
/// as <c>dotnet user-jwts</c> writes them), and one policy per scope that the controllers name.
/// There is no fallback policy: endpoints without <c>[Authorize]</c> (health, Swagger, metrics) stay
/// anonymous, so that probes and scrapers need no token.
/// </summary>
internal static partial class AuthenticationSetup
{
    public const string SectionName = "Authentication";
    private const string BearerSection = SectionName + ":Schemes:" + JwtBearerDefaults.AuthenticationScheme;

    /// <summary>Default leeway for clocks that disagree; ASP.NET's own 5 minutes keeps a stolen token alive too long.</summary>
    private static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(1);

    public static IServiceCollection AddAllocationAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var disabled = configuration.GetValue($"{SectionName}:Disabled", false);
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

        RefuseIncompleteConfiguration(configuration.GetSection(BearerSection));
        var clockSkew = configuration.GetValue($"{SectionName}:ClockSkew", DefaultClockSkew);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, bearer =>
        {
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
            validation.ClockSkew = clockSkew;
            // The framework hands these over as a lazy sequence that reads configuration and builds new
            // keys on each validation; build them once.
            validation.IssuerSigningKeys = validation.IssuerSigningKeys?.ToList();
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

    /// <summary>Secure by default: without a way to check tokens the service does not start, in any environment.</summary>
    private static void RefuseIncompleteConfiguration(IConfigurationSection bearer)
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

        var issuers = bearer.GetSection("ValidIssuers").GetChildren().Select(i => i.Value).Append(bearer["ValidIssuer"]).ToHashSet(StringComparer.Ordinal);
        if (keys.Find(k => !issuers.Contains(k["Issuer"])) is { } orphan)
        {
            throw new InvalidOperationException(
                $"The signing key {orphan.Path} names the issuer '{orphan["Issuer"]}', which is not a ValidIssuer: it would never be used." + how);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning,
        Message = "AUTHENTICATION IS DISABLED (Authentication:Disabled=true): every endpoint answers without a token. Never run a shared or public instance like this.")]
    private static partial void LogDisabled(ILogger logger);
}

/// <summary>Whether Authentication:Disabled was set.</summary>
internal sealed record AuthenticationMode(bool Disabled);
