using System.Text.Json;
using Allocation.Api.Errors;
using Allocation.Application;
using Allocation.Domain;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Allocation.Tests.Unit.Api;

public class ProblemExceptionHandlerTests
{
    private static async Task<(HttpContext Context, JsonElement Body)> HandleAsync(Exception exception)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddProblemDetails(o => o.CustomizeProblemDetails = ProblemShape.Customize)
            .BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/allocate";
        context.Request.Headers.Accept = "application/json";
        context.Response.Body = new MemoryStream();
        var handler = new ProblemExceptionHandler(
            services.GetRequiredService<Microsoft.AspNetCore.Http.IProblemDetailsService>(), NullLogger<ProblemExceptionHandler>.Instance);

        (await handler.TryHandleAsync(context, exception, CancellationToken.None)).Should().BeTrue();

        context.Response.Body.Position = 0;
        return (context, JsonDocument.Parse(context.Response.Body).RootElement.Clone());
    }

    [TestCase(typeof(InvalidOperationException), 500, ProblemTypes.Internal)]
    [TestCase(typeof(NullReferenceException), 500, ProblemTypes.Internal)]
    public async Task Unexpected_exceptions_are_500_without_internals(Type exceptionType, int status, string type)
    {
        var exception = (Exception)Activator.CreateInstance(exceptionType, "secret connection string Password=hunter2")!;

        var (context, body) = await HandleAsync(exception);

        context.Response.StatusCode.Should().Be(status);
        body.GetProperty("type").GetString().Should().Be(type);
        body.GetRawText().Should().NotContain("hunter2").And.NotContain(exceptionType.Name);
        body.GetProperty("traceId").GetString().Should().NotBeNullOrEmpty();
    }

    [Test]
    public async Task An_unavailable_database_is_503_with_retry_after_and_no_detail_of_the_failure()
    {
        var (context, body) = await HandleAsync(new StoreUnavailable("down", new InvalidOperationException("Host=db;Password=hunter2")));

        context.Response.StatusCode.Should().Be(503);
        context.Response.Headers.RetryAfter.ToString().Should().Be("5");
        body.GetProperty("type").GetString().Should().Be(ProblemTypes.ServiceUnavailable);
        body.GetRawText().Should().NotContain("hunter2");
    }

    [Test]
    public async Task A_conflict_that_outlived_its_retries_is_409_with_retry_after()
    {
        var (context, body) = await HandleAsync(new ConcurrencyConflict("gave up"));

        context.Response.StatusCode.Should().Be(409);
        context.Response.Headers.RetryAfter.ToString().Should().Be("1");
        body.GetProperty("type").GetString().Should().Be(ProblemTypes.ConcurrencyConflict);
    }

    [Test]
    public async Task Business_errors_keep_the_books_message()
    {
        var (context, body) = await HandleAsync(new OutOfStock("LAMP"));

        context.Response.StatusCode.Should().Be(400);
        body.GetProperty("message").GetString().Should().Be("Out of stock for sku LAMP");
        body.GetProperty("detail").GetString().Should().Be("Out of stock for sku LAMP");
    }
}
