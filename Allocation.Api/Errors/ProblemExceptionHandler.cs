using Allocation.Application;
using Allocation.Application.Idempotency;
using Allocation.Application.Orders;
using Allocation.Domain;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Errors;

/// <summary>The one place where exceptions become HTTP problems. Controllers catch nothing.</summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    /// <summary>Seconds a client should wait before retrying after a conflict.</summary>
    internal const int ConflictRetryAfterSeconds = 1;

    /// <summary>Seconds a client should wait before retrying while the database is away.</summary>
    internal const int UnavailableRetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away (the request-timeout middleware answers its own cancellations).
            return false;
        }

        var (status, type, title, retryAfter) = AnswerToCaller(exception) ?? Failure(exception);

        var detail = status switch
        {
            500 => "An unexpected error occurred. Quote the traceId when reporting it.",
            503 when exception is StoreUnavailable { Fault: StoreFault.OutcomeUnknown or StoreFault.NotReplicated } =>
                "The database failed while committing this write: it may or may not have been applied. " +
                "Repeat it with the same Idempotency-Key to apply it exactly once (allocate is safe to repeat as it is).",
            503 => "The database is unavailable. Try again shortly.",
            _ => exception.Message,
        };

        if (status == 503)
        {
            // Expected while the database is away: one line saying why, not a stack trace per request.
            LogUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        }
        else if (status >= 500)
        {
            LogServerError(logger, status, httpContext.Request.Method, httpContext.Request.Path, exception);
        }

        if (retryAfter > 0)
        {
            httpContext.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        httpContext.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        OrderProblems.Extend(problem, exception);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem,
        });
    }

    /// <summary>The request cannot be met as asked: the domain's rules and the use cases' outcomes.</summary>
    private static (int Status, string Type, string Title, int RetryAfter)? AnswerToCaller(Exception exception) => exception switch
    {
        InvalidSku or InvalidSkus => (400, ProblemTypes.InvalidSku, "Invalid SKU", 0),
        InvalidOrder => (400, ProblemTypes.Validation, "Invalid request", 0),
        ConflictingOrder => (409, ProblemTypes.OrderConflict, "Order already allocated with other lines", 0),
        OutOfStock => (400, ProblemTypes.OutOfStock, "Out of stock", 0),
        NotFound or LineNotAllocated => (404, ProblemTypes.NotFound, "Not found", 0),
        DuplicateBatch => (409, ProblemTypes.DuplicateBatch, "Batch already exists", 0),
        ConflictingOrderLine => (409, ProblemTypes.ConflictingOrderLine, "Order line already allocated", 0),
        IdempotencyKeyReused => (422, ProblemTypes.IdempotencyKeyReused, "Idempotency-Key already used", 0),
        IdempotencyKeyInUse => (409, ProblemTypes.IdempotencyKeyInUse, "Idempotency-Key in use", ConflictRetryAfterSeconds),
        _ => null,
    };

    /// <summary>The request could not be served: the store's failures, the HTTP layer's, and bugs.</summary>
    private static (int Status, string Type, string Title, int RetryAfter) Failure(Exception exception) => exception switch
    {
        ConcurrencyConflict => (409, ProblemTypes.ConcurrencyConflict, "Too much contention", ConflictRetryAfterSeconds),
        StoreUnavailable => (503, ProblemTypes.ServiceUnavailable, "Service unavailable", UnavailableRetryAfterSeconds),
        BadHttpRequestException { StatusCode: 413 } => (413, ProblemTypes.PayloadTooLarge, "Request body too large", 0),
        BadHttpRequestException bad => (bad.StatusCode, ProblemTypes.BadRequest, "Bad request", 0),
        _ => (500, ProblemTypes.Internal, "Internal server error", 0),
    };

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "503 answering {Method} {Path}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 5000, Level = LogLevel.Error, Message = "{Status} answering {Method} {Path}")]
    private static partial void LogServerError(ILogger logger, int status, string method, string path, Exception exception);
}
