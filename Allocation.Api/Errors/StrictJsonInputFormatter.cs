using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Formatters;
using Microsoft.Net.Http.Headers;

namespace Allocation.Api.Errors;

/// <summary>
/// Reads request bodies whose media type is exactly application/json. The framework's reader also
/// takes text/json and every application/*+json type (merge-patch, JSON:API…), whose meaning this
/// API does not implement; those get 415 instead of being read as if they were plain JSON.
/// </summary>
internal sealed class StrictJsonInputFormatter(JsonOptions options, ILogger<SystemTextJsonInputFormatter> logger)
    : SystemTextJsonInputFormatter(options, logger)
{
    public override bool CanRead(InputFormatterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return MediaTypeHeaderValue.TryParse(context.HttpContext.Request.ContentType, out var mediaType)
            && mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && base.CanRead(context);
    }
}
