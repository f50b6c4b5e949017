using System.Collections.Concurrent;
using FluentValidation;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Allocation.Api.Errors;

/// <summary>Validates every action argument that has a validator, before the action runs.</summary>
internal sealed class FluentValidationFilter(IServiceProvider services) : IAsyncActionFilter
{
    private static readonly ConcurrentDictionary<Type, Type> ValidatorTypes = new();

    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        foreach (var argument in context.ActionArguments.Values)
        {
            if (argument is null
                || services.GetService(ValidatorTypes.GetOrAdd(argument.GetType(), t => typeof(IValidator<>).MakeGenericType(t))) is not IValidator validator)
            {
                continue;
            }

            var result = await validator.ValidateAsync(
                new ValidationContext<object>(argument), context.HttpContext.RequestAborted);
            if (!result.IsValid)
            {
                context.Result = ModelStateProblems.Validation(
                    context.HttpContext,
                    result.Errors
                        .GroupBy(e => e.PropertyName, StringComparer.Ordinal)
                        .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray(), StringComparer.Ordinal));
                return;
            }
        }

        await next();
    }
}
