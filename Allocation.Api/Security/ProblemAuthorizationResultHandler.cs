using Allocation.Api.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Api.Security;

/// <summary>
/// Answers a refused request with a problem, like every other error: 401 with
/// <c>WWW-Authenticate: Bearer</c> (and <c>error="invalid_token"</c> for a bad token) when there is no
/// valid token, 403 naming the missing scope when the token lacks it (RFC 6750 §3). It runs before
/// model binding, so a refused request's body is never read and nothing reaches the database.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        var scopes = policy.Requirements.OfType<ScopeRequirement>().Select(r => r.Scope).ToList();
        if (authorizeResult.Challenged)
        {
            // The bearer handler sets 401 and WWW-Authenticate (with the error, for a token it refused).
            await context.ChallengeAsync(JwtBearerDefaults.AuthenticationScheme);
            var failure = (await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme)).Failure;
            await WriteAsync(context, StatusCodes.Status401Unauthorized, ProblemTypes.Unauthenticated, "Authentication required",
                scopes.Count == 0 ? $"{Explain(failure)} This request needs a bearer token."
                    : $"{Explain(failure)} This request needs a bearer token with the scope {string.Join(", ", scopes)}.", scopes);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().Select(r => r.Scope).ToList() ?? scopes;
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers.WWWAuthenticate = $"Bearer error=\"insufficient_scope\", scope=\"{string.Join(' ', missing)}\"";
            await WriteAsync(context, StatusCodes.Status403Forbidden, ProblemTypes.InsufficientScope, "Insufficient scope",
                $"The token does not grant the scope this request needs: {string.Join(", ", missing)}.", missing);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    /// <summary>Why a token was refused, in words a client can act on (the library's own messages hide the details).</summary>
    private static string Explain(Exception? failure) => (failure is AggregateException { InnerExceptions.Count: > 0 } all ? all.InnerExceptions[0] : failure) switch
    {
        null => "No bearer token was sent (Authorization: Bearer <token>).",
        SecurityTokenExpiredException => "The bearer token has expired.",
        SecurityTokenNotYetValidException => "The bearer token is not valid yet.",
        SecurityTokenNoExpirationException => "The bearer token has no expiry time.",
        SecurityTokenInvalidIssuerException => "The bearer token's issuer is not trusted.",
        SecurityTokenInvalidAudienceException => "The bearer token is meant for another audience.",
        SecurityTokenInvalidSignatureException => "The bearer token's signature could not be verified.",
        _ => "The bearer token is not a valid token.",
    };

    private static Task WriteAsync(HttpContext context, int status, string type, string title, string detail, IReadOnlyList<string> scopes)
    {
        var problem = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        problem.Extensions["requiredScopes"] = scopes;
        return ProblemShape.WriteAsync(context, problem).AsTask();
    }
}
