using System.Net.Mime;
using Allocation.Api.Contracts;
using Allocation.Api.Security;
using Allocation.Application.Batches;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Controllers;

/// <summary>Stock: the batches order lines are allocated from.</summary>
[ApiController]
public sealed class BatchesController(BatchService batches) : ControllerBase
{
    /// <summary>Adds a batch of stock.</summary>
    /// <remarks>The first batch of a SKU creates the SKU. Order lines go to warehouse stock (no ETA) first, then to the earliest shipment.</remarks>
    /// <response code="201">The batch was added; Location points at it.</response>
    /// <response code="400">A field is missing or invalid, or the body is not JSON.</response>
    /// <response code="409">A batch with this reference already exists, or the SKU was too contended (retry after Retry-After).</response>
    [Authorize(Policy = Scopes.StockWrite)]
    [HttpPost("add_batch")]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType<BatchResponse>(StatusCodes.Status201Created, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, MediaTypeNames.Application.ProblemJson)]
    public async Task<ActionResult<BatchResponse>> AddBatch(AddBatchRequest request, CancellationToken cancellationToken)
    {
        var batch = await batches.AddBatchAsync(
            request.Reference!, request.Sku!, request.Quantity!.Value, request.Eta, cancellationToken);
        return CreatedAtAction(nameof(GetBatch), new { reference = batch.Reference }, BatchResponse.From(batch));
    }

    /// <summary>Changes a batch's purchased quantity, its ETA, or both.</summary>
    /// <remarks>
    /// When the batch now holds less than is allocated, lines come off it newest allocation first until
    /// the rest fits; each is allocated again by the usual rules (warehouse first, then the earliest
    /// ETA, never split) to any batch of the SKU with room, this one included, and a line that fits
    /// nowhere is no longer allocated. All in one transaction. A new ETA orders future allocations
    /// only. `{"qty": 0}` cancels a shipment.
    /// </remarks>
    /// <param name="reference">The batch reference.</param>
    /// <param name="request">The fields to change; those left out keep their values.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="200">Changed (or already so): the batch, and what happened to its lines.</response>
    /// <response code="400">No field given, a field is invalid, or the body is not JSON.</response>
    /// <response code="404">No batch has this reference.</response>
    [Authorize(Policy = Scopes.StockWrite)]
    [HttpPatch("batches/{reference}")]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType<BatchChangeResponse>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, MediaTypeNames.Application.ProblemJson)]
    public async Task<BatchChangeResponse> ChangeBatch(
        string reference, ChangeBatchRequest request, CancellationToken cancellationToken) =>
        BatchChangeResponse.From(await batches.ChangeBatchAsync(
            reference, request.QuantityGiven ? request.Quantity : null, request.EtaChange, cancellationToken));

    /// <summary>Reads a batch: its quantity, ETA, and how much of it is allocated.</summary>
    /// <param name="reference">The batch reference.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="200">The batch.</response>
    /// <response code="404">No batch has this reference.</response>
    [Authorize(Policy = Scopes.AllocationRead)]
    [HttpGet("batches/{reference}")]
    [HttpHead("batches/{reference}")]
    [ProducesResponseType<BatchResponse>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, MediaTypeNames.Application.ProblemJson)]
    public async Task<ActionResult<BatchResponse>> GetBatch(string reference, CancellationToken cancellationToken) =>
        BatchResponse.From(await batches.GetBatchAsync(reference, cancellationToken));
}
