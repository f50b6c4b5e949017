using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Allocation.Api.OpenApi;

/// <summary>
/// Lists a schema's members in the order the serializer writes them. Swashbuckle puts a base type's
/// members first and ignores [JsonPropertyOrder], so the feed's event (the CloudEvent envelope plus
/// its position, written before <c>data</c>) would otherwise be documented in another order than served.
/// </summary>
internal sealed class SerializedMemberOrder : ISchemaFilter
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (schema is not OpenApiSchema { Properties: { Count: > 1 } properties } concrete
            || context.Type is not { IsClass: true } type || type == typeof(string))
        {
            return;
        }

        var info = Web.GetTypeInfo(type);
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        var written = info.Properties.Select(p => p.Name).Where(properties.ContainsKey).ToList();
        if (written.Count == properties.Count && !written.SequenceEqual(properties.Keys, StringComparer.Ordinal))
        {
            concrete.Properties = written.ToDictionary(name => name, name => properties[name], StringComparer.Ordinal);
        }
    }
}
