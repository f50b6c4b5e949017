using System.Net;
using System.Security.Claims;
using Allocation.Api.Security;

namespace Allocation.Tests.Unit.Api;

public class RateLimitCallerTests
{
    private static readonly IPAddress Address = IPAddress.Parse("10.1.2.3");

    private static ClaimsPrincipal Caller(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), authenticationType: "Bearer"));

    [Test]
    public void The_client_id_names_the_caller_before_azp_and_sub() =>
        RateLimiting.CallerKey(Caller(("sub", "user"), ("azp", "app"), ("client_id", "orders")), Address).Should().Be("client:orders");

    [Test]
    public void Azp_names_the_caller_without_a_client_id() =>
        RateLimiting.CallerKey(Caller(("sub", "user"), ("azp", "app")), Address).Should().Be("client:app");

    [Test]
    public void The_subject_names_the_caller_as_a_last_resort_whichever_claim_type_carries_it()
    {
        RateLimiting.CallerKey(Caller(("sub", "user")), Address).Should().Be("client:user");
        RateLimiting.CallerKey(Caller((ClaimTypes.NameIdentifier, "user")), Address).Should().Be("client:user");
    }

    [Test]
    public void Without_a_valid_token_the_remote_address_is_the_caller()
    {
        var unauthenticated = new ClaimsPrincipal(new ClaimsIdentity([new Claim("client_id", "spoofed")]));

        RateLimiting.CallerKey(unauthenticated, Address).Should().Be("address:10.1.2.3");
        RateLimiting.CallerKey(new ClaimsPrincipal(), null).Should().Be("address:unknown");
    }

    [Test]
    public void A_client_named_like_an_address_does_not_share_the_address_bucket() =>
        RateLimiting.CallerKey(Caller(("client_id", "10.1.2.3")), Address)
            .Should().NotBe(RateLimiting.CallerKey(new ClaimsPrincipal(), Address));
}
