using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Allocation.Api.Errors;

/// <summary>
/// Writes every problem as application/problem+json, whatever the request's Accept header says.
/// The framework's writer declines when Accept names no JSON type, and the caller then gets a bare
/// status with the explanation lost; a machine client that sent Accept: text/plain still needs to
/// know why it was refused (RFC 9110 lets a server answer an error in a type not asked for).
/// </summary>
internal sealed class ProblemJsonWriter(IOptions<JsonOptions> json) : IProblemDetailsWriter
{
    private readonly JsonSerializerOptions _options = json.Value.SerializerOptions;

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        var problem = context.ProblemDetails;
        problem.Status ??= response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        ProblemShape.Customize(context);
        return new ValueTask(response.WriteAsJsonAsync(problem, problem.GetType(), _options, "application/problem+json"));
    }
}
