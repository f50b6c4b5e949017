using System.Reflection;
using Allocation.Api.Security;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.Swagger;

namespace Allocation.Api.OpenApi;

internal static class SwaggerSetup
{
    /// <summary>Swagger:Enabled (true when left out): whether the document and the UI are served.</summary>
    public static bool Enabled(IConfiguration configuration) =>
        (configuration.GetSection(OpenApiDocumentOptions.SectionName).Get<OpenApiDocumentOptions>() ?? new OpenApiDocumentOptions()).Enabled;

    public static IServiceCollection AddAllocationSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        // OpenAPI 3.1: it lets an HTTP bearer scheme's requirement name the scope each operation needs
        // (3.0 allows scopes only for OAuth 2.0 and OpenID Connect schemes).
        services.Configure<SwaggerOptions>(swagger => swagger.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1);
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new()
            {
                Title = "Allocation API",
                Version = "v1",
                Description = "Allocates customer order lines to stock batches: warehouse stock first, then the earliest shipment. " +
                    "Errors are RFC 9457 problem details with a 'message' member.",
            });
            // The Application assembly too: it describes the CloudEvent envelope the feed serves.
            foreach (var assembly in new[] { Assembly.GetExecutingAssembly(), typeof(Application.Events.CloudEvent).Assembly })
            {
                var xml = Path.Combine(AppContext.BaseDirectory, $"{assembly.GetName().Name}.xml");
                if (File.Exists(xml))
                {
                    options.IncludeXmlComments(xml, includeControllerXmlComments: true);
                }
            }

            options.SupportNonNullableReferenceTypes();
            options.SchemaFilter<SerializedMemberOrder>();
            options.OperationFilter<CommonResponses.Documentation>();
            options.AddSecurityDefinition(AuthorizationResponses.Documentation.SchemeName, AuthorizationResponses.Documentation.Scheme);
            options.OperationFilter<AuthorizationResponses.Documentation>();
            options.OperationFilter<Idempotency.IdempotencyKeyFilter.Documentation>();
        });
        return services;
    }
}

/// <summary>The OpenAPI document and UI (configuration section <c>Swagger</c>); read while the services are composed.</summary>
public sealed class OpenApiDocumentOptions
{
    public const string SectionName = "Swagger";

    /// <summary>Serve /swagger/v1/swagger.json and the UI at /swagger.</summary>
    public bool Enabled { get; set; } = true;
}
