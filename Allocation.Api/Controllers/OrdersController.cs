using System.Net.Mime;
using Allocation.Api.Contracts;
using Allocation.Api.Errors;
using Allocation.Api.Hosting;
using Allocation.Application.Orders;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Controllers;

/// <summary>Whole orders: every line allocated, or none.</summary>
[ApiController]
public sealed class OrdersController(OrderAllocationService orders) : ControllerBase
{
    /// <summary>Allocates every line of an order, or none of them.</summary>
    /// <remarks>
    /// Each line goes to warehouse stock first, then to the shipment arriving soonest, never split. When
    /// any line finds no batch with room, nothing of the order is allocated (nothing is held back from
    /// other customers) and the answer names every such SKU. One transaction over all of the order's
    /// products. Repeating the same order with the same lines (in any order) returns the same answer and
    /// changes nothing; lines the order already holds through `POST /allocate` count as part of it.
    /// </remarks>
    /// <param name="path">The order.</param>
    /// <param name="request">The order's lines.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="201">Every line is allocated: each with its batch, in SKU order.</response>
    /// <response code="400">Out of stock (`skus` names every SKU without room; nothing was allocated), invalid SKUs (`skus` names every unknown one), or a field is missing or invalid.</response>
    /// <response code="409">The order already holds other lines (`allocated` lists them; type `order-conflict`), or a SKU was too contended (retry after Retry-After).</response>
    [Authorize(Policy = Scopes.AllocationWrite)]
    [HttpPost("orders/{orderid}/allocation")]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType<WholeOrderResponse>(StatusCodes.Status201Created, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, MediaTypeNames.Application.ProblemJson)]
    public async Task<ActionResult<WholeOrderResponse>> Allocate(
        [FromRoute] OrderPath path, AllocateOrderRequest request, CancellationToken cancellationToken)
    {
        var result = await orders.AllocateOrderAsync(
            path.OrderId!, [.. request.Lines!.Select(l => new RequestedLine(l!.Sku!, l.Quantity!.Value))], cancellationToken);
        if (!result.IsAllocated)
        {
            return ProblemShape.Result(HttpContext, OrderProblems.OutOfStock(result));
        }

        return CreatedAtAction(
            nameof(AllocationsController.GetAllocations),
            "Allocations",
            new { orderId = result.OrderId },
            WholeOrderResponse.From(result.OrderId, result.Lines));
    }

    /// <summary>Gives back every line of an order, however each was allocated.</summary>
    /// <param name="orderId">The order id.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="200">Every line given back, each with the batch that held it, in SKU order.</response>
    /// <response code="404">The order holds nothing.</response>
    [Authorize(Policy = Scopes.AllocationWrite)]
    [HttpDelete("orders/{orderid}/allocation")]
    [ProducesResponseType<WholeOrderResponse>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, MediaTypeNames.Application.ProblemJson)]
    public async Task<WholeOrderResponse> Deallocate([FromRoute(Name = "orderid")] string orderId, CancellationToken cancellationToken)
    {
        var released = await orders.DeallocateOrderAsync(orderId, cancellationToken);
        return WholeOrderResponse.From(released.OrderId, released.Lines);
    }
}
