using System.Security.Claims;
using Allocation.Api.Security;
using Microsoft.AspNetCore.Authorization;

namespace Allocation.Tests.Unit.Api;

public class ScopeHandlerTests
{
    private static async Task<bool> GrantsAsync(string scope, params Claim[] claims)
    {
        var requirement = new ScopeRequirement(scope);
        var context = new AuthorizationHandlerContext([requirement], new ClaimsPrincipal(new ClaimsIdentity(claims, "Bearer")), null);
        await new ScopeHandler().HandleAsync(context);
        return context.HasSucceeded;
    }

    [Test]
    public async Task A_scope_claim_is_a_space_separated_list()
    {
        (await GrantsAsync("stock:write", new Claim("scope", "allocation:read stock:write"))).Should().BeTrue();
        (await GrantsAsync("allocation:write", new Claim("scope", "allocation:read stock:write"))).Should().BeFalse();
    }

    [Test]
    public async Task An_scp_claim_counts_whether_a_string_or_one_claim_per_array_element()
    {
        (await GrantsAsync("allocation:read", new Claim("scp", "allocation:read allocation:write"))).Should().BeTrue();
        (await GrantsAsync("allocation:write", new Claim("scp", "allocation:read"), new Claim("scp", "allocation:write"))).Should().BeTrue();
    }

    [TestCase("allocation:read-all")]
    [TestCase("allocation")]
    [TestCase("ALLOCATION:READ")]
    [TestCase("allocation:readallocation:write")]
    public async Task Only_the_exact_scope_counts(string granted) =>
        (await GrantsAsync("allocation:read", new Claim("scope", granted))).Should().BeFalse();

    [Test]
    public async Task Other_claims_with_the_scope_as_their_value_do_not_count() =>
        (await GrantsAsync("allocation:read", new Claim("role", "allocation:read"), new Claim("sub", "allocation:read"))).Should().BeFalse();
}
