using Microsoft.AspNetCore.Authorization;

namespace Allocation.Api.Security;

/// <summary>
/// The scopes a caller's token must carry, one per kind of access. Each is also the name of the
/// authorization policy an action names in <c>[Authorize(Policy = …)]</c>.
/// </summary>
public static class Scopes
{
    /// <summary>Read allocations, batches and the event feed.</summary>
    public const string AllocationRead = "allocation:read";

    /// <summary>Allocate and deallocate order lines.</summary>
    public const string AllocationWrite = "allocation:write";

    /// <summary>Add and change batches of stock.</summary>
    public const string StockWrite = "stock:write";

    public static readonly IReadOnlyList<string> All = [AllocationRead, AllocationWrite, StockWrite];
}

/// <summary>The token must grant <see cref="Scope"/>.</summary>
internal sealed class ScopeRequirement(string scope) : IAuthorizationRequirement
{
    public string Scope { get; } = scope;
}

/// <summary>
/// Finds the scope in the token's <c>scope</c> claim (OAuth 2.0, RFC 8693: one space-separated
/// string) or <c>scp</c> claim (Microsoft Entra ID and others, a string or an array, which arrives
/// as one claim per element).
/// </summary>
internal sealed class ScopeHandler : AuthorizationHandler<ScopeRequirement>
{
    private static readonly string[] ClaimTypes = ["scope", "scp"];

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        foreach (var claim in context.User.Claims)
        {
            if (ClaimTypes.Contains(claim.Type, StringComparer.Ordinal)
                && claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(requirement.Scope, StringComparer.Ordinal))
            {
                context.Succeed(requirement);
                break;
            }
        }

        return Task.CompletedTask;
    }
}
