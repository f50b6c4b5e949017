using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Errors;

/// <summary>What every problem body carries, whoever wrote it.</summary>
internal static class ProblemShape
{
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type is null or "" || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
        {
            problem.Type = problem.Status is { } status ? ProblemTypes.ForStatus(status) : ProblemTypes.Internal;
        }

        problem.Detail ??= problem.Title;
        problem.Instance ??= context.HttpContext.Request.Path;
        // The book's clients read "message".
        problem.Extensions["message"] = problem.Detail;
        problem.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
    }

    /// <summary>
    /// Answers with a problem from outside the exception handler and MVC (the request deadline, the
    /// rate limiter, authorisation), through the same writer and shape as every other problem.
    /// </summary>
    public static ValueTask WriteAsync(HttpContext httpContext, ProblemDetails problem)
    {
        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return httpContext.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
    }

    /// <summary>A problem result for MVC with the same shape as every other problem (<see cref="Customize"/> applied).</summary>
    public static ObjectResult Result(HttpContext httpContext, ProblemDetails problem)
    {
        Customize(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
        return new ObjectResult(problem)
        {
            StatusCode = problem.Status,
            ContentTypes = { "application/problem+json" },
        };
    }
}
