using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Application.Common;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Application;

public static class DependencyInjection
{
    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        services.AddOptions<ConflictRetryOptions>().BindConfiguration(ConflictRetryOptions.SectionName);
        services.AddSingleton<AllocationMetrics>();
        services.AddSingleton<SkuWriteGate>();
        services.AddSingleton<ConflictRetry>();
        services.AddScoped<Idempotency.IdempotentRequest>();
        services.AddScoped<Idempotency.ProductWrites>();
        services.AddScoped<BatchService>();
        services.AddScoped<AllocationService>();
        services.AddScoped<Orders.OrderAllocationService>();
        services.AddScoped<Events.EventFeedService>();
        return services;
    }
}
