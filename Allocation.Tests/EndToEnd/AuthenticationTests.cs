using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Allocation.Api.Errors;
using Allocation.Api.Hosting;
using Allocation.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Every endpoint against every kind of token: no token or a bad one is 401 with
/// <c>WWW-Authenticate: Bearer</c>, a good token without the endpoint's scope is 403 naming it, a
/// token with only that scope is served; and a refused request writes nothing.
/// </summary>
public class AuthenticationTests : ApiFixture
{
    /// <summary>Refusals check that nothing at all was written.</summary>
    protected override bool NeedsItsOwnDatabase => true;

    public enum TokenKind
    {
        None,
        Expired,
        WrongIssuer,
        WrongAudience,
        WrongSignature,
        AlgNone,
    }

    /// <summary>A request the endpoint would serve (the fixture's all-scopes client prepared what it needs), and its success status.</summary>
    private sealed record Endpoint(string Scope, HttpStatusCode Success, Func<HttpClient, Task<Func<HttpRequestMessage>>> Prepare);

    private static readonly Dictionary<string, Endpoint> Endpoints = new()
    {
        ["GET /allocations/{orderid}"] = new(Scopes.AllocationRead, HttpStatusCode.OK, async client =>
        {
            var (_, order) = await AllocatedAsync(client);
            return () => new HttpRequestMessage(HttpMethod.Get, $"/allocations/{order}");
        }),
        ["GET /batches/{ref}"] = new(Scopes.AllocationRead, HttpStatusCode.OK, async client =>
        {
            var (batch, _) = await BatchAsync(client);
            return () => new HttpRequestMessage(HttpMethod.Get, $"/batches/{batch}");
        }),
        ["GET /events"] = new(Scopes.AllocationRead, HttpStatusCode.OK, _ =>
            Task.FromResult(() => new HttpRequestMessage(HttpMethod.Get, "/events?limit=1"))),
        ["POST /allocate"] = new(Scopes.AllocationWrite, HttpStatusCode.Created, async client =>
        {
            var (_, sku) = await BatchAsync(client);
            var order = Unique.OrderId();
            return () => Json(HttpMethod.Post, "/allocate", $$"""{"orderid":"{{order}}","sku":"{{sku}}","qty":1}""");
        }),
        ["POST /deallocate"] = new(Scopes.AllocationWrite, HttpStatusCode.OK, async client =>
        {
            var (sku, order) = await AllocatedAsync(client);
            return () => Json(HttpMethod.Post, "/deallocate", $$"""{"orderid":"{{order}}","sku":"{{sku}}"}""");
        }),
        ["POST /orders/{orderid}/allocation"] = new(Scopes.AllocationWrite, HttpStatusCode.Created, async client =>
        {
            var (_, sku) = await BatchAsync(client);
            var order = Unique.OrderId();
            return () => Json(HttpMethod.Post, $"/orders/{order}/allocation", $$"""{"lines":[{"sku":"{{sku}}","qty":1}]}""");
        }),
        ["DELETE /orders/{orderid}/allocation"] = new(Scopes.AllocationWrite, HttpStatusCode.OK, async client =>
        {
            var (_, order) = await AllocatedAsync(client);
            return () => new HttpRequestMessage(HttpMethod.Delete, $"/orders/{order}/allocation");
        }),
        ["POST /add_batch"] = new(Scopes.StockWrite, HttpStatusCode.Created, _ =>
        {
            var (batch, sku) = (Unique.BatchRef(), Unique.Sku());
            return Task.FromResult(() => Json(HttpMethod.Post, "/add_batch", $$"""{"ref":"{{batch}}","sku":"{{sku}}","qty":10,"eta":null}"""));
        }),
        ["PATCH /batches/{ref}"] = new(Scopes.StockWrite, HttpStatusCode.OK, async client =>
        {
            var (batch, _) = await BatchAsync(client);
            return () => Json(HttpMethod.Patch, $"/batches/{batch}", """{"qty":5}""");
        }),
    };

    public static IEnumerable<string> EndpointNames => Endpoints.Keys;

    public static IEnumerable<string> ScopeNames => Scopes.All;

    public static IEnumerable<TestCaseData> EveryEndpointWithEveryBadToken() =>
        from name in Endpoints.Keys
        from kind in Enum.GetValues<TokenKind>()
        select new TestCaseData(name, kind).SetName($"{name} with {kind} is 401");

    private static async Task<(string Batch, string Sku)> BatchAsync(HttpClient client)
    {
        var (batch, sku) = (Unique.BatchRef(), Unique.Sku());
        await client.AddBatchAsync(batch, sku, 10);
        return (batch, sku);
    }

    private static async Task<(string Sku, string Order)> AllocatedAsync(HttpClient client)
    {
        var (_, sku) = await BatchAsync(client);
        var order = Unique.OrderId();
        using var allocated = await client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 2 });
        allocated.StatusCode.Should().Be(HttpStatusCode.Created);
        return (sku, order);
    }

    private static HttpRequestMessage Json(HttpMethod method, string path, string body) =>
        new(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static string? BadToken(TokenKind kind) => kind switch
    {
        TokenKind.None => null,
        TokenKind.Expired => TestTokens.Mint(Scopes.All, expires: DateTime.UtcNow.AddHours(-1)),
        TokenKind.WrongIssuer => TestTokens.Mint(Scopes.All, issuer: "https://someone-else.example"),
        TokenKind.WrongAudience => TestTokens.Mint(Scopes.All, audience: "another-api"),
        TokenKind.WrongSignature => TestTokens.Mint(Scopes.All, key: RandomNumberGenerator.GetBytes(32)),
        TokenKind.AlgNone => TestTokens.Mint(Scopes.All, TestTokens.Issuer, TestTokens.Audience, null, credentials: null),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>What the 401's detail says for each kind of bad token.</summary>
    private static string Explanation(TokenKind kind) => kind switch
    {
        TokenKind.None => "No bearer token was sent",
        TokenKind.Expired => "has expired",
        TokenKind.WrongIssuer => "issuer is not trusted",
        TokenKind.WrongAudience => "meant for another audience",
        TokenKind.WrongSignature or TokenKind.AlgNone => "signature could not be verified",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, string? token)
    {
        using var message = request();
        message.Headers.Authorization = token is null ? null : TestTokens.Header(token);
        // Not the fixture's client: its default header would be sent when this one has none.
        using var anonymous = new HttpClient { BaseAddress = Client.BaseAddress };
        return await anonymous.SendAsync(message);
    }

    [TestCaseSource(nameof(EveryEndpointWithEveryBadToken))]
    public async Task Without_a_valid_token_the_answer_is_401_with_a_bearer_challenge(string endpoint, TokenKind kind)
    {
        var request = await Endpoints[endpoint].Prepare(Client);

        using var response = await SendAsync(request, BadToken(kind));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        problem.GetProperty("detail").GetString().Should().Contain(Explanation(kind)).And.Contain(Endpoints[endpoint].Scope);
        var challenge = response.Headers.WwwAuthenticate.Should().ContainSingle().Subject;
        challenge.Scheme.Should().Be("Bearer");
        if (kind == TokenKind.None)
        {
            challenge.Parameter.Should().BeNull("a request without a token is not told about token errors (RFC 6750 §3.1)");
        }
        else
        {
            challenge.Parameter.Should().StartWith("error=\"invalid_token\"");
        }
    }

    [TestCaseSource(nameof(EndpointNames))]
    public async Task A_valid_token_without_the_scope_is_403_naming_the_scope(string endpoint)
    {
        var scope = Endpoints[endpoint].Scope;
        var request = await Endpoints[endpoint].Prepare(Client);

        using var response = await SendAsync(request, TestTokens.Mint(Scopes.All.Where(s => s != scope)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden, ProblemTypes.InsufficientScope);
        problem.GetProperty("detail").GetString().Should().Contain(scope);
        problem.GetProperty("requiredScopes").EnumerateArray().Select(s => s.GetString()).Should().Equal(scope);
        response.Headers.WwwAuthenticate.ToString().Should().Be($"Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
    }

    [TestCaseSource(nameof(EndpointNames))]
    public async Task A_token_with_only_the_endpoints_scope_is_served(string endpoint)
    {
        var request = await Endpoints[endpoint].Prepare(Client);

        using var response = await SendAsync(request, TestTokens.Mint([Endpoints[endpoint].Scope]));

        response.StatusCode.Should().Be(Endpoints[endpoint].Success, await response.Content.ReadAsStringAsync());
    }

    [TestCaseSource(nameof(ScopeNames))]
    public async Task Refused_requests_change_nothing_in_the_database(string scope)
    {
        var requests = new List<Func<HttpRequestMessage>>();
        foreach (var endpoint in Endpoints.Values.Where(e => e.Scope == scope))
        {
            requests.Add(await endpoint.Prepare(Client));
        }

        var tokens = Enum.GetValues<TokenKind>().Select(BadToken).Append(TestTokens.Mint(Scopes.All.Where(s => s != scope))).ToList();
        var before = await DatabaseSnapshot.TakeAsync(Store);

        foreach (var request in requests)
        {
            foreach (var token in tokens)
            {
                using var response = await SendAsync(request, token);
                response.StatusCode.Should().BeOneOf(HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden);
            }
        }

        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [Test]
    public async Task Without_a_token_a_bad_body_is_401_not_400_and_changes_nothing()
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);

        using var response = await SendAsync(() => Json(HttpMethod.Post, "/allocate", """{"orderid": "o", "qty": "three" """), token: null);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [TestCase("/health")]
    [TestCase("/swagger/v1/swagger.json")]
    [TestCase("/swagger/index.html")]
    public async Task Health_and_swagger_need_no_token(string path)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), token: null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task A_token_in_another_scheme_is_no_token()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("user:password"u8.ToArray()));
        using var anonymous = new HttpClient { BaseAddress = Client.BaseAddress };

        using var response = await anonymous.SendAsync(request);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ProblemTypes.Unauthenticated);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
    }
}
