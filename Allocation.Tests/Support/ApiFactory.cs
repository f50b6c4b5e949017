using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Allocation.Tests.Support;

/// <summary>
/// The real API on Kestrel, on a free loopback port, over a test database. It trusts the suite's
/// token issuer (<see cref="TestTokens"/>) and its clients send a token with every scope, unless
/// <c>bearer</c> is false: then it has no bearer configuration at all and its clients send no token.
/// </summary>
public sealed class ApiFactory(string connectionString, IReadOnlyDictionary<string, string?>? settings = null, bool bearer = true)
    : WebApplicationFactory<Program>
{
    public static ApiFactory Start(string connectionString, IReadOnlyDictionary<string, string?>? settings = null, bool bearer = true)
    {
        var factory = new ApiFactory(connectionString, settings, bearer);
        factory.UseKestrel(0);
        factory.StartServer();
        return factory;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Production");
        builder.UseSetting("ConnectionStrings:Allocation", connectionString);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in bearer ? TestTokens.Settings() : new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void ConfigureClient(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        base.ConfigureClient(client);
        if (bearer)
        {
            client.DefaultRequestHeaders.Authorization = TestTokens.Header(TestTokens.AllScopes);
        }
    }
}
