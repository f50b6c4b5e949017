using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Errors;

/// <summary>
/// Turns MVC's binding errors (malformed JSON, wrong JSON types, empty body) into the same
/// validation problem as FluentValidation's, keyed by the JSON field names the client sent.
/// </summary>
internal static class ModelStateProblems
{
    public const string BodyKey = "body";

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
            messages.AddRange(entry.Errors.Select(e => Describe(field, e.ErrorMessage)));
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

    private static string Describe(string field, string frameworkMessage) => field switch
    {
        BodyKey => "The body must be a JSON object with the documented fields.",
        _ when frameworkMessage.Contains("could not be mapped", StringComparison.Ordinal) =>
            $"'{field}' is not a field of this request.",
        _ => $"'{field}' has the wrong JSON type or format.",
    };

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
