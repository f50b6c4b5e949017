using System.Net.Mime;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Allocation.Api.OpenApi;

/// <summary>
/// The problem responses any action can give, declared once: every action can answer 429 (rate limit),
/// 503 (database unavailable) and 504 (deadline); one that reads a body, 413 and 415; one that writes, 409 when its
/// SKU stays too contended. Actions declare only what is their own, and a new endpoint is described
/// completely without remembering any of this.
/// </summary>
internal sealed class CommonResponses : IApplicationModelConvention
{
    internal static readonly IReadOnlyDictionary<int, string> Descriptions = new Dictionary<int, string>
    {
        [StatusCodes.Status409Conflict] = "The SKU was too contended, or a request with the same Idempotency-Key is still running; retry after the Retry-After delay.",
        [StatusCodes.Status422UnprocessableEntity] = "The Idempotency-Key was already used with a different request.",
        [StatusCodes.Status413PayloadTooLarge] = "The body is larger than the limit.",
        [StatusCodes.Status415UnsupportedMediaType] = "The body is not application/json.",
        [StatusCodes.Status429TooManyRequests] = "This caller sent more requests than its rate limit allows; retry after the Retry-After delay (seconds).",
        [StatusCodes.Status503ServiceUnavailable] = "The database is unavailable, read-only or not answering; retry after the Retry-After delay.",
        [StatusCodes.Status504GatewayTimeout] = "The request did not finish within its deadline and was cancelled.",
    };

    public void Apply(ApplicationModel application)
    {
        ArgumentNullException.ThrowIfNull(application);
        foreach (var action in application.Controllers.SelectMany(c => c.Actions))
        {
            var readsBody = action.Parameters.Any(p => p.BindingInfo?.BindingSource == BindingSource.Body);
            var writes = action.Selectors.Any(s => s.ActionConstraints?.OfType<Microsoft.AspNetCore.Mvc.ActionConstraints.HttpMethodActionConstraint>()
                .Any(m => m.HttpMethods.Any(method => !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))) == true);
            var declared = action.Filters.OfType<IApiResponseMetadataProvider>().Select(p => p.StatusCode).ToHashSet();

            void Add(int status)
            {
                if (declared.Add(status))
                {
                    action.Filters.Add(new CommonProblemResponse(status));
                }
            }

            if (writes)
            {
                Add(StatusCodes.Status409Conflict);
                Add(StatusCodes.Status422UnprocessableEntity);
            }

            if (readsBody)
            {
                Add(StatusCodes.Status413PayloadTooLarge);
                Add(StatusCodes.Status415UnsupportedMediaType);
            }

            // Every controller action is rate limited (Program.cs: MapControllers().RequireRateLimiting).
            Add(StatusCodes.Status429TooManyRequests);
            Add(StatusCodes.Status503ServiceUnavailable);
            Add(StatusCodes.Status504GatewayTimeout);
        }
    }

    /// <summary>Describes the common responses this convention added (the action's own keep its XML documentation).</summary>
    internal sealed class Documentation : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            ArgumentNullException.ThrowIfNull(operation);
            ArgumentNullException.ThrowIfNull(context);
            var common = context.ApiDescription.ActionDescriptor.FilterDescriptors
                .Select(f => f.Filter).OfType<CommonProblemResponse>().Select(r => r.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var code in common)
            {
                if (operation.Responses?.GetValueOrDefault(code) is OpenApiResponse response)
                {
                    response.Description = Descriptions[int.Parse(code, System.Globalization.CultureInfo.InvariantCulture)];
                }
            }
        }
    }

    private sealed class CommonProblemResponse(int status)
        : ProducesResponseTypeAttribute<ProblemDetails>(status, MediaTypeNames.Application.ProblemJson);
}
