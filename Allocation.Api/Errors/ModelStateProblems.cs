using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Allocation.Api.Errors;

/// <summary>
/// Turns MVC's binding errors (malformed JSON, wrong JSON types, empty body) into the same
/// validation problem as FluentValidation's, keyed by the JSON field names the client sent.
/// </summary>
internal static class ModelStateProblems
{
    public const string BodyKey = "body";

    private static readonly ConcurrentDictionary<Type, HashSet<string>> JsonFields = new();

    public static IActionResult Create(ActionContext context)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (key, entry) in context.ModelState)
        {
            if (entry.Errors.Count == 0)
            {
                continue;
            }

            var field = ToJsonField(key, context);
            if (!errors.TryGetValue(field, out var messages))
            {
                errors[field] = messages = [];
            }

            // System.Text.Json's messages name CLR types and byte positions; say what is wrong in the client's terms.
            messages.AddRange(entry.Errors.Select(_ => Describe(field, context)));
        }

        // A field-level error explains the whole-body one that MVC adds beside it.
        if (errors.Count > 1)
        {
            errors.Remove(BodyKey);
        }

        return Validation(context.HttpContext, errors.ToDictionary(e => e.Key, e => e.Value.Distinct().ToArray()));
    }

    public static ObjectResult Validation(HttpContext httpContext, IDictionary<string, string[]> errors) =>
        ProblemShape.Result(httpContext, new ValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
            Title = "Invalid request",
            Detail = "One or more fields are invalid: " + string.Join("; ", errors.SelectMany(e => e.Value)),
        });

    /// <summary>
    /// Says what is wrong from where the error is, not from the framework's wording (which a runtime
    /// update may change): a path naming no field of the request is an unknown field; one naming a
    /// field is a value of the wrong JSON type or format, or a field given twice.
    /// </summary>
    private static string Describe(string field, ActionContext context) => field switch
    {
        BodyKey => "The body must be a JSON object with the documented fields.",
        _ when !FieldsOf(context).Contains(field) => $"'{field}' is not a field of this request.",
        _ => $"'{field}' has the wrong JSON type or format, or is given more than once.",
    };

    /// <summary>The JSON names of the request body's properties.</summary>
    private static HashSet<string> FieldsOf(ActionContext context)
    {
        var body = context.ActionDescriptor.Parameters.FirstOrDefault(p => p.BindingInfo?.BindingSource == BindingSource.Body);
        return body is null ? [] : JsonFields.GetOrAdd(body.ParameterType, static type => type
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name))
            .ToHashSet(StringComparer.Ordinal));
    }

    private static string ToJsonField(string key, ActionContext context)
    {
        // "$.qty" -> "qty"; "$" or the action's parameter name -> the body as a whole.
        if (key.StartsWith("$.", StringComparison.Ordinal))
        {
            var path = key[2..];
            var end = path.IndexOfAny(['.', '[']);
            return end < 0 ? path : path[..end];
        }

        var isParameter = context.ActionDescriptor.Parameters.Any(p => p.Name == key);
        return key is "" or "$" || isParameter ? BodyKey : key;
    }
}
