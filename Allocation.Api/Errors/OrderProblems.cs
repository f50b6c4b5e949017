using Allocation.Api.Contracts;
using Allocation.Application.Orders;
using Allocation.Domain;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Errors;

/// <summary>
/// The problems of whole orders, and the members they carry beyond the usual ones, so that a client
/// learns every SKU at fault from one answer: <c>skus</c> (out of stock, invalid SKUs) and
/// <c>allocated</c> (what an order holds, for <see cref="ProblemTypes.OrderConflict"/>).
/// </summary>
internal static class OrderProblems
{
    /// <summary>The order was rejected: nothing allocated, every SKU without room named.</summary>
    public static ProblemDetails OutOfStock(OrderAllocationResult result)
    {
        var detail = $"Out of stock for sku{(result.OutOfStockSkus.Count == 1 ? "" : "s")} {string.Join(", ", result.OutOfStockSkus)}: " +
            $"nothing of order {result.OrderId} was allocated";
        return new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.OutOfStock,
            Title = "Out of stock",
            Detail = detail,
            Extensions = { ["skus"] = result.OutOfStockSkus },
        };
    }

    /// <summary>Adds the members an order's refusal carries to the problem the exception handler built.</summary>
    public static void Extend(ProblemDetails problem, Exception exception)
    {
        switch (exception)
        {
            case InvalidSkus invalid:
                problem.Extensions["skus"] = invalid.Skus;
                break;
            case ConflictingOrder conflict:
                problem.Extensions["allocated"] = conflict.Held
                    .Select(h => new AllocatedLineResponse(h.Line.Sku, h.Line.Quantity, h.BatchReference))
                    .ToList();
                break;
        }
    }
}
