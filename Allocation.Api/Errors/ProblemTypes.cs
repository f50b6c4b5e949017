namespace Allocation.Api.Errors;

/// <summary>The stable <c>type</c> URI of each kind of problem this API answers with.</summary>
public static class ProblemTypes
{
    private const string Prefix = "urn:allocation:problem:";

    public const string Validation = Prefix + "validation";
    public const string InvalidSku = Prefix + "invalid-sku";
    public const string OutOfStock = Prefix + "out-of-stock";
    public const string NotFound = Prefix + "not-found";
    public const string DuplicateBatch = Prefix + "duplicate-batch";
    public const string ConflictingOrderLine = Prefix + "conflicting-order-line";

    /// <summary>The order already holds lines that a whole-order request would change (409).</summary>
    public const string OrderConflict = Prefix + "order-conflict";
    public const string ConcurrencyConflict = Prefix + "concurrency-conflict";
    public const string ServiceUnavailable = Prefix + "service-unavailable";
    public const string Timeout = Prefix + "timeout";
    public const string TooManyRequests = Prefix + "too-many-requests";
    public const string BadRequest = Prefix + "bad-request";
    public const string PayloadTooLarge = Prefix + "payload-too-large";
    public const string Internal = Prefix + "internal";
    public const string IdempotencyKeyInvalid = Prefix + "idempotency-key-invalid";
    public const string IdempotencyKeyReused = Prefix + "idempotency-key-reused";
    public const string IdempotencyKeyInUse = Prefix + "idempotency-key-in-use";
    public const string Unauthenticated = Prefix + "unauthenticated";
    public const string InsufficientScope = Prefix + "insufficient-scope";

    /// <summary>For status codes the framework produces itself (404 route, 405, 415).</summary>
    public static string ForStatus(int status) => Prefix + "http-" + status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
