using System.Net;
using System.Security.Cryptography;
using Allocation.Api.Security;
using Allocation.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// How authentication is configured: from environment variables alone, in either shape (the keys as
/// dotnet user-jwts writes them, or an OpenID Connect authority); refusing to start without it; and
/// Authentication:Disabled. Alone: it starts API processes.
/// </summary>
[NonParallelizable]
public class AuthenticationConfigurationTests
{
    private TestDatabase? _database;

    private TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture did not start.");

    [OneTimeSetUp]
    public async Task CreateTheDatabase() => _database = await TestDatabase.SharedAsync();

    private static async Task<HttpStatusCode> GetEventsAsync(ApiProcess api, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events?limit=1");
        request.Headers.Authorization = token is null ? null : TestTokens.Header(token);
        using var response = await api.Client.SendAsync(request);
        return response.StatusCode;
    }

    [Test]
    public async Task Keys_in_the_user_jwts_shape_work_from_environment_variables_alone()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        const string issuer = "dotnet-user-jwts";
        // ApiProcess passes settings as environment variables: Authentication__Schemes__Bearer__SigningKeys__0__Value and so on.
        await using var api = await ApiProcess.StartAsync(Database.ConnectionString, TestTokens.Settings(key, issuer), bearer: false);

        (await GetEventsAsync(api, TestTokens.Mint([Scopes.AllocationRead], issuer, key: key))).Should().Be(HttpStatusCode.OK);
        (await GetEventsAsync(api, TestTokens.Mint([Scopes.AllocationRead], issuer))).Should().Be(HttpStatusCode.Unauthorized, "signed with another key");
        (await GetEventsAsync(api, TestTokens.Mint([Scopes.AllocationRead], key: key))).Should().Be(HttpStatusCode.Unauthorized, "from another issuer");
    }

    [Test]
    public async Task An_openid_connect_authority_supplies_the_issuer_and_the_keys()
    {
        await using var provider = await FakeOpenIdProvider.StartAsync();
        await using var impostor = await FakeOpenIdProvider.StartAsync();
        await using var api = await ApiProcess.StartAsync(Database.ConnectionString, new Dictionary<string, string>
        {
            ["Authentication:Schemes:Bearer:Authority"] = provider.Issuer,
            ["Authentication:Schemes:Bearer:ValidAudiences:0"] = TestTokens.Audience,
            // Only because the test provider serves plain HTTP on loopback.
            ["Authentication:Schemes:Bearer:RequireHttpsMetadata"] = "false",
        }, bearer: false);

        string Token(FakeOpenIdProvider signer, string issuer, string audience = TestTokens.Audience) =>
            TestTokens.Mint([Scopes.AllocationRead], issuer, audience, null, signer.Credentials);

        (await GetEventsAsync(api, Token(provider, provider.Issuer))).Should().Be(HttpStatusCode.OK);
        (await GetEventsAsync(api, Token(impostor, provider.Issuer))).Should().Be(HttpStatusCode.Unauthorized, "signed by a key the provider does not publish");
        (await GetEventsAsync(api, Token(provider, impostor.Issuer))).Should().Be(HttpStatusCode.Unauthorized, "issued in another issuer's name");
        (await GetEventsAsync(api, Token(provider, provider.Issuer, "another-api"))).Should().Be(HttpStatusCode.Unauthorized, "meant for another API");
        (await GetEventsAsync(api, TestTokens.AllScopes)).Should().Be(HttpStatusCode.Unauthorized, "the suite's own issuer is not trusted here");
    }

    [Test]
    public void Without_bearer_configuration_the_service_refuses_to_start()
    {
        var start = () => ApiFactory.Start("Host=127.0.0.1;Database=unused", bearer: false);

        start.Should().Throw<InvalidOperationException>().WithMessage("No bearer token configuration*Authentication:Disabled=true*");
    }

    [Test]
    public void Without_an_audience_the_service_refuses_to_start()
    {
        var start = () => ApiFactory.Start("Host=127.0.0.1;Database=unused", new Dictionary<string, string?>
        {
            ["Authentication:Schemes:Bearer:Authority"] = "https://login.example.com/",
        }, bearer: false);

        start.Should().Throw<InvalidOperationException>().WithMessage("No audience configured*");
    }

    private static readonly string GoodKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// Configurations that used to start and then fail every request (401 for every token, or 500 for
    /// every request, /health/live included): each refused at start, as a process, the way every
    /// refusal ends (<see cref="StartRefusal"/>). Nothing secret in the line: the key is named by its path.
    /// </summary>
    private static IEnumerable<TestCaseData> Unusable()
    {
        static TestCaseData Case(string name, string expected, params (string Key, string Value)[] settings) =>
            new TestCaseData(settings.ToDictionary(s => s.Key, s => s.Value), expected).SetName(name);
        const string bearer = "Authentication:Schemes:Bearer:";
        (string, string) audience = (bearer + "ValidAudiences:0", TestTokens.Audience);

        yield return Case("A key without an issuer and no ValidIssuer is refused", "no ValidIssuer",
            audience, (bearer + "SigningKeys:0:Value", GoodKey));
        yield return Case("A key naming no issuer beside a ValidIssuer is refused", "names no Issuer",
            audience, (bearer + "ValidIssuer", "issuer"), (bearer + "SigningKeys:0:Value", GoodKey));
        yield return Case("A key that is not base64 is refused", "SigningKeys:0:Value is not base64",
            audience, (bearer + "ValidIssuer", "issuer"), (bearer + "SigningKeys:0:Issuer", "issuer"), (bearer + "SigningKeys:0:Value", "not-base64-7Hq!"));
        yield return Case("A key shorter than HS256 needs is refused", "is 128 bits long; HS256 needs at least 256",
            audience, (bearer + "ValidIssuer", "issuer"), (bearer + "SigningKeys:0:Issuer", "issuer"),
            (bearer + "SigningKeys:0:Value", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));
        yield return Case("No bearer configuration is refused", "No bearer token configuration");
        yield return Case("No audience is refused", "No audience configured", (bearer + "Authority", "https://login.example.com/"));
        yield return Case("A key refresh faster than a second is refused", "KeyRefreshMinimumInterval",
            audience, (bearer + "Authority", "https://login.example.com/"), ("Authentication:KeyRefreshMinimumInterval", "00:00:00.100"));
        yield return Case("A key refresh interval past a day is refused", "must be at most 1 day",
            audience, (bearer + "Authority", "https://login.example.com/"), ("Authentication:KeyRefreshInterval", "2.00:00:00"));
        yield return Case("A negative clock skew is refused", "Authentication:ClockSkew must not be negative",
            audience, (bearer + "Authority", "https://login.example.com/"), ("Authentication:ClockSkew", "-00:00:01"));
    }

    [TestCaseSource(nameof(Unusable))]
    public async Task An_unusable_configuration_refuses_to_start_on_one_line_with_exit_code_1(Dictionary<string, string> settings, string expected)
    {
        var message = await StartRefusal.AssertRefusedAsync(Database.ConnectionString, settings, bearer: false, expected);

        message.Should().NotContain("not-base64-7Hq!").And.NotContain(GoodKey, "a key is a secret, named by its path");
    }

    [Test]
    public async Task Disabled_serves_every_endpoint_without_a_token_and_warns_at_start()
    {
        await using var api = await ApiProcess.StartAsync(
            Database.ConnectionString, new Dictionary<string, string> { ["Authentication:Disabled"] = "true" }, bearer: false);
        var (batch, sku) = (Unique.BatchRef(), Unique.Sku());

        await api.Client.AddBatchAsync(batch, sku, 5);
        using var allocated = await api.Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 });
        using var read = await api.Client.GetAsync(new Uri($"/batches/{batch}", UriKind.Relative));

        allocated.StatusCode.Should().Be(HttpStatusCode.Created);
        read.StatusCode.Should().Be(HttpStatusCode.OK);
        api.Client.DefaultRequestHeaders.Authorization.Should().BeNull();
        // Once when the service is built, once after the start-up banner.
        api.CountOutputLines("AUTHENTICATION IS DISABLED").Should().Be(2, api.Output);
    }

    [Test]
    public async Task Disabled_in_process_needs_no_token_either()
    {
        await using var factory = ApiFactory.Start(Database.ConnectionString, new Dictionary<string, string?> { ["Authentication:Disabled"] = "true" }, bearer: false);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(new Uri("/events?limit=1", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
