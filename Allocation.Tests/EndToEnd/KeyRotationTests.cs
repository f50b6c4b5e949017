using System.Diagnostics;
using System.Net;
using Allocation.Api.Security;
using Allocation.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// An OpenID Connect provider rotating its keys, against an API process with short windows
/// (Authentication:KeyRefreshInterval 3 s, KeyRefreshMinimumInterval 1 s): a key the provider
/// withdraws is refused within the refresh interval, even for a token the API has already checked and
/// remembers; and two rotations in quick succession are both picked up within the minimum interval.
/// Without these settings, Microsoft.IdentityModel re-reads the keys every 12 hours (plus up to an
/// hour) and on an unknown key at most every 5 minutes.
/// </summary>
[NonParallelizable]
public class KeyRotationTests
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(1);

    /// <summary>Time for a request and the read of the key set on top of a window.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    private TestDatabase? _database;

    [OneTimeSetUp]
    public async Task CreateTheDatabase() => _database = await TestDatabase.SharedAsync();

    private async Task<ApiProcess> StartAsync(FakeOpenIdProvider provider) =>
        await ApiProcess.StartAsync(_database!.ConnectionString, new Dictionary<string, string>
        {
            ["Authentication:Schemes:Bearer:Authority"] = provider.Issuer,
            ["Authentication:Schemes:Bearer:ValidAudiences:0"] = TestTokens.Audience,
            // Only because the test provider serves plain HTTP on loopback.
            ["Authentication:Schemes:Bearer:RequireHttpsMetadata"] = "false",
            ["Authentication:KeyRefreshInterval"] = "00:00:03",
            ["Authentication:KeyRefreshMinimumInterval"] = "00:00:01",
        }, bearer: false);

    private static async Task<HttpStatusCode> GetEventsAsync(ApiProcess api, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events?limit=1");
        request.Headers.Authorization = TestTokens.Header(token);
        using var response = await api.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static string Token(FakeOpenIdProvider provider, SigningCredentials credentials) =>
        TestTokens.Mint([Scopes.AllocationRead], provider.Issuer, TestTokens.Audience, null, credentials);

    /// <summary>Asks until the answer is <paramref name="expected"/>; returns how long that took.</summary>
    private static async Task<TimeSpan> TimeUntilAsync(ApiProcess api, string token, HttpStatusCode expected, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (await GetEventsAsync(api, token) != expected)
        {
            if (clock.Elapsed > limit)
            {
                Assert.Fail($"Still not {expected} after {clock.Elapsed}.");
            }

            await Task.Delay(100);
        }

        return clock.Elapsed;
    }

    [Test]
    public async Task A_withdrawn_key_is_refused_within_the_refresh_interval_even_for_a_remembered_token()
    {
        await using var provider = await FakeOpenIdProvider.StartAsync();
        await using var api = await StartAsync(provider);
        var withdrawn = Token(provider, provider.Credentials);
        var successor = provider.AddKey("provider-key-2");
        (await GetEventsAsync(api, withdrawn)).Should().Be(HttpStatusCode.OK);
        (await GetEventsAsync(api, withdrawn)).Should().Be(HttpStatusCode.OK, "checked, and remembered by the token cache");

        provider.Withdraw("provider-key-1");
        var refusedAfter = await TimeUntilAsync(api, withdrawn, HttpStatusCode.Unauthorized, TimeSpan.FromMinutes(1));

        refusedAfter.Should().BeLessThan(RefreshInterval + Slack);
        (await GetEventsAsync(api, Token(provider, successor))).Should().Be(HttpStatusCode.OK, "the key that stays is still accepted");
    }

    [Test]
    public async Task Two_rotations_in_quick_succession_are_both_picked_up_within_the_minimum_interval()
    {
        await using var provider = await FakeOpenIdProvider.StartAsync();
        await using var api = await StartAsync(provider);
        (await GetEventsAsync(api, Token(provider, provider.Credentials))).Should().Be(HttpStatusCode.OK);

        var second = Token(provider, provider.AddKey("provider-key-2"));
        var firstRotation = await TimeUntilAsync(api, second, HttpStatusCode.OK, TimeSpan.FromMinutes(1));
        var third = Token(provider, provider.AddKey("provider-key-3"));
        var secondRotation = await TimeUntilAsync(api, third, HttpStatusCode.OK, TimeSpan.FromMinutes(1));

        firstRotation.Should().BeLessThan(MinimumInterval + Slack);
        secondRotation.Should().BeLessThan(MinimumInterval + Slack, "a second rotation right after the first is picked up as quickly");
        secondRotation.Should().BeLessThan(RefreshInterval, "by the unknown key, not by the periodic refresh");
    }

    [Test]
    public async Task Tokens_naming_unknown_keys_make_it_read_the_key_set_at_most_once_per_minimum_interval()
    {
        await using var provider = await FakeOpenIdProvider.StartAsync();
        await using var api = await StartAsync(provider);
        (await GetEventsAsync(api, Token(provider, provider.Credentials))).Should().Be(HttpStatusCode.OK);
        using var stranger = System.Security.Cryptography.RSA.Create(2048);
        var readsBefore = provider.KeySetReads;

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 40; i++)
        {
            var forged = TestTokens.Mint([Scopes.AllocationRead], provider.Issuer, TestTokens.Audience, null,
                new SigningCredentials(new RsaSecurityKey(stranger) { KeyId = $"made-up-{i}" }, SecurityAlgorithms.RsaSha256));
            (await GetEventsAsync(api, forged)).Should().Be(HttpStatusCode.Unauthorized);
        }

        var reads = provider.KeySetReads - readsBefore;
        var allowed = (int)Math.Ceiling(clock.Elapsed / MinimumInterval) + 1;
        reads.Should().BeLessThanOrEqualTo(allowed, $"40 forged tokens in {clock.Elapsed}");
    }
}
