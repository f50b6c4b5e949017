using System.Text.Json.Serialization;
using Allocation.Api.Errors;
using Allocation.Api.OpenApi;
using Allocation.Api.Operations;
using Allocation.Api.Security;
using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure;
using FluentValidation;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Formatters;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

// Its own folder, not the working directory: started from anywhere, it finds its appsettings*.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// From here on, a refusal to start (any exception out of this file) is one log line and exit code 1.
StartupRefusal.Install(builder);
var configuration = builder.Configuration;

// Process-wide settings, before anything opens a connection.
ProcessSwitches.StoreDateExtremesAsDates();
ProcessSwitches.ReserveThreadsForBlockingCancels(Allocation.Infrastructure.DependencyInjection.DatabaseConnection(configuration));

builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<LimitsOptions>, LimitsOptions.Validator>();
builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, limits) =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes;
});
builder.AddAllocationTransport();
builder.Services.AddInMemoryDataProtection();
builder.Services.AddOptions<HostOptions>().Configure<IOptions<LimitsOptions>>((host, limits) =>
{
    host.ShutdownTimeout = limits.Value.ShutdownGracePeriod;
    // A backstop only: each background service retries every failure itself (HostedServiceFaultTests).
    // Should one still end with an exception, the host logs it and goes on taking writes (they need
    // none of them) instead of exiting, which is what the default, StopHost, would do.
    host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore;
});

builder.Services
    .AddApplication()
    .AddInfrastructure(configuration);
builder.Services.AddSingleton<IValidateOptions<ConflictRetryOptions>, ConflictRetryWithinRequestTimeout>();

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

builder.Services.AddRequestTimeouts();
builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<LimitsOptions>>((timeouts, limits) =>
{
    var requestTimeout = limits.Value.RequestTimeout;
    timeouts.DefaultPolicy = new RequestTimeoutPolicy
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
    };
});

builder.Services.AddAllocationAuthentication(configuration);
builder.Services.AddAllocationRateLimiting(configuration);

builder.Services.AddHealthChecks().AddDatabaseCheck(timeout: TimeSpan.FromSeconds(3));
builder.AddObservability();

var swaggerEnabled = SwaggerSetup.Enabled(configuration);
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
