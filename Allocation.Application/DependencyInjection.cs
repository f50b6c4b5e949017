using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Application.Common;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Application;

public static class DependencyInjection
{
    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        // Validated as the host starts; the host adds its own rules (the budgets within its request deadline).
        services.AddOptions<ConflictRetryOptions>().BindConfiguration(ConflictRetryOptions.SectionName).ValidateOnStart();
        services.AddSingleton<AllocationMetrics>();
        services.AddSingleton<SkuWriteGate>();
        services.AddSingleton<ConflictRetry>();
        services.AddScoped<Idempotency.IdempotentRequest>();
        services.AddScoped<ProductWrites>();
        services.AddScoped<BatchService>();
        services.AddScoped<AllocationService>();
        services.AddScoped<Orders.OrderAllocationService>();
        services.AddScoped<Events.EventFeedService>();
        return services;
    }
}
