using Allocation.Api.Operations;
using Allocation.Tests.Support;

namespace Allocation.Tests.Unit.Api;

/// <summary>What <see cref="LogRedaction"/> takes out of a log line, and what it leaves readable.</summary>
public class LogRedactionTests
{
    private static readonly string Token = TestTokens.AllScopes;

    [TestCase("Request starting HTTP/1.1 GET http://h/events?access_token={0} - - -", "?access_token=[redacted]")]
    [TestCase("GET /events?limit=1&ACCESS_TOKEN={0}&after=1", "ACCESS_TOKEN=[redacted]&after=1")]
    [TestCase("GET /events?cursor={0}", "cursor=[redacted]")]
    [TestCase("GET /batches/{0}", "/batches/[redacted]")]
    [TestCase("Authorization: Bearer {0}", "Bearer [redacted]")]
    [TestCase("Cookie: session={0}; theme=dark", "session=[redacted]; theme=dark")]
    [TestCase("Invalid request line: 'GET /events?access_token={0}\\x01 HTTP/1.1'", "access_token=[redacted]")]
    public void A_token_anywhere_in_a_line_is_redacted(string line, string expected)
    {
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, line, Token);

        var redacted = LogRedaction.Redact(text);

        redacted.Should().Contain(expected);
        foreach (var part in Token.Split('.'))
        {
            redacted.Should().NotContain(part);
        }
    }

    [TestCase("Authorization: Basic YWxsb2NhdGlvbjpzZWNyZXQtcGFzc3dvcmQ=", "Basic [redacted]")]
    [TestCase("GET /callback?code=4f1c0a9e77&state=x", "code=[redacted]&state=x")]
    [TestCase("GET /x?api_key=abc123&password=hunter2", "api_key=[redacted]&password=[redacted]")]
    public void Other_credentials_are_redacted(string line, string expected) =>
        LogRedaction.Redact(line).Should().Be(line[..line.IndexOf(expected[..4], StringComparison.Ordinal)] + expected);

    [TestCase("No bearer token configuration, and the service does not run unprotected by accident.")]
    [TestCase("Request finished HTTP/1.1 GET http://h/events?limit=10&after=41-3 - 200 - application/json 1.2ms")]
    [TestCase("503 answering POST /allocate")]
    public void A_line_without_credentials_is_left_as_it_is(string line) =>
        LogRedaction.Redact(line).Should().BeSameAs(line);
}
