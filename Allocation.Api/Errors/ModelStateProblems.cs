using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Allocation.Api.Errors;

/// <summary>
/// Turns MVC's binding errors (malformed JSON, wrong JSON types, empty body) into the same
/// validation problem as FluentValidation's, keyed by the path of the JSON field the client sent
/// ("qty", "lines[0].qty"), as FluentValidation keys a nested field.
/// </summary>
internal static partial class ModelStateProblems
{
    public const string BodyKey = "body";

    private static readonly ConcurrentDictionary<Type, Dictionary<string, Type>> JsonFields = new();

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
        _ when !NamesAField(field, context) => $"'{field}' is not a field of this request.",
        _ => $"'{field}' has the wrong JSON type or format, or is given more than once.",
    };

    /// <summary>
    /// The path ("qty", "lines[0].qty", "lines[0]") leads, field by field and element by element,
    /// through the request body's type to one of its properties or list elements.
    /// </summary>
    private static bool NamesAField(string path, ActionContext context)
    {
        var type = context.ActionDescriptor.Parameters.FirstOrDefault(p => p.BindingInfo?.BindingSource == BindingSource.Body)?.ParameterType;
        foreach (var segment in PathSegment().Matches(path).Cast<Match>())
        {
            type = type is null ? null
                : segment.Groups["index"].Success ? ElementType(type)
                : FieldsOf(type).GetValueOrDefault(segment.Groups["name"].Success ? segment.Groups["name"].Value : segment.Groups["quoted"].Value);
        }

        return type is not null;
    }

    /// <summary>The JSON names of a contract's properties, with each one's type (nullable unwrapped).</summary>
    private static Dictionary<string, Type> FieldsOf(Type type) => JsonFields.GetOrAdd(type, static type => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .ToDictionary(
            p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name),
            p => Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType,
            StringComparer.Ordinal));

    /// <summary>The type of a JSON array's elements, when the type is read from one (a string is not).</summary>
    private static Type? ElementType(Type type) => type == typeof(string) ? null
        : type.IsArray ? type.GetElementType()
        : (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>) ? type : type.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)))?.GetGenericArguments()[0];

    private static string ToJsonField(string key, ActionContext context)
    {
        // System.Text.Json's path without its root, in the shape FluentValidation reports nested fields:
        // "$.qty" -> "qty", "$.lines[0].qty" -> "lines[0].qty"; "$" or the action's parameter name -> the body as a whole.
        if (key.StartsWith("$.", StringComparison.Ordinal))
        {
            return key[2..];
        }

        var isParameter = context.ActionDescriptor.Parameters.Any(p => p.Name == key);
        return key is "" or "$" || isParameter ? BodyKey : key;
    }

    /// <summary>One step of a System.Text.Json path: <c>name</c>, <c>['quoted name']</c> or <c>[index]</c>.</summary>
    [GeneratedRegex(@"\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>[0-9]+)\]|(?<name>[^.\[]+)", RegexOptions.CultureInvariant)]
    private static partial Regex PathSegment();
}
