using System.Net.Mime;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Allocation.Api.Security;

/// <summary>
/// Declares the 401 and 403 problems of every action that names a scope policy, so that the OpenAPI
/// document shows them with the problem schema like the other errors.
/// </summary>
internal sealed class AuthorizationResponses : IApplicationModelConvention
{
    public void Apply(ApplicationModel application)
    {
        ArgumentNullException.ThrowIfNull(application);
        foreach (var action in application.Controllers.SelectMany(c => c.Actions).Where(a => ScopesOf(a.Attributes).Any()))
        {
            action.Filters.Add(new ProducesResponseTypeAttribute<ProblemDetails>(StatusCodes.Status401Unauthorized, MediaTypeNames.Application.ProblemJson));
            action.Filters.Add(new ProducesResponseTypeAttribute<ProblemDetails>(StatusCodes.Status403Forbidden, MediaTypeNames.Application.ProblemJson));
        }
    }

    internal static IEnumerable<string> ScopesOf(IEnumerable<object> metadata) =>
        metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Where(Scopes.All.Contains).Distinct();

    /// <summary>
    /// The bearer scheme behind Swagger UI's Authorize button, each operation's requirement with its
    /// scope, and the scope in the operation's description (Swagger UI does not show the scopes of
    /// an HTTP scheme's requirement).
    /// </summary>
    internal sealed class Documentation : IOperationFilter
    {
        public const string SchemeName = "Bearer";

        public static OpenApiSecurityScheme Scheme => new()
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT access token with the scopes the operation names: " + string.Join(", ", Scopes.All) +
                ". On a developer's machine, scripts/run prints one with all of them.",
        };

        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            ArgumentNullException.ThrowIfNull(operation);
            ArgumentNullException.ThrowIfNull(context);
            var scopes = ScopesOf(context.ApiDescription.ActionDescriptor.EndpointMetadata).ToList();
            if (scopes.Count == 0)
            {
                return;
            }

            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = scopes }];
            var requires = $"Requires the scope `{string.Join("`, `", scopes)}`.";
            operation.Description = string.IsNullOrEmpty(operation.Description) ? requires : $"{operation.Description}\n\n{requires}";
            Describe(operation, StatusCodes.Status401Unauthorized, "No valid bearer token (missing, expired, or not issued for this service); WWW-Authenticate says why.");
            Describe(operation, StatusCodes.Status403Forbidden, $"The token does not grant the scope {string.Join(", ", scopes)}.");
        }

        private static void Describe(OpenApiOperation operation, int status, string description)
        {
            if (operation.Responses?.GetValueOrDefault(status.ToString(System.Globalization.CultureInfo.InvariantCulture)) is OpenApiResponse response)
            {
                response.Description = description;
            }
        }
    }
}
