using System.Text.Json.Serialization;
using Allocation.Api.Errors;
using Allocation.Api.Hosting;
using Allocation.Application;
using Allocation.Infrastructure;
using FluentValidation;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Formatters;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

// Its own folder, not the working directory: started from anywhere, it finds its appsettings*.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// From here on, a refusal to start (any exception out of this file) is one log line and exit code 1.
StartupRefusal.Install(builder);
var configuration = builder.Configuration;

var connectionString = configuration.GetConnectionString("Allocation")
    ?? throw new InvalidOperationException(
        "No database configured: set ConnectionStrings:Allocation (environment: ConnectionStrings__Allocation), " +
        "or start the service with scripts/run, which provisions a local PostgreSQL.");

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = configuration.GetValue("Limits:MaxRequestBodyBytes", 16 * 1024);
});
builder.AddAllocationTransport();
builder.Services.AddInMemoryDataProtection();
builder.Services.Configure<HostOptions>(host =>
{
    host.ShutdownTimeout = configuration.GetValue("Limits:ShutdownGracePeriod", TimeSpan.FromSeconds(30));
    // A backstop only: each background service retries every failure itself (HostedServiceFaultTests).
    // Should one still end with an exception, the host logs it and goes on taking writes (they need
    // none of them) instead of exiting, which is what the default, StopHost, would do.
    host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore;
});

builder.Services
    .AddApplication()
    .AddInfrastructure(connectionString);
builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName);
builder.Services.AddHostedService<DatabaseStartup>();
// After the migrations' hosted service, so that the relay and retention start on a migrated database.
builder.Services.AddEventRelay(configuration);
builder.Services.AddCommandConsumer(configuration);

builder.Services
    .AddControllers(mvc =>
    {
        mvc.Filters.Add<FluentValidationFilter>();
        mvc.Filters.Add<Allocation.Api.Idempotency.IdempotencyKeyFilter>();
        mvc.Conventions.Add(new CommonResponses());
    })
    .AddJsonOptions(json =>
    {
        // Strict, unlike the Web defaults: "qty": "3" is a wrong type, not a number; "QTY" is not
        // "qty"; and a property given twice is refused rather than letting the last one win.
        json.JsonSerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        json.JsonSerializerOptions.PropertyNameCaseInsensitive = false;
        json.JsonSerializerOptions.AllowDuplicateProperties = false;
    })
    .ConfigureApiBehaviorOptions(api => api.InvalidModelStateResponseFactory = ModelStateProblems.Create);
builder.Services.AddOptions<MvcOptions>().Configure<IOptions<JsonOptions>, ILoggerFactory>((mvc, json, logs) =>
{
    var index = mvc.InputFormatters.IndexOf(mvc.InputFormatters.OfType<SystemTextJsonInputFormatter>().Single());
    mvc.InputFormatters[index] = new StrictJsonInputFormatter(json.Value, logs.CreateLogger<SystemTextJsonInputFormatter>());
});
// Validators are stateless; building one compiles its rules, far too costly to repeat per request.
builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton, includeInternalTypes: true);

// Before AddProblemDetails, so that it comes ahead of the framework's writer, which declines non-JSON Accept headers.
builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = ProblemShape.Customize);
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();

var requestTimeout = configuration.GetValue("Limits:RequestTimeout", TimeSpan.FromSeconds(10));
// Contention must end as a retryable 409, and a failover wait as a 503, before the deadline turns either into a 504.
var writeRetry = configuration.GetSection(Allocation.Application.Common.ConflictRetryOptions.SectionName)
    .Get<Allocation.Application.Common.ConflictRetryOptions>() ?? new Allocation.Application.Common.ConflictRetryOptions();
if (writeRetry.Budget >= requestTimeout || writeRetry.FailoverWait >= requestTimeout)
{
    throw new InvalidOperationException(
        $"ConflictRetry:Budget ({writeRetry.Budget}) and ConflictRetry:FailoverWait ({writeRetry.FailoverWait}) must be shorter " +
        $"than Limits:RequestTimeout ({requestTimeout}), so that a contended write gives up with 409, and a write that waited " +
        "for a writable primary with 503, before the request deadline answers 504.");
}

builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
{
    Timeout = requestTimeout,
    TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
    WriteTimeoutResponse = async context =>
    {
        await ProblemShape.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status504GatewayTimeout,
            Type = ProblemTypes.Timeout,
            Title = "Request timed out",
            Detail = $"The request did not finish within {requestTimeout.TotalSeconds:0.###} s and was cancelled. " +
                "A write may or may not have been applied: allocate is safe to repeat; read the batch or the order to check others.",
        });
    },
});

builder.Services.AddAllocationAuthentication(configuration);
builder.Services.AddAllocationRateLimiting(configuration);

builder.Services.AddHealthChecks().AddDatabaseCheck(timeout: TimeSpan.FromSeconds(3));
builder.AddObservability();

var swaggerEnabled = configuration.GetValue("Swagger:Enabled", true);
if (swaggerEnabled)
{
    builder.Services.AddAllocationSwagger();
}

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestTimeouts();

if (swaggerEnabled)
{
    // Only on its own paths: on every other request its two middlewares cost a few µs of path matching (docs/performance.md).
    app.UseWhen(
        context => context.Request.Path.StartsWithSegments("/swagger", StringComparison.OrdinalIgnoreCase),
        swagger =>
        {
            swagger.UseSwagger();
            swagger.UseSwaggerUI(ui => ui.DocumentTitle = "Allocation API");
        });
}

app.UseAllocationAuthentication();
// Between the two: a caller is known by its token, and a flood without a valid one is limited
// (by address) before authorisation refuses it.
app.UseRateLimiter();
app.UseAuthorization();

app.MapHealthEndpoints();
app.MapObservability();
app.MapControllers().RequireRateLimiting(RateLimiting.PolicyName);

app.Lifetime.ApplicationStarted.Register(() =>
{
    StartupBanner.Log(app.Logger, app.Urls, swaggerEnabled);
    TransportSetup.LogMode(app.Logger, configuration);
});

await app.RunAsync();

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
