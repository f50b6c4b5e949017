using System.Net.Mime;
using Allocation.Api.Contracts;
using Allocation.Api.Security;
using Allocation.Application.Allocations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Controllers;

/// <summary>Order lines and the batches they are allocated to.</summary>
[ApiController]
public sealed class AllocationsController(AllocationService allocations) : ControllerBase
{
    /// <summary>Allocates an order line to a batch of its SKU.</summary>
    /// <remarks>
    /// Warehouse stock first, then the shipment arriving soonest; a line is never split.
    /// Repeating the same request returns the same batch and allocates nothing more.
    /// </remarks>
    /// <response code="201">Allocated: the batch that holds the line.</response>
    /// <response code="400">Invalid sku, out of stock, or a field is missing or invalid.</response>
    /// <response code="409">The order already holds this SKU with another quantity, or the SKU was too contended (retry after Retry-After).</response>
    [Authorize(Policy = Scopes.AllocationWrite)]
    [HttpPost("allocate")]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType<BatchReferenceResponse>(StatusCodes.Status201Created, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, MediaTypeNames.Application.ProblemJson)]
    public async Task<ActionResult<BatchReferenceResponse>> Allocate(AllocateRequest request, CancellationToken cancellationToken)
    {
        var batchReference = await allocations.AllocateAsync(
            request.OrderId!, request.Sku!, request.Quantity!.Value, cancellationToken);
        return CreatedAtAction(
            nameof(GetAllocations), new { orderId = request.OrderId }, new BatchReferenceResponse(batchReference));
    }

    /// <summary>Gives back an order's line for one SKU.</summary>
    /// <response code="200">Deallocated: the batch that held the line.</response>
    /// <response code="400">A field is missing or invalid, or the body is not JSON.</response>
    /// <response code="404">The order has no allocation for this SKU.</response>
    [Authorize(Policy = Scopes.AllocationWrite)]
    [HttpPost("deallocate")]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType<BatchReferenceResponse>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, MediaTypeNames.Application.ProblemJson)]
    public async Task<BatchReferenceResponse> Deallocate(DeallocateRequest request, CancellationToken cancellationToken) =>
        new(await allocations.DeallocateAsync(request.OrderId!, request.Sku!, cancellationToken));

    /// <summary>Lists an order's allocations, one per SKU.</summary>
    /// <param name="orderId">The order id.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="200">The order's SKUs and their batches.</response>
    /// <response code="404">The order has no allocation.</response>
    [Authorize(Policy = Scopes.AllocationRead)]
    [HttpGet("allocations/{orderId}")]
    [HttpHead("allocations/{orderId}")]
    [ProducesResponseType<IReadOnlyList<OrderAllocationResponse>>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, MediaTypeNames.Application.ProblemJson)]
    public async Task<IReadOnlyList<OrderAllocationResponse>> GetAllocations(string orderId, CancellationToken cancellationToken) =>
        (await allocations.GetAllocationsAsync(orderId, cancellationToken)).Select(OrderAllocationResponse.From).ToList();
}
