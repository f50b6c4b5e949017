using System.Security.Cryptography;
using System.Text;
using Allocation.Api.Errors;
using Allocation.Api.Hosting;
using Allocation.Application.Idempotency;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Allocation.Api.Idempotency;

/// <summary>
/// Reads the Idempotency-Key header of a POST, PATCH or DELETE (draft-ietf-httpapi-idempotency-key-header),
/// refuses a malformed one with 400, and hands the key, the caller and a hash of the request (method,
/// path and the body's exact bytes) to the use case (<see cref="IdempotentRequest"/>), which stores
/// them with the change. A resource filter: it runs before model binding, while the body is unread.
/// A replayed answer carries <c>Idempotency-Replayed: true</c>. Without the header, nothing changes.
/// </summary>
internal sealed class IdempotencyKeyFilter : IAsyncResourceFilter
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotency-Replayed";
    public const int MaxKeyLength = 255;

    /// <summary>The methods that change something: DELETE too, whose repeat would otherwise answer 404 for what the first one gave back.</summary>
    private static bool IsWrite(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);

    public async Task OnResourceExecutionAsync(ResourceExecutingContext context, ResourceExecutionDelegate next)
    {
        var http = context.HttpContext;
        if (!IsWrite(http.Request.Method)
            || !http.Request.Headers.TryGetValue(HeaderName, out var values))
        {
            await next();
            return;
        }

        if (values.Count != 1 || ParseKey(values[0]) is not { } key)
        {
            context.Result = ProblemShape.Result(http, new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Type = ProblemTypes.IdempotencyKeyInvalid,
                Title = "Invalid Idempotency-Key",
                Detail = $"{HeaderName} must be given once, as 1 to {MaxKeyLength} printable ASCII characters " +
                    "(a quoted string such as \"8e03978e-40d5-43e8-bc93-6894a57f9324\", or the characters alone).",
            });
            return;
        }

        var request = http.RequestServices.GetRequiredService<IdempotentRequest>();
        request.Use(Caller(http), key, await FingerprintAsync(http.Request));
        http.Response.OnStarting(() =>
        {
            if (request.Replayed)
            {
                http.Response.Headers[ReplayedHeaderName] = "true";
            }

            return Task.CompletedTask;
        });
        await next();
    }

    /// <summary>
    /// The header is a Structured Field string: a quoted string of printable ASCII with \" and \\ escapes.
    /// Keys sent bare, as many clients do, are taken as they are when they are visible ASCII.
    /// </summary>
    /// <returns>The key, or null when the value is not one.</returns>
    internal static string? ParseKey(string? value)
    {
        if (value is null)
        {
            return null;
        }

        string key;
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            var unquoted = new StringBuilder(value.Length);
            for (var i = 1; i < value.Length - 1; i++)
            {
                var c = value[i];
                if (c == '\\')
                {
                    if (++i == value.Length - 1 || value[i] is not ('"' or '\\'))
                    {
                        return null;
                    }

                    c = value[i];
                }
                else if (c == '"' || c < 0x20 || c > 0x7E)
                {
                    return null;
                }

                unquoted.Append(c);
            }

            key = unquoted.ToString();
        }
        else
        {
            if (value.Any(c => c is <= ' ' or > '~' or '"'))
            {
                return null;
            }

            key = value;
        }

        return key.Length is >= 1 and <= MaxKeyLength && !string.IsNullOrWhiteSpace(key) ? key : null;
    }

    /// <summary>Whose key: the token's client. Keys of different callers never meet.</summary>
    private static string Caller(HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true ? RateLimiting.CallerKey(http.User, remoteAddress: null) : "anonymous";

    /// <summary>SHA-256 of the method, the path and the body's bytes: the same key must come with the same request.</summary>
    private static async Task<byte[]> FingerprintAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method}\n{request.Path.Value}\n"));
        var buffer = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }

        request.Body.Position = 0;
        return hash.GetHashAndReset();
    }

    /// <summary>Declares the optional header on every POST, PATCH and DELETE operation in the OpenAPI document.</summary>
    internal sealed class Documentation : Swashbuckle.AspNetCore.SwaggerGen.IOperationFilter
    {
        public void Apply(Microsoft.OpenApi.OpenApiOperation operation, Swashbuckle.AspNetCore.SwaggerGen.OperationFilterContext context)
        {
            ArgumentNullException.ThrowIfNull(operation);
            ArgumentNullException.ThrowIfNull(context);
            var method = context.ApiDescription.HttpMethod;
            if (!IsWrite(method ?? ""))
            {
                return;
            }

            operation.Parameters ??= [];
            operation.Parameters.Add(new Microsoft.OpenApi.OpenApiParameter
            {
                Name = HeaderName,
                In = Microsoft.OpenApi.ParameterLocation.Header,
                Required = false,
                Description = "Makes the write safe to repeat: a repeat with the same key and body gets the first answer " +
                    $"(with {ReplayedHeaderName}: true) and changes nothing; the same key with another body is 422; " +
                    $"a repeat while the first is still running is 409. 1 to {MaxKeyLength} printable ASCII characters, " +
                    "quoted or not; kept for Idempotency:Retention (24 h by default).",
                Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String, MaxLength = MaxKeyLength },
                Example = System.Text.Json.Nodes.JsonValue.Create("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""),
            });
        }
    }
}
